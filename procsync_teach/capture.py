"""Catch what child processes print, and who printed what, in the order it happened.

Where does a child process's ``print`` go? In a terminal, to the same screen as the
parent's. In Jupyter it depends on the start method: a forked child's output reaches
the cell, a spawned child's may land in the server's log instead. A course cannot
show garbled output if it cannot show the output at all.

So :func:`capture_output` gives the children a place to write: a folder in which
every process appends to a file of its own. Each child started by
:func:`procsync_teach.Process` while a capture is open replaces its ``sys.stdout`` and
``sys.stderr`` by a writer that appends one record per ``write()`` call: who wrote,
when, and what. ``print("a", "b")`` makes several ``write()`` calls ("a", " ", "b",
"\\n"), so when two processes print at once their pieces really do interleave in
time, exactly as they would on a screen; reading merges the files in the order of the
writes, and each piece still knows its writer and can be coloured.

Why a file for each process, not one that all append to? On Linux and macOS an append
to a shared file lands whole, but on Windows it is two steps, "seek to the end, then
write", and another process can write between them: records would be lost, and the
lesson "nothing was lost" with them.
"""

from __future__ import annotations

import html
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from .clock import now
from .tempfiles import files_in, new_folder, open_own_file, remove


class Written(NamedTuple):
    """One ``write()`` by one process."""

    who: str  # e.g. "Process-3": the process's name
    time: float  # when, on the shared clock
    text: str  # e.g. "is running"


class _RecordWriter:
    """A stand-in for ``sys.stdout`` that appends one record per ``write()`` to this
    process's file in the capture's folder."""

    def __init__(self, folder: str):
        self._fd = open_own_file(folder, ".jsonl")
        self._who = multiprocessing.current_process().name

    def write(self, text: str) -> int:
        if text:
            record = json.dumps({"who": self._who, "time": now(), "text": text})
            os.write(self._fd, (record + "\n").encode("utf-8"))
        return len(text)

    def flush(self) -> None:
        """Nothing to flush: every write went straight to the file."""

    def isatty(self) -> bool:
        return False


def write_to(folder: str) -> None:
    """In a child process: send this process's ``sys.stdout`` and ``sys.stderr`` to its
    own file in a capture's ``folder``."""
    import sys

    sys.stdout = sys.stderr = _RecordWriter(folder)


class Capture:
    """What the children wrote while a :func:`capture_output` block was open."""

    def __init__(self, folder: str):
        self._folder = folder
        self._kept: list[Written] | None = None  # the records, once the block has closed

    def __repr__(self) -> str:
        return f"<procsync_teach.Capture of {len(self.records())} writes>"

    def records(self) -> list[Written]:
        """Every write, in the order the processes made them."""
        if self._kept is not None:
            return list(self._kept)
        records = []
        for path in files_in(self._folder):
            with open(path, encoding="utf-8") as file:
                lines = file.read().splitlines()
            records += [Written(**json.loads(line)) for line in lines if line]
        return sorted(records, key=lambda record: record.time)  # sorting keeps ties in order

    @property
    def text(self) -> str:
        """All that was written, run together as a shared screen would show it."""
        return "".join(record.text for record in self.records())

    def lines(self) -> list[str]:
        """The text cut into lines, as a reader of the screen would see them."""
        return self.text.splitlines()

    def text_of(self, who: str) -> str:
        """What one process wrote, put back together from its own writes alone.

        Its lines are whole here even when the shared screen garbled them.
        """
        return "".join(record.text for record in self.records() if record.who == who)

    def writers(self) -> list[str]:
        """The names of the processes that wrote, in the order they first wrote."""
        return list(dict.fromkeys(record.who for record in self.records()))

    def _repr_html_(self) -> str:
        """Jupyter shows a capture as the shared screen, each writer in its own colour
        (once a palette is set: see :func:`colour_writers_with`)."""
        order = {who: index for index, who in enumerate(sorted(self.writers(), key=natural_order))}
        spans = [
            f'<span style="color:{_writer_colour(order[r.who])}" title="{html.escape(r.who)}">'
            f"{html.escape(r.text)}</span>"
            for r in self.records()
        ]
        return '<pre style="line-height:1.3">' + "".join(spans) + "</pre>"

    def _close(self) -> None:
        """Keep the records in memory and remove the folder: the block is over."""
        self._kept = self.records()
        remove(self._folder)


def _inherited_colour(index: int) -> str:
    """Every writer in the text's own colour: the core has no palette."""
    return "inherit"


_writer_colour: Callable[[int], str] = _inherited_colour


def colour_writers_with(colour_of: Callable[[int], str]) -> None:
    """Draw writer number ``n`` of every capture's HTML view in ``colour_of(n)``.

    Writers are numbered in the order of their names ("P0", "P1", ..., "P10"). The course
    (:mod:`procsync_teach.course`) sets its palette when it is imported, so that a process
    has the same colour on the screen as in the course's plots.
    """
    global _writer_colour
    _writer_colour = colour_of


def natural_order(name: str) -> tuple[str, int]:
    """("P", 10) for "P10": a key that sorts "P10" after "P9", as a person would."""
    stem = name.rstrip("0123456789")
    return stem, int(name[len(stem):] or 0)


_active: list[str] = []  # folders of the open captures, innermost last


def active_folder() -> str | None:
    """The folder of the innermost open capture, or None."""
    return _active[-1] if _active else None


@contextmanager
def capture_output() -> Iterator[Capture]:
    """Catch what children started inside the block print (see the module docstring).

    Example::

        with capture_output() as screen:
            processes = [Process(target=greet, args=(n,)) for n in range(3)]
            ...start and join them...
        screen            # in Jupyter: the output, one colour per process
        screen.lines()    # the same, as a list of strings
    """
    folder = new_folder("output-")
    _active.append(folder)
    capture = Capture(folder)
    try:
        yield capture
    finally:
        _active.remove(folder)
        capture._close()
