"""Faults injected while a pool works: the caller hears of it fast, and nothing is lost.

The cases ``test_pool_robust.py`` does not already cover: a worker killed during a ``map``
of many chunks, or with quick chunks lined up behind its task, and a ``terminate()`` with
thousands of tasks still waiting (twice, then ``join()``). Each runs under every start
method, and each ends with nothing left behind.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from procsync_teach import Pool, PoolTerminated, WorkerDied
from procsync_teach.course.sign_in import sign_in_and_sleep, signed_in
from tests.conftest import leak_snapshot, needs_sigkill
from tests.helpers import square
from tests.robust_helpers import quick_unless_marked

WAIT = 10  # seconds: the most any single wait below may take before the test fails


@needs_sigkill
def test_a_worker_killed_during_a_map_of_many_chunks(warmed_up, tmp_path):
    before = leak_snapshot()
    with Pool(2, context=warmed_up) as pool:
        result = pool.starmap_async(sign_in_and_sleep, [(str(tmp_path), 0.05)] * 40,
                                    chunksize=2)
        victim = signed_in(tmp_path, timeout=WAIT)[0]  # the other worker may be in too
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        with pytest.raises(WorkerDied) as died:
            result.get(timeout=WAIT)
        assert time.monotonic() - killed_at < 3  # liveness: told within seconds, not never
        assert died.value.pid == victim and died.value.exitcode == -signal.SIGKILL
        assert pool.map(square, range(100), chunksize=3) == [n * n for n in range(100)]
    assert leak_snapshot() == before


@needs_sigkill
def test_a_worker_killed_with_quick_chunks_lined_up_behind_its_task(warmed_up, tmp_path):
    """Only the chunk it was running fails; those lined up behind it never ran, and run
    on the worker started in its place. (One worker: a second one, once out of work,
    would take back the chunks lined up behind the marked one: see takeback.py.)"""
    before = leak_snapshot()
    items, marked = range(400), 60  # imap reads 64 chunks per worker ahead: 60 is read at once
    with Pool(1, context=warmed_up) as pool:
        results = pool.imap(quick_unless_marked, [(str(tmp_path), n, marked) for n in items])
        deadline = time.monotonic() + WAIT
        [victim] = signed_in(tmp_path, timeout=WAIT)
        workers = pool._dispatcher._workers
        while not any(worker.pid == victim and len(worker.jobs) > 1 for worker in workers):
            assert time.monotonic() < deadline, "no chunk lined up behind the marked one"
            time.sleep(0.001)
        os.kill(victim, signal.SIGKILL)
        outcomes = []
        for _ in items:
            try:
                outcomes.append(results.next(timeout=WAIT))
            except WorkerDied as error:
                outcomes.append(error)
    assert [n for n, o in zip(items, outcomes, strict=True) if isinstance(o, WorkerDied)] == [
        marked]
    assert [o for o in outcomes if not isinstance(o, WorkerDied)] == [
        n for n in items if n != marked]
    assert leak_snapshot() == before


def test_terminate_ends_a_pool_whose_dispatcher_is_stuck_sending(warmed_up):
    """A worker still in its initializer reads nothing, so a job bigger than a pipe holds
    leaves the dispatcher blocked, sending it. terminate() must end the pool all the same."""
    before = leak_snapshot()
    pool = Pool(1, initializer=time.sleep, initargs=(60,), context=warmed_up)
    result = pool.apply_async(len, (b"j" * (8 * 2**20),))
    time.sleep(0.2)  # the dispatcher is sending it now
    asked_at = time.monotonic()
    pool.terminate()
    assert time.monotonic() - asked_at < WAIT
    with pytest.raises(PoolTerminated):
        result.get(timeout=0)
    assert leak_snapshot() == before


def test_terminate_with_ten_thousand_tasks_waiting(warmed_up):
    before = leak_snapshot()
    pool = Pool(2, context=warmed_up)
    results = [pool.apply_async(square, (n,)) for n in range(10_000)]
    pool.terminate()
    pool.terminate()  # a second terminate is harmless
    pool.join()  # and so is join after terminate
    outcomes = {"ok": 0, "terminated": 0}
    for n, result in enumerate(results):
        assert result.ready()  # every one settled: no get() below can wait
        try:
            assert result.get(timeout=0) == n * n
            outcomes["ok"] += 1
        except PoolTerminated:
            outcomes["terminated"] += 1
    assert sum(outcomes.values()) == 10_000 and outcomes["terminated"] > 0
    assert leak_snapshot() == before
