"""Checks and a helper for notebook 07, "Pitfalls".

The helper:

* :func:`run_script` runs a piece of Python as a script in a separate process and
  returns what it printed. Several pitfalls (a missing ``__main__`` guard, a pool that
  hangs, Ctrl-C) are only safe to show in a process of their own: it runs in a new
  session, so Ctrl-C sent to it reaches nobody else, and whatever happens it is
  stopped, with every process it started, after a timeout.

The checks:

* :func:`check_needs_guard`: which of four scripts fail under spawn without
  ``if __name__ == "__main__":``;
* :func:`check_squares`: the learner's function collects a pool's results inside the
  ``with`` block, before the pool is terminated, and leaves no worker behind.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import psutil

from ...errors import PoolTerminated
from ..child_output import child_environment
from . import Verdict, correct, hint, letters, not_a_choice, not_answered

# -- running a script in a process of its own ---------------------------------------------


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
    processes it starts, reach the output in the order they were printed.
    """
    if ctrl_c_after is not None and not CAN_PRESS_CTRL_C:
        raise ValueError("ctrl_c_after needs process groups and SIGINT, which Windows does not "
                         "have: run the script without it there")
    with tempfile.TemporaryDirectory(prefix="procsync-script-") as folder:
        Path(folder, "script.py").write_text(source, encoding="utf-8")
        command = [sys.executable, "script.py"] if as_file else [sys.executable, "-c", source]
        stdout_path, stderr_path = Path(folder, "stdout.txt"), Path(folder, "stderr.txt")
        # Files, not pipes: a pipe stays open as long as any process the script started
        # holds it, and reading it to the end would wait for them all.
        environment = {**child_environment(), "PYTHONUNBUFFERED": "1"}
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = subprocess.Popen(command, cwd=folder, env=environment,
                                       stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                       **_OWN_GROUP)
        deadline = time.monotonic() + timeout
        try:
            if ctrl_c_after is not None and _wait_for_text(process, stdout_path,
                                                           ctrl_c_after, deadline):
                _press_ctrl_c(process)
            finished = _wait_for_end(process, deadline)
        finally:
            _kill_everything(process)
            exit_code = process.wait()
        return ScriptRun(exit_code if finished else None,
                         stdout_path.read_text(encoding="utf-8"),
                         stderr_path.read_text(encoding="utf-8"))


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


def _wait_for_text(process: subprocess.Popen, path: Path, text: str, deadline: float) -> bool:
    """Wait until the file at ``path`` holds ``text`` (True); False if the child ended
    first or the deadline passed."""
    while text not in path.read_text(encoding="utf-8"):
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


# -- exercise 1: which scripts need the guard -------------------------------------------------

#: The scripts of exercise 1 that start a process while being imported.
NEED_GUARD = frozenset({"B", "D"})

_WHY = {
    "A": "A already starts its pool under `if __name__ == \"__main__\":`",
    "B": "B starts a pool at the top level of the script",
    "C": "C's top-level print runs again in each child, which is noisy but starts no process",
    "D": "D calls `main()` at the top level, and `main()` starts a process",
}


def check_needs_guard(answer: set[str]) -> Verdict:
    """Check your set of the scripts (``"A"`` to ``"D"``) that fail under spawn for lack
    of an ``if __name__ == "__main__":`` guard."""
    if (verdict := not_a_choice(answer, _WHY, "scripts")) is not None:
        return verdict
    chosen = letters(answer)
    extra = sorted(chosen - NEED_GUARD)
    if extra:
        return hint(f"{_WHY[extra[0]]}: a child can import it safely.")
    missing = sorted(NEED_GUARD - chosen)
    if missing == ["D"]:
        return hint("look at D again: which line runs when a child imports the script?")
    if missing:
        return hint(
            "which scripts start a process while they are being imported? Follow every "
            "line that is not inside a `def` or an `if __name__ == \"__main__\":` block."
        )
    return correct(
        "B and D start a process while being imported, so each child (which imports the "
        "script again) would try to start one too. In D the call `main()` belongs under "
        "the guard."
    )


# -- exercise 2: collect the results while the pool runs -------------------------------------

#: The inputs the learner's ``squares`` is tried on.
SQUARE_INPUTS = ((1, 2, 3, 4, 5), (7, 0, 3))


def check_squares(squares: Callable[[list[int]], list[int]]) -> Verdict:
    """Check your ``squares(numbers)``: it returns ``[n * n for n in numbers]``, computed in
    a pool whose results are collected before the pool is terminated, and it leaves no
    worker process running."""
    for numbers in SQUARE_INPUTS:
        before = len(multiprocessing.active_children())
        try:
            got = squares(list(numbers))
        except PoolTerminated:
            return hint(
                "a result was asked for after the pool was terminated. Leaving a `with "
                "Pool(...)` block terminates the pool: call every `get()` inside the block."
            )
        except Exception as error:
            return hint(f"squares({list(numbers)}) raised {error!r}.")
        left = len(multiprocessing.active_children()) - before
        if got is None or got is ...:
            return not_answered()
        expected = [n * n for n in numbers]
        if not isinstance(got, list) or got != expected:
            return hint(f"squares({list(numbers)}) returned {got!r}, not {expected!r}.")
        if left > 0:
            return hint(
                f"the results are right, but {left} worker process{'es' * (left != 1)} kept "
                "running after `squares` returned. Use `with Pool(2) as pool:` so that the "
                "pool ends with the block."
            )
    return correct(
        "The results are collected inside the `with` block, while the pool still runs, and "
        "the block then ends the workers."
    )
