"""The pool's own life: dropped, broken, ended at exit; callbacks, slow starters, map, imap.

The points of issue 9 ("The pool's own life", "map, imap") and the invariants of issue 13.
Each test is a situation a learner meets in a notebook, run under every start method
where the start method can matter, with the standard library's behaviour beside ours
where it makes the point. Order and counts are asserted, never speed.
"""

from __future__ import annotations

import errno
import gc
import itertools
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import warnings

import pytest

from procsync_teach import Pool, PoolBroken, PoolTerminated
from procsync_teach.chunks import feed_chunks
from procsync_teach.clock import now
from procsync_teach.course.sign_in import sign_in_and_sleep, signed_in
from procsync_teach.pool import IMAP_READ_AHEAD
from procsync_teach.results import IMapIterator
from tests import robust_helpers
from tests.conftest import ROOT, leak_snapshot
from tests.helpers import fail_on_three, slow, square
from tests.test_pool_robust import process_exists, wait_until

pytestmark = pytest.mark.timeout(120)

WAIT = 10.0  # the longest a single wait may take here before the test fails


# -- a pool dropped without close() -----------------------------------------------------------


def test_dropped_running_pools_are_finalised_with_a_resource_warning(warmed_up):
    """Re-running a cell ``pool = Pool(2)`` twenty times must not leave forty workers.

    The stdlib's pool, dropped while running, warns the same way and is terminated."""
    before = leak_snapshot()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(20):
            pool = Pool(2, context=warmed_up)
            assert pool.apply(square, (3,)) == 9
        del pool
        gc.collect()
    unclosed = [w for w in caught if issubclass(w.category, ResourceWarning)
                and "unclosed running pool" in str(w.message)]
    assert len(unclosed) == 20
    assert wait_until(lambda: leak_snapshot() == before, timeout=30), leak_snapshot()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        pool = multiprocessing.get_context(warmed_up).Pool(1)
        del pool
        gc.collect()
    assert any("unclosed running multiprocessing pool" in str(w.message) for w in caught)


def test_a_closed_pool_that_is_dropped_finishes_its_work_without_a_warning(warmed_up):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        pool = Pool(2, context=warmed_up)
        result = pool.map_async(slow, [0.1] * 4)
        pool.close()
        del pool
        gc.collect()
        assert result.get(timeout=WAIT) == [None] * 4
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


# -- a pool that cannot go on: BROKEN ------------------------------------------------------------


def stop_the_program(_value):
    raise SystemExit(2)


def test_a_callback_raising_system_exit_breaks_the_pool_and_every_result_says_why(
        warmed_up, tmp_path):
    """In the stdlib, SystemExit in a callback ends the result thread: every get() hangs."""
    with Pool(2, context=warmed_up) as pool:
        running = pool.apply_async(sign_in_and_sleep, (tmp_path, 30))
        signed_in(tmp_path, timeout=WAIT)
        pool.apply_async(square, (2,), callback=stop_the_program)
        with pytest.raises(PoolBroken, match="callback.*SystemExit") as broken:
            running.get(timeout=WAIT)
        assert isinstance(broken.value.__cause__, SystemExit)
        later = pool.apply_async(square, (3,))
        assert later.ready()  # settled at once
        with pytest.raises(PoolBroken, match="SystemExit"):
            later.get(timeout=0)
        with pytest.raises(PoolBroken, match="SystemExit"):
            pool.map(square, range(4))
        assert pool.statistics().state == "BROKEN"
        assert "state=BROKEN" in repr(pool) and "SystemExit" in repr(pool)


def test_a_replacement_worker_that_cannot_start_breaks_the_pool(warmed_up, tmp_path, capfd):
    """As when the process is out of file descriptors. The clean-up must not crash on the
    dead worker's closed process object."""
    before = leak_snapshot()
    pool = Pool(2, context=warmed_up)
    try:
        running = pool.apply_async(sign_in_and_sleep, (tmp_path, 30))
        [busy] = signed_in(tmp_path, timeout=WAIT)

        def out_of_descriptors(slot):
            raise OSError(errno.EMFILE, "Too many open files")

        pool._dispatcher._start_worker = out_of_descriptors
        [idle] = [child.pid for child in multiprocessing.active_children() if child.pid != busy]
        os.kill(idle, 9)
        with pytest.raises(PoolBroken, match="Too many open files"):
            running.get(timeout=WAIT)
        assert "Too many open files" in repr(pool)
        with pytest.raises(PoolBroken):
            pool.apply(square, (2,))
    finally:
        pool.terminate()
        pool.join()
    assert "process object is closed" not in capfd.readouterr().err
    assert leak_snapshot() == before


# -- the end of the program -----------------------------------------------------------------------

EXITS = """
import sys
import procsync_teach
from tests.helpers import slow, square

terminated = procsync_teach.Pool(2, context=sys.argv[1])
terminated.apply_async(slow, (30,))
terminated.terminate()
with procsync_teach.Pool(2, context=sys.argv[1]) as left:
    left.apply_async(slow, (30,))
dropped = procsync_teach.Pool(2, context=sys.argv[1])
dropped.apply_async(square, (2,), callback=lambda value: dropped.terminate())
running = procsync_teach.Pool(2, context=sys.argv[1])
running.apply_async(slow, (30,))
print(running.map(square, range(3)))
"""


def test_nothing_is_printed_at_interpreter_exit(start_method):
    """Neither "Exception ignored in atexit callback" nor anything else."""
    script = subprocess.run(
        [sys.executable, "-c", EXITS, start_method], capture_output=True, text=True,
        encoding="utf-8", timeout=60, env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert (script.returncode, script.stdout, script.stderr) == (0, "[0, 1, 4]\n", "")


# -- callbacks ------------------------------------------------------------------------------------


def test_a_slow_callback_does_not_idle_the_workers(warmed_up):
    """Tasks go on finishing while one callback sleeps, as in the stdlib, whose callbacks
    run on its result thread. When the dispatcher ran callbacks, at most one task per
    worker could finish meanwhile."""
    callback_ran = []

    def slow_callback(_value):
        callback_ran.append(now())
        time.sleep(1.0)
        callback_ran.append(now())

    with Pool(2, context=warmed_up) as pool:
        start = now()
        first = pool.apply_async(slow, (0.1,), callback=slow_callback)
        others = [pool.apply_async(slow, (0.1,)) for _ in range(19)]
        assert [result.get(timeout=WAIT) for result in [first, *others]] == [None] * 20
        records = pool.records(since=start)
    began, ended = callback_ran
    finished_meanwhile = [r for r in records if began < r.finished < ended]
    assert len(finished_meanwhile) >= 5, len(finished_meanwhile)


def test_callbacks_run_one_at_a_time_in_the_order_results_came(warmed_up):
    seen = []
    with Pool(2, context=warmed_up) as pool:
        results = [pool.apply_async(square, (n,), callback=seen.append) for n in range(50)]
        for result in results:
            result.wait(WAIT)
        settled = [record.task for record in pool.records()]  # task n squares n
    assert sorted(settled) == list(range(50))
    assert seen == [task * task for task in settled]


# -- a worker still in its initializer ----------------------------------------------------------


def test_a_large_job_never_goes_to_a_worker_still_in_its_initializer(warmed_up, tmp_path):
    """A 4 MB argument sent to a worker that is not reading yet would block the sender,
    and with it every other worker's results, for the whole initializer."""
    pool = Pool(2, initializer=robust_helpers.sleep_unless_first, initargs=(tmp_path, 30),
                context=warmed_up)
    try:
        large = pool.apply_async(len, (b"x" * (4 * 2**20),))
        quick = [pool.apply_async(square, (n,)) for n in range(10)]
        assert large.get(timeout=WAIT) == 4 * 2**20
        assert [result.get(timeout=WAIT) for result in quick] == [n * n for n in range(10)]
        assert pool.statistics().workers == 2  # the other is still in its initializer
    finally:
        pool.terminate()


# -- map -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pool_class", [Pool, multiprocessing.Pool], ids=["ours", "stdlib"])
def test_map_raises_only_once_every_chunk_has_finished(warmed_up, tmp_path, pool_class):
    """As the stdlib does since 3.8: no chunk is still running when map() raises (and a
    ``with`` block's terminate() would kill it mid-work)."""
    context = multiprocessing.get_context(warmed_up)
    pool = pool_class(2, context=context) if pool_class is Pool else context.Pool(2)
    with pool:
        jobs = [(str(tmp_path), item) for item in range(4)]
        with pytest.raises(ValueError, match="item 0 fails at once"):
            pool.map_async(robust_helpers.fail_at_once_or_finish_slowly, jobs,
                           chunksize=1).get(WAIT)
        assert sorted(path.name for path in tmp_path.iterdir()) == ["1", "2", "3"]


def test_map_async_over_nothing_calls_no_callback_as_in_the_stdlib(warmed_up):
    for pool_class in (Pool, multiprocessing.get_context(warmed_up).Pool):
        called = []
        with pool_class(1) as pool:
            result = pool.map_async(square, [], callback=called.append)
            assert result.get(timeout=WAIT) == []
        assert called == [], pool_class


def test_kwds_that_are_not_a_mapping_are_a_type_error(warmed_up):
    """The stdlib raises TypeError too, from get(); ours in the caller, at once."""
    with Pool(1, context=warmed_up) as pool:
        with pytest.raises(TypeError, match="kwds must be a mapping"):
            pool.apply_async(square, (2,), kwds=[("x", 1)])
    with multiprocessing.get_context(warmed_up).Pool(1) as pool:
        with pytest.raises(TypeError, match="must be a mapping"):
            pool.apply_async(square, (2,), kwds=[("x", 1)]).get(WAIT)


# -- imap ------------------------------------------------------------------------------------------


def test_imap_reads_a_bounded_amount_ahead_of_a_slow_consumer(warmed_up):
    read = itertools.count()

    def endless():
        while True:
            yield next(read)

    with Pool(2, context=warmed_up) as pool:
        results = pool.imap(square, endless(), chunksize=3)
        for n in range(20):
            assert results.next(timeout=WAIT) == n * n
            time.sleep(0.01)
        time.sleep(0.5)  # time enough to read far ahead, if it would
        ahead = next(read) - 20
    assert ahead <= IMAP_READ_AHEAD * 2 * 3 + 3, ahead


def test_a_feeder_stopped_by_the_pool_does_not_end_the_input():
    """terminate() while the feeder is between two chunks: the results already in come
    out, then PoolTerminated, not StopIteration (the input had more; the pool ended)."""
    result = IMapIterator(ordered=True, chunksize=1, read_ahead=10)
    submitted = []

    def submit(chunk, first):
        submitted.append(chunk[0])
        if first == 2:  # terminate() comes now, before the feeder reads on
            result._stop(PoolTerminated("the pool was terminated"))
        return True

    feed_chunks(iter(range(10)), 1, result, submit)
    for position, item in enumerate(submitted):
        result._settle_job(position, 1, True, [item * item])
    assert [result.next(timeout=WAIT) for _ in range(3)] == [0, 1, 4]
    with pytest.raises(PoolTerminated):
        result.next(timeout=WAIT)


def test_imap_raises_pool_terminated_at_once_while_its_input_blocks(warmed_up):
    go_on = threading.Event()

    def three_then_block():
        yield from range(3)
        go_on.wait(60)

    try:
        with Pool(2, context=warmed_up) as pool:
            results = pool.imap(square, three_then_block())
            assert [results.next(timeout=WAIT) for _ in range(3)] == [0, 1, 4]
            pool.terminate()
            with pytest.raises(PoolTerminated):
                results.next(timeout=WAIT)
    finally:
        go_on.set()


@pytest.mark.parametrize("chunksize", [1, 2])
@pytest.mark.parametrize("method", ["imap", "imap_unordered"])
def test_a_failed_chunk_ends_imap_as_in_the_stdlib(warmed_up, method, chunksize):
    """With chunksize 1 the stdlib raises for the failed item and goes on; with a larger
    chunksize the failed chunk raises once and the iteration ends."""

    def outcomes(pool):
        results, seen = getattr(pool, method)(fail_on_three, range(8), chunksize=chunksize), []
        while len(seen) < 10:
            try:
                seen.append(next(results))  # the stdlib's chunked imap is a generator
            except StopIteration:
                break
            except ValueError:
                seen.append("error")
        return seen

    with Pool(2, context=warmed_up) as pool:
        ours = outcomes(pool)
    with multiprocessing.get_context(warmed_up).Pool(2) as pool:
        theirs = outcomes(pool)
    assert ours.count("error") == theirs.count("error") == 1
    if method == "imap":
        assert ours == theirs
    elif chunksize > 1:  # the results before the failed chunk depend on who finished first
        assert ours[-1] == theirs[-1] == "error"
    else:
        assert sorted(map(str, ours)) == sorted(map(str, theirs))


# -- a task that forks ----------------------------------------------------------------------------


def test_a_child_forked_by_a_task_never_answers_for_the_worker(warmed_up):
    """The child ends with sys.exit(); it must not reply on the worker's pipe, take its
    jobs, or outlive terminate()."""
    with Pool(2, context=warmed_up) as pool:
        workers = {child.pid for child in multiprocessing.active_children()}
        outcomes = pool.map_async(robust_helpers.fork_a_child_that_exits, [3] * 6,
                                  chunksize=1).get(WAIT)
        assert [code for _, code in outcomes] == [3] * 6
        assert pool.map_async(square, range(20)).get(WAIT) == [n * n for n in range(20)]
        assert pool.statistics().workers == 2
        assert {child.pid for child in multiprocessing.active_children()} >= workers
    assert not any(process_exists(child) for child, _ in outcomes)


# -- invariants (issue 13) -----------------------------------------------------------------------


def test_the_invariants_hold_in_the_middle_of_a_busy_map(warmed_up):
    """Every job in exactly one place, replies in order, bytes_held right: the dispatcher
    checks them every round, and a violation would break the pool."""
    with Pool(2, context=warmed_up) as pool:
        pool._dispatcher.check_invariants = True
        mapped = pool.map_async(square, range(3000), chunksize=1)
        singles = [pool.apply_async(square, (n,)) for n in range(200)]
        snapshots = []
        while not mapped.ready():
            snapshots.append(pool.statistics())
            time.sleep(0.001)
        assert mapped.get(WAIT) == [n * n for n in range(3000)]
        assert [result.get(WAIT) for result in singles] == [n * n for n in range(200)]
        assert pool.statistics().state == "RUN"
    assert snapshots
    for snapshot in snapshots:
        assert snapshot.submitted == (snapshot.waiting + snapshot.busy + snapshot.lined_up
                                      + snapshot.settled)
        assert snapshot.busy <= snapshot.workers == 2


def test_a_broken_invariant_breaks_the_pool_and_says_which(warmed_up):
    with Pool(2, context=warmed_up) as pool:
        assert pool.map(square, range(10)) == [n * n for n in range(10)]
        pool._dispatcher.check_invariants = True
        pool._dispatcher._workers[0].bytes_held += 1  # as a bug would
        with pytest.raises(PoolBroken, match="bytes_held"):
            pool.map(square, range(10))
        assert "bytes_held" in repr(pool)


def test_join_ends_the_pool_and_says_so(warmed_up):
    pool = Pool(2, context=warmed_up)
    assert not pool.statistics().ended
    pool.close()
    pool.join()
    stats = pool.statistics()
    assert (stats.state, stats.workers, stats.ended) == ("CLOSE", 0, True)
    assert repr(pool) == "<procsync_teach.Pool state=CLOSE, ended: no worker left>"
