"""Task records and lock holds: what the course's timelines are drawn from."""

from __future__ import annotations

import os
import time

import pytest

from procsync_teach import Lock, Pool, now
from procsync_teach.trace import RECORDS_KEPT
from tests.conftest import QUICKEST_START_METHOD


def nap_and_tell(seconds):
    time.sleep(seconds)
    return os.getpid()


def fail(_):
    raise ValueError("no")


@pytest.fixture(scope="module")
def pool():
    with Pool(2, context=QUICKEST_START_METHOD) as pool:
        yield pool


def test_each_job_leaves_one_record_in_time_order(pool):
    since = now()
    pids = pool.map(nap_and_tell, [0.02] * 6, chunksize=2)
    records = pool.records(since=since)
    assert len(records) == 3 and all(r.calls == 2 for r in records)
    for r in records:
        assert since <= r.submitted <= r.started < r.finished <= now()
        assert r.ran >= 0.04 * 0.9 and r.waited >= 0
        assert r.outcome == "ok" and r.worker in (0, 1)
    assert {r.pid for r in records} == set(pids)


def test_a_failed_job_is_recorded_as_an_error(pool):
    since = now()
    with pytest.raises(ValueError, match="no"):
        pool.apply(fail, (1,))
    [record] = pool.records(since=since)
    assert record.outcome == "error"


def test_a_long_lived_pool_keeps_only_the_latest_records(pool):
    pool.map(abs, range(RECORDS_KEPT + 50), chunksize=1)
    assert len(pool.records()) == RECORDS_KEPT


def hold_briefly(lock, times):
    for _ in range(times):
        with lock:
            time.sleep(0.001)
    return os.getpid()


def test_a_traced_lock_records_holds_that_never_overlap(pool):
    lock = Lock(trace=True)
    pids = pool.starmap(hold_briefly, [(lock, 5), (lock, 5)], chunksize=1)
    holds = lock.holds()
    assert len(holds) == 10 and {h.pid for h in holds} == set(pids)
    for earlier, later in zip(holds, holds[1:], strict=False):
        assert earlier.released <= later.acquired


def test_an_untraced_lock_says_how_to_trace_it():
    with pytest.raises(ValueError, match="trace=True"):
        Lock().holds()
