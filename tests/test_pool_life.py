"""The pool's own life: dropped, broken, ended at exit; callbacks, slow starters, map, imap.

The points of issue 9 ("The pool's own life", "map, imap") and the invariants of issue 13.
Each test is a situation a learner meets in a notebook, run under every start method
where the start method can matter, with the standard library's behaviour beside ours
where it makes the point. Order and counts are asserted, never speed.
"""

from __future__ import annotations

import errno
import functools
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
from tests.conftest import QUICKEST_START_METHOD, ROOT, leak_snapshot
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
    # The stdlib's words, which CPython's own test_resource_warning looks for.
    unclosed = [w for w in caught if issubclass(w.category, ResourceWarning)
                and str(w.message).startswith("unclosed running multiprocessing pool")]
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


# -- a pool held only by its results ---------------------------------------------------------


def make_pool(pool_class, method):
    if pool_class is Pool:
        return Pool(2, context=method)
    return multiprocessing.get_context(method).Pool(2)


def take(results, count):
    return [results.next(timeout=WAIT) for _ in range(count)]


def iterate_an_unnamed_pool(make):
    results = make().imap(square, range(20))
    return take(results, 20), results


def get_from_an_unnamed_pool(make):
    result = make().map_async(square, range(20), chunksize=1)
    return result.get(timeout=WAIT), result


def drop_the_pool_mid_iteration(make):
    """As a notebook cell that rebinds ``pool`` while a loop still takes its results."""
    pool = make()
    results = pool.imap(square, range(20))
    taken = take(results, 1)
    pool = None
    gc.collect()
    return taken + take(results, 19), results


@pytest.mark.parametrize("use", [iterate_an_unnamed_pool, get_from_an_unnamed_pool,
                                 drop_the_pool_mid_iteration])
@pytest.mark.parametrize("pool_class", [Pool, multiprocessing.Pool], ids=["ours", "stdlib"])
def test_a_result_keeps_its_pool_alive(warmed_up, pool_class, use):
    """The stdlib's results hold their pool; ours did not, so the pool was finalised at
    once and every result failed with PoolTerminated. Once its results are in (an
    AsyncResult) or dropped (an iterator), the pool is truly dropped: it warns and ends."""
    before = leak_snapshot()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        values, result = use(functools.partial(make_pool, pool_class, warmed_up))
        assert values == [n * n for n in range(20)]
        del result
        gc.collect()
    # Python 3.12+ also warns (DeprecationWarning) when a pool forks beside its threads.
    warned = [str(w.message).split(" <")[0] for w in caught
              if issubclass(w.category, ResourceWarning)]
    del caught  # each warning holds its pool (its source), which the stdlib ends when freed
    assert warned == ["unclosed running multiprocessing pool"]
    assert wait_until(lambda: nothing_more_than(before), timeout=30), leak_snapshot()


def nothing_more_than(before):
    """No child left, and no more descriptors or threads than ``before``: an earlier test's
    pool may still have been ending then."""
    after = leak_snapshot()
    return not after.children and all(
        held is None or held <= then for held, then in zip(after, before, strict=True))


def test_a_pending_result_keeps_its_dropped_pool_until_it_is_settled(warmed_up):
    """Dropped with its pool, a result still running is not cut short; the pool warns
    and ends once nothing holds it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        done = threading.Event()
        Pool(2, context=warmed_up).apply_async(slow, (0.3, "late"),
                                               callback=lambda value: done.set())
        gc.collect()
        assert done.wait(WAIT)
        assert wait_until(lambda: collected_with_a_warning(caught), timeout=WAIT)


def collected_with_a_warning(caught):
    gc.collect()
    return any(issubclass(w.category, ResourceWarning) for w in caught)


# -- a pool inherited by a child made with os.fork() -----------------------------------------

FORKED_CHILDREN = """
import gc, os, sys, time, warnings
import psutil
from procsync_teach import Pool, PoolError
from tests.helpers import square

# Python 3.12+ warns at each os.fork() beside threads (the pool's own): that warning is
# not what this test looks for on stderr.
warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)

def cpu_time(thread_id):
    return next(t.user_time + t.system_time for t in psutil.Process().threads()
                if t.id == thread_id)

if __name__ == "__main__":
    pool = Pool(2, context=sys.argv[1])
    assert pool.apply(square, (3,)) == 9
    workers = [worker.pid for worker in pool._dispatcher._workers]
    codes = []
    for action in ("submit", "close", "drop", "exit"):
        child = os.fork()
        if child == 0:
            if action in ("submit", "close"):
                try:
                    pool.apply_async(square, (2,)) if action == "submit" else pool.close()
                except PoolError as error:
                    os._exit(7 if f"belongs to process {os.getppid()}" in str(error) else 1)
                os._exit(1)
            if action == "drop":
                del pool
                gc.collect()
                os._exit(0)
            sys.exit(0)  # the exit handler and the collector meet the inherited pool
        codes.append(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
    dispatcher = pool._dispatcher._thread.native_id
    before = cpu_time(dispatcher)
    time.sleep(2)
    busy = cpu_time(dispatcher) - before
    same_workers = workers == [worker.pid for worker in pool._dispatcher._workers]
    print(codes, busy < 0.5, same_workers, pool.map(square, range(4)), round(busy, 2))
    pool.close()
    pool.join()
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() exists only on POSIX")
def test_a_forked_child_refuses_the_inherited_pool_and_leaves_the_parents_alone(warmed_up):
    """Before, the child's submit, close, drop or exit wrote to the shared wake-up pipe,
    and the parent's idle dispatcher spun (3 s of CPU in 3 s; the stdlib's idle pool used
    none, as measured for the issue). And a child's sys.exit() let multiprocessing's exit
    handler SIGTERM the parent's workers (the stdlib's too), printing an AssertionError."""
    script = subprocess.run(
        [sys.executable, "-c", FORKED_CHILDREN, warmed_up], capture_output=True, text=True,
        encoding="utf-8", timeout=120, env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert script.returncode == 0, script.stderr
    *outcome, busy = script.stdout.split(" ")
    assert " ".join(outcome) == "[7, 7, 0, 0] True True [0, 1, 4, 9]", script.stdout
    assert script.stderr == ""


# -- the default number of workers ----------------------------------------------------------


@pytest.mark.parametrize("has_process_cpu_count", [True, False])
def test_the_default_size_is_the_cpus_this_process_may_use(monkeypatch, has_process_cpu_count):
    """As the stdlib on 3.13+: os.process_cpu_count() where Python has it, else cpu_count()."""
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    if has_process_cpu_count:
        monkeypatch.setattr(os, "process_cpu_count", lambda: 1, raising=False)
    else:
        monkeypatch.delattr(os, "process_cpu_count", raising=False)
    with Pool(context=QUICKEST_START_METHOD) as pool:
        assert pool.statistics().workers == (1 if has_process_cpu_count else 3)
        assert len(pool._dispatcher._workers) == (1 if has_process_cpu_count else 3)


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
        # Let the stdlib's workers end on their own before `with` terminates the pool: its
        # terminate() can kill a worker that holds the result queue's lock, and then waits
        # on that lock for ever (seen under small pipe buffers).
        pool.close()
        pool.join()
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
