"""Checks for the exercises of notebook 00, "Start here".

Two warm-ups: how many workers ``Pool()`` starts on this machine, and a function that
runs another function in a new process and waits for it.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from contextlib import redirect_stdout

from ...capture import capture_output
from . import Verdict, correct, hint, not_a_function, not_answered

#: What the process started by the learner's function must print.
GREETING = "Hello from a new process!"

# The greeting takes this long to appear, so that a process nobody waited for is
# certainly still running when the learner's function returns.
_GREETING_DELAY = 0.2
_JOIN_TIMEOUT = 10.0


def check_pool_size(workers: object) -> Verdict:
    """Check how many worker processes ``Pool()``, with no argument, starts on this machine.

    Args:
        workers: your answer, a whole number (an expression that computes it is best).
    """
    if workers is Ellipsis:
        return not_answered()
    if isinstance(workers, bool) or not isinstance(workers, int):
        return hint(
            "give a whole number (an int), such as the result of a function that counts "
            "this machine's cores."
        )
    # As multiprocessing.Pool counts, on the running Python: from 3.13 only the CPUs this
    # process may run on.
    usable = os.process_cpu_count() if hasattr(os, "process_cpu_count") else os.cpu_count()
    if workers == usable:
        return correct(
            "Pool() with no argument starts one worker per CPU this program may use, so that "
            "every core has a process to run."
        )
    return hint(
        "Pool() with no argument starts one worker per CPU core this program may use. The "
        "os module has a function that counts them (on Python 3.13 and newer, the one that "
        "counts only the CPUs this process may run on)."
    )


def _greet(name: str) -> None:
    """The function the check hands to your ``run_in_a_process``."""
    time.sleep(_GREETING_DELAY)
    print(f"Hello from {name}!")


def check_run_in_a_process(run_in_a_process: Callable[[Callable, object], object]) -> Verdict:
    """Check that ``run_in_a_process(function, argument)`` runs ``function(argument)`` in a
    new process, waits for it to end, and returns that process.

    The check calls it with a function that prints a greeting after a short pause.

    Args:
        run_in_a_process: your function itself (not a call to it).
    """
    usage = "check_run_in_a_process(run_in_a_process)"
    if (verdict := not_a_function(run_in_a_process, usage)) is not None:
        return verdict
    here = io.StringIO()  # what the function prints in *this* process, if it runs here
    with capture_output() as screen, redirect_stdout(here):
        try:
            process = run_in_a_process(_greet, "a new process")
        except Exception as error:  # the learner's mistake becomes a hint, not a traceback
            return hint(_advice_for(error))
        still_running = _is_alive(process)
        _wait_for(process)
    if GREETING in here.getvalue():
        return hint(
            "the function ran in this process, not a new one. Make a "
            "Process(target=function, args=(argument,)), then start() it and join() it."
        )
    if process is None or process is Ellipsis:
        if not screen.records():
            return not_answered()
        return hint("end your function with `return process`, so the check can look at it.")
    if not hasattr(process, "exitcode"):
        return hint(f"return the Process object itself, not {type(process).__name__}.")
    if process.pid is None:
        return hint("the process never started: call its start() method, then join().")
    if still_running:
        return hint(
            "the process was still running when your function returned: call "
            "process.join(timeout=10) to wait for it."
        )
    if screen.lines() != [GREETING]:
        return hint(
            "the greeting did not reach the screen: make the process with Process from "
            "procsync_teach, so that what it prints is captured."
        )
    return correct(
        "start() launched the process and join() waited for it to finish: its exit code is "
        f"{process.exitcode}, which means it ran to the end without an error."
    )


def _is_alive(process: object) -> bool:
    try:
        return bool(process.is_alive())
    except Exception:  # not a process, or not started: no answer, and no harm
        return False


def _wait_for(process: object) -> None:
    """Let a process the learner forgot to join finish, so that its output is caught."""
    if _is_alive(process):
        process.join(_JOIN_TIMEOUT)


def _advice_for(error: Exception) -> str:
    message = f"{type(error).__name__}: {error}"
    if "can only join a started process" in str(error):
        return "join() was called on a process that was never started: call start() first."
    if "cannot start a process twice" in str(error):
        return "a process can be started only once: make a new Process for each run."
    return f"your function raised {message}."
