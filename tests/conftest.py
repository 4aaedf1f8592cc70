"""Fixtures and helpers shared by the tests of the Lock and the Pool.

* ``start_method``: every test that asks for it runs under fork, spawn and forkserver
  (each where this platform has it). It is module-scoped, so a module-scoped fixture (a
  pool reused by many tests) can depend on it.
* ``leak_snapshot()``: what this process holds now (children, open files, threads), to
  compare before and after a pool's life.

Functions that run in other processes live in ``tests/helpers.py``: a worker started by
spawn or forkserver finds them by importing ``tests.helpers``. The repository's root is
put on ``sys.path`` below (pyproject's ``pythonpath = ["."]`` does the same when pytest
reads it); spawned children receive the parent's ``sys.path``, so they can import it too.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
from pathlib import Path
from typing import NamedTuple

import psutil
import pytest

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# tests/test_platforms.py sets this to run tests with only the start methods another
# platform has ("spawn" for Windows); the library then refuses the others, as it would there.
SIMULATED_START_METHODS = os.environ.get("PROCSYNC_SIMULATE_START_METHODS", "")
if SIMULATED_START_METHODS:
    _simulated = SIMULATED_START_METHODS.split(",")
    multiprocessing.get_all_start_methods = lambda: list(_simulated)

START_METHODS = [
    method
    for method in ("fork", "spawn", "forkserver")
    if method in multiprocessing.get_all_start_methods()
]
#: For tests about what the pool does, not how its workers start: fork is the quickest,
#: and spawn is what every platform has.
QUICKEST_START_METHOD = "fork" if "fork" in START_METHODS else "spawn"

needs_sigkill = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="Windows has no SIGKILL: there is no signal to kill with"
)
needs_fork = pytest.mark.skipif(
    "fork" not in START_METHODS, reason="this platform has no fork start method (Windows)"
)


@pytest.fixture(scope="module", params=START_METHODS, ids=START_METHODS)
def start_method(request: pytest.FixtureRequest) -> str:
    """The name of a start method: "fork", "spawn" or "forkserver"."""
    return request.param


@pytest.fixture(scope="module")
def warmed_up(start_method: str) -> str:
    """``start_method``, after one pool has run with it: forkserver's server and the
    resource tracker, started by the first pool, stay for good, so a test that counts what
    is left behind counts from there."""
    # Imported here, after the simulation of another platform's start methods above.
    from procsync_teach import Pool
    from tests.helpers import square

    with Pool(2, context=start_method) as pool:
        pool.map(square, range(4))
    return start_method


class LeakSnapshot(NamedTuple):
    """What this process holds at one moment; compare two snapshots to find a leak."""

    children: int  # live child processes started through multiprocessing
    fds: int | None  # open file descriptors; None on Windows, which has handles instead
    threads: int  # live threads, the main thread included


def leak_snapshot() -> LeakSnapshot:
    """Count this process's live children, open file descriptors and threads.

    ``multiprocessing.active_children()`` also reaps children that have exited, so a
    finished worker is not counted. The descriptors are counted by psutil (Linux and
    macOS alike); on Windows the count is None, and a test compares only the others.
    """
    # Objects earlier code dropped but the collector has not yet freed (a Lock closes its
    # file, a Pool its pipes, when freed) would be counted now and gone later.
    gc.collect()
    children = len(multiprocessing.active_children())
    fds = psutil.Process().num_fds() if hasattr(psutil.Process, "num_fds") else None
    return LeakSnapshot(children, fds, threading.active_count())
