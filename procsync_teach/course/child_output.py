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
their own. :func:`catch_lost_output` has each such child write to the file itself.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: Environment variables that keep a child's output free of colour codes:
#: ``PYTHON_COLORS`` for Python 3.13 and newer, ``NO_COLOR`` for other programs.
NO_COLOURS = {"PYTHON_COLORS": "0", "NO_COLOR": "1"}

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
    With these variables, such a child appends its standard output to the file ``stdout``
    and its standard error to ``stderr`` (either may be None: not caught). A child that did
    inherit a file or a pipe, as every child does on Linux and macOS, is left alone.

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
