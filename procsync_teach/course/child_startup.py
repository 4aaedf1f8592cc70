"""Run in a child process as it starts: output that would be lost goes to a file instead.

This file is not imported by the course. :func:`procsync_teach.course.child_output.
catch_lost_output` copies it as ``sitecustomize.py`` into a folder that it puts first on the
child's ``PYTHONPATH``. Python imports ``sitecustomize`` while it starts, before any of the
child's own code, in every process started with that environment: the child, and the
children it starts in turn.

Why: a process writes its standard output and error to the descriptors 1 and 2 it
inherited. A child started with spawn on Windows inherits none (``multiprocessing`` creates
it without inheriting handles), so what it prints goes to the console of the program that
started Jupyter, or nowhere. When a stream leads nowhere like this (no descriptor, or a
terminal), it is sent to a file of this child's own in the folder this file is in,
``stdout-<pid>.txt`` or ``stderr-<pid>.txt``: the file named by ``PROCSYNC_CHILD_STDOUT`` or
``PROCSYNC_CHILD_STDERR`` is the one it would have gone to. Not that file itself: on Windows
an append is "seek to the end, then write", and a writer coming between the two steps
overwrites another's text. Each ``write()`` is one record, stamped with where that file
stood (its size) and when (the shared clock, ``time.perf_counter_ns()``), so that
:func:`procsync_teach.course.child_output.read_output` can merge every child's text into
it in the order written. A stream that the parent did redirect, to a file or a pipe, is
left alone. On Linux and macOS a child inherits its parent's descriptors, so this changes
nothing there.

Every process that runs this leaves a mark, ``started-<pid>``, in the folder: a parent can
tell whether its child ran it at all (a Python started with ``-I`` or ``-E``, or from an
embeddable distribution with a ``._pth`` file, ignores ``PYTHONPATH``).

It imports nothing from ``procsync_teach``: it runs before the child has imported anything.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import io
import os
import sys
import time

#: Each stream: its name in ``sys``, its descriptor, and the variable naming its file.
STREAMS = (("stdout", 1, "PROCSYNC_CHILD_STDOUT"), ("stderr", 2, "PROCSYNC_CHILD_STDERR"))

#: A record in a child's file: RECORD, "<size of the shared file> <time in ns>", TEXT, the
#: text written. Neither separator (ASCII's record and unit separators) appears in print().
RECORD, TEXT = "\x1e", "\x1f"


def leads_nowhere(descriptor: int) -> bool:
    """Whether what is written to ``descriptor`` is lost: it is not open, or it is a
    terminal (on Windows, the console of whoever started the server)."""
    try:
        os.fstat(descriptor)
    except OSError:
        return True
    return os.isatty(descriptor)


class StampedFile(io.RawIOBase):
    """Below ``sys.stdout`` or ``sys.stderr`` of a child whose output would be lost: each
    write is appended to the child's own file as one record (see :data:`RECORD`)."""

    def __init__(self, descriptor: int, shared: str) -> None:
        super().__init__()
        self._descriptor = descriptor  # 1 or 2, leading to this child's own file
        self._shared = shared  # the file the text would have gone to

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._descriptor

    def write(self, data: bytes) -> int:
        """Append ``data`` as one record, stamped with the shared file's size and the time."""
        try:
            size = os.stat(self._shared).st_size
        except OSError:  # not made yet
            size = 0
        os.write(self._descriptor, f"{RECORD}{size} {time.perf_counter_ns()}{TEXT}".encode()
                 + bytes(data))
        return len(data)


def write_to(shared: str, descriptor: int, name: str) -> None:
    """Make ``descriptor``, and ``sys.<name>`` above it, append to this child's own file
    in this folder, in records stamped for merging into the file at ``shared``."""
    own = os.path.join(HERE, f"{name}-{os.getpid()}.txt")
    file = os.open(own, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0),
                   0o600)
    if file != descriptor:  # equal when the descriptor was free: the lowest free one is taken
        # for C code and child processes, which use the descriptor: their text lands after
        # the record written before it
        os.dup2(file, descriptor)
        os.close(file)
    # Straight through, one record per write: pieces of a line written by several
    # processes at once are merged in the order they were written.
    stream = io.TextIOWrapper(StampedFile(descriptor, shared), encoding="utf-8",
                              errors="backslashreplace", line_buffering=True, write_through=True)
    setattr(sys, name, stream)
    setattr(sys, f"__{name}__", stream)


def same_folder(entry: str, folder: str) -> bool:
    """Whether the ``sys.path`` entry ``entry`` is ``folder``, however spelt (on Windows,
    "C:\\Temp" and "c:\\temp\\" are one folder)."""
    try:
        return os.path.samefile(entry, folder)
    except OSError:  # missing, or not a folder (a zip file on sys.path)
        return os.path.normcase(os.path.abspath(entry)) == os.path.normcase(folder)


def run_the_next_sitecustomize() -> None:
    """Run the ``sitecustomize`` this one hides, if the Python installation has one."""
    others = [entry for entry in sys.path if not same_folder(entry or os.curdir, HERE)]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)


#: The folder this file is in: as ``sitecustomize.py``, the one catch_lost_output made.
HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "sitecustomize":  # copied and started as a child's sitecustomize
    os.close(os.open(os.path.join(HERE, f"started-{os.getpid()}"), os.O_WRONLY | os.O_CREAT
                     | getattr(os, "O_BINARY", 0), 0o600))
    for _name, _descriptor, _variable in STREAMS:
        _path = os.environ.get(_variable)
        if _path and leads_nowhere(_descriptor):
            write_to(_path, _descriptor, _name)
    run_the_next_sitecustomize()
