"""Who gets which job: idle workers first, map chunks lined up, nothing lost on a death."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

import procsync_teach.pool
from procsync_teach import Pool, WorkerDied, now
from procsync_teach.course.sign_in import sign_in_and_sleep
from procsync_teach.takeback import TakeBack
from tests.conftest import QUICKEST_START_METHOD, needs_sigkill
from tests.helpers import Unloadable, big_reply_after, slow, square


def test_an_apply_job_waits_for_an_idle_worker_never_behind_a_long_task():
    with Pool(2, context=QUICKEST_START_METHOD) as pool:
        since = now()
        long = pool.apply_async(slow, (1.0, "long"))
        short = [pool.apply_async(slow, (0.05, n)) for n in range(3)]
        assert [r.get(timeout=10) for r in short] == [0, 1, 2]
        assert not long.ready()  # all three ran beside the long task, none behind it
        long.get(timeout=10)
        records = {r.task: r for r in pool.records(since=since)}
    first = min(records)
    assert {records[first + n].worker for n in (1, 2, 3)} == {1 - records[first].worker}


def test_map_chunks_are_shared_evenly_between_the_workers():
    with Pool(2, context=QUICKEST_START_METHOD) as pool:
        since = now()
        pool.map(slow, [0.01] * 40, chunksize=1)
        per_worker = [r.worker for r in pool.records(since=since)]
    assert sorted(set(per_worker)) == [0, 1]
    assert min(per_worker.count(0), per_worker.count(1)) >= 10


#: A map of tiny items, then items that alternate slow and quick: the slow ones come to a
#: worker that has just run quick items of the same function, with jobs lined up behind.
QUICK_THEN_MIXED = [0.0] * 40 + [0.5, 0.0] * 8


def nap_and_pid(seconds):
    time.sleep(seconds)
    return os.getpid()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("pool_class", [Pool, multiprocessing.Pool], ids=["ours", "stdlib"])
def test_slow_items_after_quick_ones_are_shared_between_the_workers(pool_class):
    """The 8 slow items were lined up behind one worker, [0, 8] (twice the stdlib's
    time), while the other finished the quick ones and sat idle; the stdlib's workers,
    which take one item at a time, split them [4, 4]."""
    context = multiprocessing.get_context(QUICKEST_START_METHOD)
    with Pool(2, context=context) if pool_class is Pool else context.Pool(2) as pool:
        pool.apply(nap_and_pid, (0.0,))
        pids = pool.map_async(nap_and_pid, QUICK_THEN_MIXED, chunksize=1).get(timeout=30)
    slow = [pid for pid, seconds in zip(pids, QUICK_THEN_MIXED, strict=True) if seconds]
    assert sorted(slow.count(pid) for pid in set(pids)) == [4, 4]


@pytest.mark.timeout(60)
def test_no_job_waits_behind_a_running_one_while_another_worker_is_idle():
    """The rule LINE_UP_JOBS promises, read from the records: no job starts on one worker
    after another worker has sat idle for longer than a slow item (1 s here, against
    items of 0.5 s: only a job that waited behind a running one could start that late)."""
    with Pool(2, context=QUICKEST_START_METHOD) as pool:
        pool.apply(nap_and_pid, (0.0,))
        since = now()
        pool.map_async(nap_and_pid, QUICK_THEN_MIXED, chunksize=1).get(timeout=30)
        records = sorted(pool.records(since=since), key=lambda record: record.started)
    end = max(record.finished for record in records)
    idle = []  # (worker, from, until): a worker before its first job, between two, after its last
    for worker in (0, 1):
        own = [record for record in records if record.worker == worker]
        froms = [since] + [record.finished for record in own]
        untils = [record.started for record in own] + [end]
        idle += [(worker, *spell) for spell in zip(froms, untils, strict=True)]
    late = [(record.task, record.worker, round(record.started - since, 2), spell)
            for record in records for spell in idle
            if spell[0] != record.worker and spell[1] + 1.0 < record.started < spell[2]]
    assert not late, f"jobs started while another worker had been idle a second: {late}"


def test_each_job_lined_up_is_either_started_or_taken_back():
    """The worker numbers the jobs it reads 1, 2, 3, ... and asks before it starts each."""
    take_back = TakeBack(multiprocessing.get_context(QUICKEST_START_METHOD))
    assert take_back.may_start(1)
    assert take_back.take_back(5) == 2  # 1 runs: 2 to 5 go to another worker
    take_back_again = take_back.take_back(7)  # 6 and 7 sent since, the worker still on 1
    assert take_back_again == 2  # what it took back before stays taken back
    assert [take_back.may_start(n) for n in range(2, 9)] == [False] * 6 + [True]
    assert take_back.take_back(8) == 9  # 8 started: nothing left to take back


def test_a_worker_killed_holding_the_lock_leaves_nothing_to_take_back():
    take_back = TakeBack(multiprocessing.get_context(QUICKEST_START_METHOD))
    take_back._lock.acquire()  # as a worker killed inside may_start()
    assert take_back.take_back(5) == 6


@pytest.mark.parametrize("burst", [False, True], ids=["map", "apply_async"])
def test_slow_jobs_wait_in_the_pool_not_lined_up_behind_a_busy_worker(burst):
    """A job lined up behind one worker could not go to another that falls idle."""
    with Pool(2, context=QUICKEST_START_METHOD) as pool:
        assert pool.map(square, range(500), chunksize=1)[-1] == 499 ** 2  # quick: lined up
        if burst:
            results = [pool.apply_async(slow, (0.2,)) for _ in range(8)]
        else:
            results = [pool.map_async(slow, [0.2] * 8, chunksize=1)]
        most_held = 0
        while not all(result.ready() for result in results):
            held = [len(worker.jobs) for worker in pool._dispatcher._workers]
            most_held = max([most_held, *held])
            results[-1].wait(0.005)
        assert [result.get(timeout=10) for result in results] in ([[None] * 8], [None] * 8)
    assert most_held == 1


def submit_as_map(pool, items):
    return pool.map(square, items, chunksize=1)


def submit_as_apply_burst(pool, items):
    results = [pool.apply_async(square, (n,)) for n in items]
    return [result.get(timeout=10) for result in results]


@pytest.mark.parametrize("submit", [submit_as_map, submit_as_apply_burst])
def test_quick_jobs_travel_to_a_worker_many_per_message(monkeypatch, submit):
    messages = []
    sent = set()

    def counting_pack_jobs(jobs):
        messages.append(len(jobs))
        sent.update(job.job_id for job in jobs)
        return pack_jobs(jobs)

    pack_jobs = procsync_teach.pool.pack_jobs
    monkeypatch.setattr(procsync_teach.pool, "pack_jobs", counting_pack_jobs)
    with Pool(2, context=QUICKEST_START_METHOD) as pool:
        assert submit(pool, range(2000)) == [n * n for n in range(2000)]
    # A job taken back from a worker's line-up for an idle one travels again.
    assert len(sent) == 2000 and sum(messages) < 2000 * 1.1
    assert len(messages) < 2000 / 4, f"{len(messages)} messages for 2000 jobs"
    assert max(messages) <= procsync_teach.pool.LINE_UP_JOBS + 1


@pytest.mark.timeout(60)
def test_a_big_function_never_waits_in_a_pipe_behind_another_functions_job():
    """Lined up behind a job for another function, it would travel with its function:
    megabytes the worker reads only after that job. The dispatcher would block writing
    them, the worker block writing its big reply, and neither would ever move again."""
    payload = b"p" * (4 * 2**20)

    def big_function(x):  # a closure: pickled by value, with its 4 MB
        return len(payload) + x

    expected = [len(payload) + n for n in range(10)]
    with Pool(2, context=QUICKEST_START_METHOD) as pool:
        assert pool.map(big_function, range(10), chunksize=1) == expected  # quick
        replies = [pool.apply_async(big_reply_after, (0.3, 8 * 2**20)) for _ in range(2)]
        mapped = pool.map_async(big_function, range(10), chunksize=1)
        assert [len(reply.get(timeout=20)) for reply in replies] == [8 * 2**20] * 2
        assert mapped.get(timeout=20) == expected


def test_a_function_no_worker_can_load_fails_each_of_its_jobs_and_nothing_else():
    """Chunks after the first come without the function: a worker must not run the one
    it had before in its place."""
    with Pool(1, context=QUICKEST_START_METHOD) as pool:
        assert pool.map(square, range(3)) == [0, 1, 4]
        results = pool.imap(Unloadable(), range(5), chunksize=1)
        for _ in range(5):
            with pytest.raises(ImportError, match="cannot be loaded here"):
                results.next(timeout=10)
        assert pool.map(square, range(3)) == [0, 1, 4]


@needs_sigkill
def test_a_death_fails_only_the_running_chunk_and_reruns_those_lined_up(tmp_path):
    with Pool(2, context=QUICKEST_START_METHOD) as pool:
        items = list(range(30))
        results = pool.imap(_announce_item, [(str(tmp_path), n) for n in items], chunksize=1)
        first = results.next(timeout=10)
        deadline = time.monotonic() + 10
        while not any(p.name.isdigit() and int(p.name) != first[1] for p in tmp_path.iterdir()):
            assert time.monotonic() < deadline, "no second worker started"
            time.sleep(0.01)
        victim = next(int(p.name) for p in tmp_path.iterdir()
                      if p.name.isdigit() and int(p.name) != first[1])
        os.kill(victim, signal.SIGKILL)
        outcomes = [first]
        for _ in items[1:]:
            try:
                outcomes.append(results.next(timeout=10))
            except WorkerDied as error:
                outcomes.append(error)
    died = [o for o in outcomes if isinstance(o, WorkerDied)]
    assert len(died) == 1 and died[0].pid == victim
    assert sorted(o[0] for o in outcomes if not isinstance(o, WorkerDied)) == [
        n for n in items if n not in _lost(outcomes, items)
    ]


def _announce_item(pair):
    folder, item = pair
    return item, sign_in_and_sleep(folder, 0.03)


def _lost(outcomes, items):
    """The item whose place in the (ordered) results holds the WorkerDied error."""
    return [item for item, o in zip(items, outcomes, strict=True) if isinstance(o, WorkerDied)]


@pytest.mark.parametrize("limit", [1, 3])
def test_a_worker_gets_no_more_jobs_than_maxtasksperchild(limit):
    with Pool(1, maxtasksperchild=limit, context=QUICKEST_START_METHOD) as pool:
        since = now()
        assert pool.map(abs, range(-12, 0), chunksize=1) == list(range(12, 0, -1))
        pids = [r.pid for r in pool.records(since=since)]
    assert all(pids.count(pid) <= limit for pid in set(pids))
    assert len(set(pids)) == -(-12 // limit)
