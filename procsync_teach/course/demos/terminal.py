"""How the demos write to a terminal: colours, lines that fit its width, and a progress bar.

A :class:`Terminal` takes every line of a demo through :meth:`Terminal.say`. Colours are the
workers' colours of :mod:`procsync_teach.course.colours` (the notebooks' plots), as 256-colour
or 24-bit escape codes; there are none when the output is not a terminal, when ``NO_COLOR``
is set (no-color.org), or in a Windows console that cannot be switched to read escape codes.
A progress bar, redrawn on stderr by a thread, never mixes with the demo's lines; ``--step``
waits for Enter before each section.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from ...clock import now
from ..colours import colour_of

#: A wait shows a progress bar once it has lasted this long; shorter ones would only flicker.
PROGRESS_AFTER = 0.3


# The characters the demos draw with: a timeline's spans and axis, a screen's edge, the
# progress bar. Terminals that cannot show the block characters (an ASCII locale) get the
# second set.
GLYPHS = {"task": "█", "failed": "×", "waiting": "░", "working": "▓", "gave up": "!",
          "axis": "─", "tick": "┬", "edge": "│", "bar": "█", "bar-empty": "·"}
ASCII_GLYPHS = {"task": "#", "failed": "x", "waiting": "-", "working": "+", "gave up": "!",
                "axis": "-", "tick": "+", "edge": "|", "bar": "#", "bar-empty": "."}


class Terminal:
    """Where the demos write: stdout for what they show, stderr for a progress bar.

    Every line goes through :meth:`say`, which first wipes the progress bar if one is
    drawn, so the bar (redrawn by a thread) and the demo's lines never mix.
    """

    def __init__(self, out: TextIO, err: TextIO, colour: bool, truecolor: bool,
                 progress: bool, blocks: bool, columns: int, step_input: TextIO | None = None):
        self._out, self._err = out, err
        self._step_input = step_input  # where Enter is read in --step mode; None: no waiting
        self._sections = 0
        self._colour, self._truecolor = colour, truecolor
        self._progress = progress
        self._glyphs = GLYPHS if blocks else ASCII_GLYPHS
        self.columns = columns
        self._screen = threading.Lock()  # one writer at a time: the demo or the bar
        self._bar_drawn = False

    @classmethod
    def for_streams(cls, colour: bool | None = None, out: TextIO | None = None,
                    err: TextIO | None = None, step_input: TextIO | None = None) -> Terminal:
        """A Terminal on stdout and stderr; colour and the bar only where a person looks."""
        out, err = out or sys.stdout, err or sys.stderr
        if colour is None:
            colour = wants_colour(out)
        return cls(out, err, colour,
                   truecolor=os.environ.get("COLORTERM", "") in ("truecolor", "24bit"),
                   progress=wants_colour(err, no_color_too=False),
                   blocks=can_encode(out, "".join(GLYPHS.values())),
                   columns=shutil.get_terminal_size((80, 24)).columns, step_input=step_input)

    def say(self, text: str = "") -> None:
        """Print a line of the demo, cut at spaces into rows that fit the terminal's width."""
        with self._screen:
            self._wipe_bar()
            for line in text.split("\n"):
                for row in fit(line, self.columns):
                    self._out.write(row + "\n")
            self._out.flush()

    def section(self, title: str) -> None:
        """Start a section of the demo; in --step mode, first wait until Enter is pressed."""
        if self._step_input is not None and self._sections:
            self.say(f"  {self.glyph('edge')} press Enter for: {title}")
            # At the end of the input nobody can press Enter any more: go on.
            self._step_input.readline()
        self._sections += 1
        self.say()
        self.say(self.bold(title))

    def error(self, text: str) -> None:
        """Say on stderr why the demo cannot go on."""
        with self._screen:
            self._wipe_bar()
            self._err.write(f"procsync_teach: {text}\n")

    def glyph(self, kind: str) -> str:
        """The character drawn for ``kind`` (a key of GLYPHS): a block, or its ASCII stand-in."""
        return self._glyphs[kind]

    def paint(self, text: str, index: int) -> str:
        """``text`` in the colour of worker (or process) ``index``; spaces stay unpainted."""
        if not self._colour or not text.strip():
            return text
        return ansi_colour(colour_of(index), self._truecolor) + text + RESET

    def bold(self, text: str) -> str:
        """``text`` in bold, for headings, when colours are on."""
        return f"\x1b[1m{text}{RESET}" if self._colour else text

    @contextmanager
    def progress(self, label: str, expected: float) -> Iterator[None]:
        """Show a progress bar on stderr while the block runs, if it runs long enough.

        Args:
            label: what is being waited for.
            expected: how long it should take, in seconds: the bar's full length.
        """
        if not self._progress:
            yield
            return
        done = threading.Event()
        thread = threading.Thread(target=self._animate, args=(label, now(), expected, done),
                                  name="progress-bar", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=1)
            with self._screen:
                self._wipe_bar()

    def _animate(self, label: str, started: float, expected: float,
                 done: threading.Event) -> None:
        while not done.wait(0.1):
            elapsed = now() - started
            if elapsed < PROGRESS_AFTER:
                continue
            width = 24
            filled = int(width * min(elapsed / max(expected, 1e-9), 0.99))
            bar = self.glyph("bar") * filled + self.glyph("bar-empty") * (width - filled)
            with self._screen:
                if not done.is_set():
                    self._err.write(f"\r{label} [{bar}] {elapsed:.1f} s")
                    self._err.flush()
                    self._bar_drawn = True

    def _wipe_bar(self) -> None:
        """Erase the progress bar's line, if drawn; the caller holds ``_screen``."""
        if self._bar_drawn:
            self._err.write("\r\x1b[K")
            self._err.flush()
            self._bar_drawn = False


RESET = "\x1b[0m"


def wants_colour(stream: TextIO, no_color_too: bool = True) -> bool:
    """Colour (or a progress bar: the same escape codes) only for a person at a terminal
    that shows them, unless NO_COLOR (no-color.org) says no to colour."""
    if (no_color_too and os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty() and (sys.platform != "win32" or windows_console_takes_ansi(stream))


def windows_console_takes_ansi(stream: TextIO) -> bool:
    """Ask a Windows console to read escape codes ("virtual terminal" mode, Windows 10 and
    later); False where it cannot, and the demo then draws without colour."""
    enable_virtual_terminal_processing = 0x0004
    try:
        import ctypes
        import msvcrt

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = msvcrt.get_osfhandle(stream.fileno())  # type: ignore[attr-defined]
        mode = ctypes.c_uint32()
        return bool(kernel32.GetConsoleMode(handle, ctypes.byref(mode))
                    and kernel32.SetConsoleMode(handle, mode.value
                                                | enable_virtual_terminal_processing))
    except (ImportError, AttributeError, OSError, ValueError):
        return False


_ESCAPE_CODE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def visible_width(text: str) -> int:
    """How many columns ``text`` takes on screen: its escape codes take none."""
    return len(_ESCAPE_CODE.sub("", text))


def fit(line: str, columns: int, hanging: str = "    ") -> list[str]:
    """``line`` as rows of at most ``columns`` columns, cut at spaces (never inside a word),
    the rows after the first indented as the first, plus ``hanging``."""
    if visible_width(line) <= columns:
        return [line]
    body = line.lstrip(" ")
    row = " " * (len(line) - len(body))
    more = row + hanging
    rows = []
    for word in body.split(" "):
        if row.strip() and visible_width(f"{row} {word}") > columns:
            rows.append(row)
            row = more + word
        else:
            row = f"{row} {word}" if row.strip() else row + word
    return [*rows, row]


def can_encode(stream: TextIO, text: str) -> bool:
    """Whether ``stream`` can show ``text`` (an ASCII locale cannot show block characters)."""
    try:
        text.encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def ansi_colour(hex_colour: str, truecolor: bool = False) -> str:
    """The escape sequence that turns text ``hex_colour`` ("#0072b2"): exact in a terminal
    with 24-bit colour, else the nearest of the 256 colours every modern terminal has."""
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    if truecolor:
        return f"\x1b[38;2;{red};{green};{blue}m"
    return f"\x1b[38;5;{nearest_256(red, green, blue)}m"


# The 256-colour palette: 16 system colours (which vary by terminal, so never chosen),
# a 6x6x6 cube of these levels, then 24 greys from 8 to 238.
_CUBE_LEVELS = (0, 95, 135, 175, 215, 255)


def nearest_256(red: int, green: int, blue: int) -> int:
    """The index of the 256-colour palette entry nearest to an RGB colour."""

    def nearest_level(value: int) -> int:
        return min(range(6), key=lambda i: abs(_CUBE_LEVELS[i] - value))

    r, g, b = (nearest_level(value) for value in (red, green, blue))
    cube = (_CUBE_LEVELS[r], _CUBE_LEVELS[g], _CUBE_LEVELS[b])
    grey_step = min(23, max(0, round(((red + green + blue) / 3 - 8) / 10)))
    grey = (8 + 10 * grey_step,) * 3

    def distance(colour: tuple[int, ...]) -> int:
        return sum((a - b) ** 2 for a, b in zip(colour, (red, green, blue), strict=True))

    if distance(grey) < distance(cube):
        return 232 + grey_step
    return 16 + 36 * r + 6 * g + b
