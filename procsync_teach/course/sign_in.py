"""A task that tells which process runs it: it signs in with its pid, in a folder.

An experiment that kills the worker running a task must first learn which worker that is,
and that the task has started. The task writes a file named after its worker's pid into a
folder the experiment chose; the experiment waits for it with :func:`signed_in`.

The task lives in an importable module, not in a notebook, so that every pool can send it
by name, ``multiprocessing.Pool`` under spawn and forkserver included.
"""

from __future__ import annotations

import os
import time


def sign_in_and_sleep(folder: str, seconds: float) -> int:
    """A task: write this worker's pid into ``folder``, sleep ``seconds``, return the pid.

    Each worker signs in with a file named after its pid, written whole (first under a
    hidden name, then renamed), so :func:`signed_in` never reads half a number.
    """
    pid = os.getpid()
    hidden = os.path.join(folder, f".{pid}")
    with open(hidden, "w", encoding="utf-8") as file:
        file.write(str(pid))
    os.replace(hidden, os.path.join(folder, str(pid)))
    time.sleep(seconds)
    return pid


def signed_in(folder: str, count: int = 1, timeout: float = 10.0) -> list[int]:
    """Wait until ``count`` tasks have signed in to ``folder``; return their pids, sorted.

    Raises:
        TimeoutError: fewer than ``count`` signed in within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        pids = sorted(int(name) for name in os.listdir(folder) if name.isdigit())
        if len(pids) >= count:
            return pids
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pids)} of {count} tasks signed in within {timeout} s")
        time.sleep(0.01)
