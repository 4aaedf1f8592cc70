"""Catch what child processes print, and who printed what, in the order it happened.

Where does a child process's ``print`` go? In a terminal, to the same screen as the
parent's. In Jupyter it depends on the start method: a forked child's output reaches
the cell, a spawned child's may land in the server's log instead. A course cannot
show garbled output if it cannot show the output at all.

So :func:`capture_output` gives the children a place to write: a file that every
process appends to. Each child started by :func:`procsync_teach.Process` while a
capture is open replaces its ``sys.stdout`` and ``sys.stderr`` by a writer that
appends one record per ``write()`` call: who wrote, when, and what. ``print("a", "b")``
makes several ``write()`` calls ("a", " ", "b", "\\n"), so when two processes print
at once their pieces really do interleave in the file, exactly as they would on a
screen, but now each piece still knows its writer and can be coloured.

Each record is one line of JSON appended with a single ``write()``; the operating
system keeps appends to one file whole, so records never cut into each other.
"""

from __future__ import annotations

import html
import json
import multiprocessing
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from .clock import now
from .course.colours import colour_of


class Written(NamedTuple):
    """One ``write()`` by one process."""

    who: str  # e.g. "Process-3": the process's name
    time: float  # when, on the shared clock
    text: str  # e.g. "is running"


class _RecordWriter:
    """A stand-in for ``sys.stdout`` that appends one record per ``write()``."""

    def __init__(self, path: str):
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._who = multiprocessing.current_process().name

    def write(self, text: str) -> int:
        if text:
            record = json.dumps({"who": self._who, "time": now(), "text": text})
            os.write(self._fd, (record + "\n").encode())
        return len(text)

    def flush(self) -> None:
        """Nothing to flush: every write went straight to the file."""

    def isatty(self) -> bool:
        return False


def write_to(path: str) -> None:
    """In a child process: send this process's ``sys.stdout`` and ``sys.stderr`` to ``path``."""
    import sys

    sys.stdout = sys.stderr = _RecordWriter(path)


class Capture:
    """What the children wrote while a :func:`capture_output` block was open."""

    def __init__(self, path: str):
        self._path = path
        self._kept: list[Written] | None = None  # the records, once the block has closed

    def __repr__(self) -> str:
        return f"<procsync_teach.Capture of {len(self.records())} writes>"

    def records(self) -> list[Written]:
        """Every write, in the order the processes made them."""
        if self._kept is not None:
            return list(self._kept)
        with open(self._path, encoding="utf-8") as file:
            lines = file.read().splitlines()
        return [Written(**json.loads(line)) for line in lines if line]

    @property
    def text(self) -> str:
        """All that was written, run together as a shared screen would show it."""
        return "".join(record.text for record in self.records())

    def lines(self) -> list[str]:
        """The text cut into lines, as a reader of the screen would see them."""
        return self.text.splitlines()

    def writers(self) -> list[str]:
        """The names of the processes that wrote, in the order they first wrote."""
        return list(dict.fromkeys(record.who for record in self.records()))

    def _repr_html_(self) -> str:
        """Jupyter shows a capture as the shared screen, each writer in its own colour."""
        order = {who: index for index, who in enumerate(sorted(self.writers(), key=natural_order))}
        spans = [
            f'<span style="color:{colour_of(order[r.who])}" title="{html.escape(r.who)}">'
            f"{html.escape(r.text)}</span>"
            for r in self.records()
        ]
        return '<pre style="line-height:1.3">' + "".join(spans) + "</pre>"

    def _close(self) -> None:
        """Keep the records in memory and remove the file: the block is over."""
        self._kept = self.records()
        os.remove(self._path)


def natural_order(name: str) -> tuple[str, int]:
    """("P", 10) for "P10": a key that sorts "P10" after "P9", as a person would."""
    stem = name.rstrip("0123456789")
    return stem, int(name[len(stem):] or 0)


_active: list[str] = []  # paths of the open captures, innermost last


def active_path() -> str | None:
    """The file of the innermost open capture, or None."""
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
    fd, path = tempfile.mkstemp(prefix="procsync-output-", suffix=".jsonl")
    os.close(fd)
    _active.append(path)
    capture = Capture(path)
    try:
        yield capture
    finally:
        _active.remove(path)
        capture._close()
