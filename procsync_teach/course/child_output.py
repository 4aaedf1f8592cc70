"""What a child process printed, read the same way on every Python version.

The course shows what child processes print: the error a worker dies with, the output of
a script. Two things in that text change from one Python version to the next, although
the lesson does not:

* **colour codes**: Python 3.13 colours the tracebacks it prints whenever it is asked to
  (``FORCE_COLOR``, which Jupyter's kernel sets for the programs it runs) or writes to a
  terminal. In a captured file they are raw escape codes, ``\\x1b[35m``. The variables in
  :data:`NO_COLOURS` turn them off, and older versions ignore them.
* **how a module is described**: "Can't get attribute 'cube' on <module '__main__'
  (built-in)>" names the module the same way everywhere, but the part in brackets (how the
  module was loaded) differs between versions. :func:`error_line` leaves it out.

And one thing changes from one operating system to the next: on Windows, a child started
with spawn inherits no output descriptors, so what it prints is lost to whoever redirected
their own. :func:`catch_lost_output` has each such child write to a file of its own, and
:func:`read_output` merges those files into the one the text was meant for, in the order
it was written.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .child_startup import RECORD, TEXT

#: Environment variables that keep a child's output free of colour codes:
#: ``PYTHON_COLORS`` for Python 3.13 and newer, ``NO_COLOR`` for other programs.
NO_COLOURS = {"PYTHON_COLORS": "0", "NO_COLOR": "1"}

#: Whether a child process inherits its parent's standard output and error whatever its
#: start method: everywhere but Windows, where a spawned child inherits no descriptors.
CHILDREN_INHERIT_OUTPUT = sys.platform != "win32"

#: Said where that output is lost because Python ignored the PYTHONPATH that catches it.
IGNORED_PYTHONPATH = (
    "Note: this Python ignores PYTHONPATH (it was started with -I or -E, or it is an "
    "embeddable distribution with a ._pth file), so what the processes it spawned printed "
    "could not be caught and is missing here. Run the course with a regular Python "
    "installation, or a virtual environment, to see it.\n"
)

# "<module '__main__' (built-in)>" or "<module '__main__' (<class '...'>)>" -> "<module '__main__'>"
_MODULE_REPR = re.compile(r"<module '([^']*)' \(.*\)>")


def child_environment() -> dict[str, str]:
    """This process's environment, plus :data:`NO_COLOURS`: give it to a child process."""
    return {**os.environ, **NO_COLOURS}


@contextmanager
def environment_for_children(variables: dict[str, str]) -> Iterator[None]:
    """Inside the block, the processes this one starts have these environment variables.

    Children inherit the environment of the moment they start: a pool's workers, for
    instance, which are not started with an ``env`` argument of our choosing.
    """
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def error_line(lines: str | Iterable[str], error_type: str) -> str | None:
    """The first line that reports an ``error_type`` (such as ``"AttributeError"``), with
    the version-dependent description of a module left out; None if there is none."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    for line in lines:
        if line.startswith(f"{error_type}:"):
            return _MODULE_REPR.sub(r"<module '\1'>", line)
    return None


def catch_lost_output(folder: str | os.PathLike[str], *, stdout: str | None = None,
                      stderr: str | None = None) -> dict[str, str]:
    """Environment variables with which a Python child writes to these files what it would
    otherwise print to nowhere; give them to the child, which passes them on to its own.

    A child writes to the descriptors it inherited. One started with spawn on Windows
    inherits none: it prints to the console of whoever started Jupyter, or to nothing.
    With these variables, such a child writes its standard output for the file ``stdout``
    and its standard error for ``stderr`` (either may be None: not caught) into files of its
    own in ``folder``, which :func:`read_output` merges into them. A child that did inherit
    a file or a pipe, as every child does on Linux and macOS, is left alone.

    How: :mod:`procsync_teach.course.child_startup` is copied into ``folder`` (an empty
    folder that must outlive the children) as ``sitecustomize.py``, which Python runs as it
    starts, and ``folder`` goes first on ``PYTHONPATH``.
    """
    shutil.copyfile(Path(__file__).with_name("child_startup.py"),
                    Path(folder, "sitecustomize.py"))
    python_path = [os.fspath(folder), *filter(None, [os.environ.get("PYTHONPATH")])]
    variables = {"PYTHONPATH": os.pathsep.join(python_path)}
    for variable, path in (("PROCSYNC_CHILD_STDOUT", stdout), ("PROCSYNC_CHILD_STDERR", stderr)):
        if path is not None:
            variables[variable] = os.fspath(path)
    return variables


def read_output(path: str | os.PathLike[str], folder: str | os.PathLike[str],
                stream: str) -> str:
    """The text of the file at ``path``, with what the children caught by
    :func:`catch_lost_output` (``folder``) wrote for it as their ``stream`` ("stdout" or
    "stderr"), in the order it was written.

    Each child's write is placed where the file stood when it was made, and writes made
    while the file stood still follow the shared clock: lines printed one after the other
    by several processes, under a lock, come out in the order they were printed. Text a
    child wrote with no record around it (its own children's, or C code's) follows the
    child's write before it. A missing file reads as empty.
    """
    shared = Path(path).read_bytes() if Path(path).exists() else b""
    writes = sorted(write for own in Path(folder).glob(f"{stream}-*.txt")
                    for write in _writes(own.read_bytes(), len(shared)))
    merged, done = [], 0
    for size, _, text in writes:
        place = min(max(size, done), len(shared))
        merged += [shared[done:place], text]
        done = place
    merged.append(shared[done:])
    return b"".join(merged).decode("utf-8", errors="replace")


def _writes(data: bytes, end: int) -> Iterator[tuple[int, int, bytes]]:
    """The writes in a child's file: (size of the shared file, time in ns, text). Text
    before the first record goes at the ``end``, after every stamped write."""
    unstamped, *records = data.split(RECORD.encode())
    if unstamped:
        yield end, 2 ** 63, unstamped
    for record in records:
        stamp, _, text = record.partition(TEXT.encode())
        size, _, when = stamp.partition(b" ")
        yield int(size), int(when), text


def startup_ran(folder: str | os.PathLike[str], pid: int) -> bool:
    """Whether process ``pid``, started with :func:`catch_lost_output`'s variables for
    ``folder``, ran the start-up that catches its output (False: it ignored PYTHONPATH)."""
    return Path(folder, f"started-{pid}").exists()
