"""Run a piece of Python as a script, in a process of its own, and see what it printed.

Some lessons are only safe to show in a separate program: a missing ``__main__`` guard, a
pool that hangs, Ctrl-C, the tutorial's scripts run exactly as written. :func:`run_script`
runs one in a new session, so that Ctrl-C sent to it reaches nobody else, and whatever
happens it is stopped, with every process it started, after a timeout. What the script
and its children printed comes back in a :class:`ScriptRun`, the same on every system.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import psutil

from .child_output import (
    CHILDREN_INHERIT_OUTPUT,
    IGNORED_PYTHONPATH,
    catch_lost_output,
    child_environment,
    read_output,
    startup_ran,
)


class ScriptRun(NamedTuple):
    """What a script did: its exit code and what it printed.

    ``exit_code`` is None if the script was still running at the timeout (it was then
    killed), negative if a signal ended it (-2: SIGINT, the signal of Ctrl-C).
    """

    exit_code: int | None
    stdout: str
    stderr: str

    @property
    def timed_out(self) -> bool:
        """True if the script had to be stopped at the timeout."""
        return self.exit_code is None


def run_script(source: str, timeout: float = 10.0, *, as_file: bool = True,
               ctrl_c_after: str | None = None) -> ScriptRun:
    """Run ``source`` with this Python in a new process and session; return what it did.

    Args:
        source: the script's code.
        timeout: seconds the script may run; then it is killed, and so is every process
            it started.
        as_file: True runs it as ``python script.py``; False as ``python -c source``, so
            that, like a notebook, its ``__main__`` has no file a child could import.
        ctrl_c_after: once the script prints a line holding this text, send SIGINT to its
            whole process group, exactly what pressing Ctrl-C in a terminal does (Linux and
            macOS only: see :data:`CAN_PRESS_CTRL_C`).

    The script runs in a fresh temporary folder, with the same environment as this
    process (``PROCSYNC_START_METHOD`` included) but no colour codes in its tracebacks
    (:mod:`procsync_teach.course.child_output`), unbuffered: its lines, and those of the
    processes it starts, reach the output in the order they were printed. That includes
    the Python processes it starts with spawn on Windows, which inherit no output of ours
    and write files of their own, merged in the order written (:func:`~procsync_teach.
    course.child_output.catch_lost_output`). Where that cannot work, because this Python
    ignores ``PYTHONPATH``, the standard error says so at its end.
    """
    if ctrl_c_after is not None and not CAN_PRESS_CTRL_C:
        raise ValueError("ctrl_c_after needs process groups and SIGINT, which Windows does not "
                         "have: run the script without it there")
    with tempfile.TemporaryDirectory(prefix="procsync-script-") as folder:
        Path(folder, "script.py").write_text(source, encoding="utf-8")
        command = [sys.executable, "script.py"] if as_file else [sys.executable, "-c", source]
        stdout_path, stderr_path = Path(folder, "stdout.txt"), Path(folder, "stderr.txt")
        startup = Path(folder, "startup")
        startup.mkdir()
        environment = {**child_environment(), "PYTHONUNBUFFERED": "1",
                       **catch_lost_output(startup, stdout=str(stdout_path),
                                           stderr=str(stderr_path))}
        # Files, not pipes: a pipe stays open as long as any process the script started
        # holds it, and reading it to the end would wait for them all.
        with stdout_path.open("ab") as stdout, stderr_path.open("ab") as stderr:
            process = subprocess.Popen(command, cwd=folder, env=environment,
                                       stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                       **_OWN_GROUP)
        deadline = time.monotonic() + timeout
        try:
            if ctrl_c_after is not None and _wait_for_text(process, stdout_path, startup,
                                                           ctrl_c_after, deadline):
                _press_ctrl_c(process)
            finished = _wait_for_end(process, deadline)
        finally:
            _kill_everything(process)
            exit_code = process.wait()
        lost = not CHILDREN_INHERIT_OUTPUT and not startup_ran(startup, process.pid)
        return ScriptRun(exit_code if finished else None,
                         read_output(stdout_path, startup, "stdout"),
                         read_output(stderr_path, startup, "stderr")
                         + (IGNORED_PYTHONPATH if lost else ""))


def _has_ended(process: subprocess.Popen) -> bool:
    """Whether the child has ended, without reaping it (it stays a zombie until then)."""
    if not hasattr(os, "waitid"):  # Windows, and macOS before Python 3.13: poll() reaps it
        return process.poll() is not None
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _wait_for_end(process: subprocess.Popen, deadline: float) -> bool:
    """Wait until the child ends (True) or the deadline passes (False)."""
    while not _has_ended(process):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _wait_for_text(process: subprocess.Popen, path: Path, startup: Path, text: str,
                   deadline: float) -> bool:
    """Wait until the standard output at ``path`` (with what children caught in
    ``startup`` wrote for it) holds ``text`` (True); False if the child ended first or the
    deadline passed."""
    while text not in read_output(path, startup, "stdout"):
        if _has_ended(process) or time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


#: Whether :func:`run_script` can press Ctrl-C for a script: it needs process groups and
#: SIGINT (Linux and macOS). Windows delivers Ctrl-C to a console, not to a group we choose.
CAN_PRESS_CTRL_C = hasattr(os, "killpg")

if hasattr(os, "killpg"):  # Linux, macOS: the script leads a session and a process group
    _OWN_GROUP: dict = {"start_new_session": True}

    def _signal_group(group: int, signal_number: int) -> None:
        # A process started with start_new_session leads its own group, whose id is its pid.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal_number)

    def _press_ctrl_c(process: subprocess.Popen) -> None:
        _signal_group(process.pid, signal.SIGINT)

    def _kill_everything(process: subprocess.Popen) -> None:
        # Until it is reaped, the script's pid (its group's id) cannot be given to another
        # process, so this reaches only what the script left running, orphans included.
        _signal_group(process.pid, signal.SIGKILL)

else:  # Windows: no process groups to signal; kill the tree of processes still linked
    _OWN_GROUP = {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}

    def _kill_everything(process: subprocess.Popen) -> None:
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(process.pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        process.kill()
