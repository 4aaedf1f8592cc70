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
terminal), it is sent to the file named by ``PROCSYNC_CHILD_STDOUT`` or
``PROCSYNC_CHILD_STDERR``, appended to as every other writer of that file appends. A stream
that the parent did redirect, to a file or a pipe, is left alone. On Linux and macOS a
child inherits its parent's descriptors, so this changes nothing there.

It imports nothing from ``procsync_teach``: it runs before the child has imported anything.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import io
import os
import sys

#: Each stream: its name in ``sys``, its descriptor, and the variable naming its file.
STREAMS = (("stdout", 1, "PROCSYNC_CHILD_STDOUT"), ("stderr", 2, "PROCSYNC_CHILD_STDERR"))


def leads_nowhere(descriptor: int) -> bool:
    """Whether what is written to ``descriptor`` is lost: it is not open, or it is a
    terminal (on Windows, the console of whoever started the server)."""
    try:
        os.fstat(descriptor)
    except OSError:
        return True
    return os.isatty(descriptor)


def write_to(path: str, descriptor: int, name: str) -> None:
    """Make ``descriptor``, and ``sys.<name>`` above it, append to the file at ``path``."""
    file = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0),
                   0o600)
    if file != descriptor:  # equal when the descriptor was free: the lowest free one is taken
        os.dup2(file, descriptor)  # for C code and child processes, which use the descriptor
        os.close(file)
    # Line by line and straight through, so that lines reach the file in the order printed.
    stream = io.TextIOWrapper(io.FileIO(descriptor, "w", closefd=False), encoding="utf-8",
                              errors="backslashreplace", line_buffering=True, write_through=True)
    setattr(sys, name, stream)
    setattr(sys, f"__{name}__", stream)


def run_the_next_sitecustomize() -> None:
    """Run the ``sitecustomize`` this one hides, if the Python installation has one."""
    here = os.path.dirname(os.path.abspath(__file__))
    others = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)


if __name__ == "sitecustomize":  # copied and started as a child's sitecustomize
    for _name, _descriptor, _variable in STREAMS:
        _path = os.environ.get(_variable)
        if _path and leads_nowhere(_descriptor):
            write_to(_path, _descriptor, _name)
    run_the_next_sitecustomize()
