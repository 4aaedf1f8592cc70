"""Soak: many pools, many locks, many tasks; exact results and nothing accumulates.

Kept short enough for every test run (about half a minute): 200 pool lifetimes, 50 pools
dropped while running, 300 locks, 5,000 live locks in a process limited to 1,024
descriptors, and more than 200,000 tasks through one pool, under the course's start
method. Afterwards the counts of child processes, file descriptors, threads, temp files
and mapped ``/dev/shm`` files are back where they started, and repeating the tasks grows the
process by less than 30 MB.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import warnings

import psutil
import pytest

from procsync_teach import Lock, Pool, start_method, tempfiles
from procsync_teach.lock import SPARE_DESCRIPTORS
from tests.conftest import leak_snapshot
from tests.helpers import ROOT, square
from tests.robust_helpers import use_lock

METHOD = start_method()


def shm_mappings() -> int | None:
    """How many shared-memory files (under ``/dev/shm``) this process has mapped.

    A leaked semaphore, shared array or shared-memory block stays mapped in the process
    that made it. The number of entries in ``/dev/shm`` itself would count every other
    program's too, and they come and go while the soak runs. None where there is no
    ``/dev/shm`` (macOS, Windows).
    """
    if not os.path.isdir("/dev/shm"):
        return None
    return sum(mapping.path.startswith("/dev/shm/")
               for mapping in psutil.Process().memory_maps(grouped=False))


def resident_megabytes() -> float:
    """This process's memory in use now, on every platform.

    (``resource``'s ``ru_maxrss`` would be the peak, not the present, and is counted in
    kilobytes on Linux but in bytes on macOS.)
    """
    return psutil.Process().memory_info().rss / 2**20


@pytest.fixture(scope="module")
def baseline():
    with Pool(2, context=METHOD) as pool:  # warm up: first-use resources stay for good
        pool.map(square, range(10))
    tempfiles.this_process_folder()  # and its file "alive", open while the process runs
    gc.collect()
    return leak_snapshot(), shm_mappings()


def assert_back_to(baseline):
    gc.collect()
    snapshot, shm = baseline
    assert leak_snapshot() == snapshot
    assert shm_mappings() == shm


def grows_by(workload, rounds=3) -> float:
    """Megabytes the process grows by over ``rounds`` more runs of ``workload``.

    The first run is not counted: it fills Python's memory pools and caches, which
    then stay. A leak is what keeps growing after that.
    """
    workload()
    gc.collect()
    before = resident_megabytes()
    for _ in range(rounds):
        workload()
    gc.collect()
    return resident_megabytes() - before


@pytest.mark.timeout(600)
def test_two_hundred_pool_lifetimes(baseline):
    for lifetime in range(200):
        pool = Pool(2, context=METHOD)
        items = range(lifetime % 7 + 1)
        assert pool.map(square, items) == [n * n for n in items]
        if lifetime % 2:
            pool.close()
        else:
            pool.terminate()
        pool.join()
    assert_back_to(baseline)


@pytest.mark.timeout(600)
def test_fifty_pools_dropped_while_running(baseline):
    """As a notebook cell ``pool = Pool(2)`` run again and again: each pool left behind is
    finalised (with a ResourceWarning), and its workers, threads and pipes go with it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for lifetime in range(50):
            pool = Pool(2, context=METHOD)
            pool.apply_async(square, (lifetime,))  # some dropped with work in flight
        del pool
        deadline = time.monotonic() + 60
        while unclosed(caught) < 50 and time.monotonic() < deadline:
            gc.collect()  # a pool whose task is in flight goes once its result is in
            time.sleep(0.05)
    assert unclosed(caught) == 50
    deadline = time.monotonic() + 60
    while leak_snapshot() != baseline[0] and time.monotonic() < deadline:
        time.sleep(0.1)  # each dropped pool's dispatcher is stopping its workers
    assert_back_to(baseline)


def unclosed(caught):
    return sum("unclosed running multiprocessing pool" in str(warning.message)
               for warning in caught)


@pytest.mark.timeout(600)
def test_three_hundred_locks(baseline):
    with Pool(2, context=METHOD) as pool:
        for batch in range(30):
            locks = [Lock(trace=batch % 2 == 0) for _ in range(10)]
            pids = pool.map(use_lock, locks, chunksize=1)
            assert len(pids) == 10 and os.getpid() not in pids
            for lock in locks:
                with lock:
                    pass
            del locks, lock  # dropping a Lock closes its file (copies went to the
            # workers: the file stays until this process ends)
    assert_back_to(baseline)


@pytest.mark.timeout(600)
def test_two_hundred_thousand_tasks_through_one_pool(baseline):
    squares = [n * n for n in range(50_000)]
    with Pool(2, context=METHOD) as pool:

        def seventy_five_thousand_tasks():
            assert pool.map(square, range(50_000)) == squares
            assert sorted(pool.imap_unordered(square, range(20_000), chunksize=200)) == squares[
                :20_000]
            results = [pool.apply_async(square, (n,)) for n in range(5_000)]
            assert [r.get(timeout=60) for r in results] == squares[:5_000]

        # 1 + 3 rounds of 75,000 tasks, with a map of 50,000 first: 350,000 tasks in all
        assert pool.map(square, range(50_000)) == squares
        assert grows_by(seventy_five_thousand_tasks) < 30
    assert_back_to(baseline)


@pytest.mark.timeout(600)
@pytest.mark.skipif(sys.platform == "win32", reason="descriptor limits are POSIX-only")
def test_five_thousand_live_locks_under_a_limit_of_1024_descriptors(tmp_path):
    # In a fresh interpreter, whose limit we may lower, and whose temp folder is ours.
    result = subprocess.run(
        [sys.executable, "-c", "from tests.helpers import live_locks_under_a_descriptor_limit "
         f"as run; run('procsync_teach', 5000, 1024, {METHOD!r})"],
        capture_output=True, text=True, encoding="utf-8", timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": ROOT, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    counts = json.loads(result.stdout)
    assert counts["files_during"] - counts["files_before"] == 5000
    assert counts["during"] - counts["before"] <= SPARE_DESCRIPTORS + 1
    assert counts["child_during"] == counts["child_before"]
    assert (counts["after"], counts["files_after"]) == (counts["before"], counts["files_before"])
    assert os.listdir(tmp_path) == []  # and the process's own folder went with it
