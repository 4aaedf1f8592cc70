"""Small task functions for the notebooks that use the standard library's pools.

``multiprocessing.Pool`` and ``concurrent.futures.ProcessPoolExecutor`` send a task
function to their workers *by name*: a worker imports the function's module and looks
the name up. Under the spawn and forkserver start methods a worker is a fresh Python
that cannot import a notebook cell, so a function defined in a notebook fails there.
The functions here live in an importable module, so they travel by name under every
start method, and a notebook can compare the standard pools with the course's own.

Each function stands for a kind of real task: a quick one, one that fails on some
inputs, one that waits, one whose worker dies.
"""

from __future__ import annotations

import os
import time

import psutil


def square(x: int) -> int:
    """Return x * x: a task so quick that only the cost of sending it shows."""
    return x * x


def invert(x: float) -> float:
    """Return 1 / x; raises ZeroDivisionError for 0, as a failing task."""
    return 1 / x


def nap_or_fail(seconds: float) -> float:
    """Sleep ``seconds`` and return them; a negative number raises ValueError at once."""
    if seconds < 0:
        raise ValueError(f"a nap cannot be negative: {seconds}")
    time.sleep(seconds)
    return seconds


def worker_pid(x: object) -> int:
    """Return the process id of the worker that ran this task, to count the processes."""
    return os.getpid()


def die() -> None:
    """Kill the worker process that runs this task, as the out-of-memory killer would
    (SIGKILL on Linux and macOS, TerminateProcess on Windows, which has no signals): no
    exception, no reply, the process is simply gone."""
    psutil.Process().kill()
