"""Small task functions for the notebooks that use the standard library's pools.

``multiprocessing.Pool`` and ``concurrent.futures.ProcessPoolExecutor`` send a task
function to their workers *by name*: a worker imports the function's module and looks
the name up. Under the spawn and forkserver start methods a worker is a fresh Python
that cannot import a notebook cell, so a function defined in a notebook fails there.
The functions here live in an importable module, so they travel by name under every
start method, and a notebook can compare the standard pools with the course's own.

Each function stands for a kind of real task: one that fails on some inputs, one that
waits, one that needs an expensive resource, one whose worker dies.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

#: The expensive resource of this worker process, made by :func:`open_resource`.
_resource: dict[str, str] = {}


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


def build_resource(seconds: float) -> str:
    """Stand for an expensive set-up (a model to load, a connection to open): wait
    ``seconds``, then return a name that no other resource has."""
    time.sleep(seconds)
    return uuid.uuid4().hex


def open_resource(seconds: float) -> None:
    """A pool's initializer: build this worker's resource once, for all its tasks."""
    _resource["name"] = build_resource(seconds)


def use_resource(x: int) -> str:
    """A task that needs the worker's resource: return the name of the one it used.

    Raises:
        RuntimeError: the worker has no resource (the pool had no initializer).
    """
    if "name" not in _resource:
        raise RuntimeError("no resource in this worker: start the pool with "
                           "initializer=open_resource")
    return _resource["name"]


def build_and_use(x: int, seconds: float) -> str:
    """A task that builds its own resource every time: return the name of the one it built."""
    return build_resource(seconds)


def worker_pid(x: object) -> int:
    """Return the process id of the worker that ran this task, to count the processes."""
    return os.getpid()


def die() -> None:
    """Kill the worker process that runs this task, as the out-of-memory killer would
    (SIGKILL): no exception, no reply, the process is simply gone."""
    os.kill(os.getpid(), signal.SIGKILL)
