"""procsync_teach.cluster.Pool: the Pool's scenarios on a Dask cluster, and what Dask adds.

The parity scenarios of ``tests/test_pool_parity.py`` run here unchanged against a
``cluster.Pool`` (imported, not copied: the fixtures below give them this pool). Where
``procsync_teach.Pool`` differs from ``multiprocessing.Pool`` (it pickles in the caller,
it refuses ``chunksize=0``), the cluster's Pool behaves as ``procsync_teach.Pool``, so
``implementation`` says "procsync_teach" to those tests. The Lock and start-method
scenarios do not apply: a Dask cluster starts its own workers. The initializer runs as
a Dask worker plugin; ``maxtasksperchild`` is refused (see ``cluster.Pool``), so its
scenario is not imported: the test below says so.

The scenarios that leave the pool running share one LocalCluster (starting one takes
about a second); the lifecycle ones and those that kill workers start their own.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from multiprocessing import resource_tracker

import dask
import distributed
import psutil
import pytest

from procsync_teach import PoolBroken, PoolError, PoolTerminated, WorkerDied, cluster, now
from procsync_teach.course.sign_in import sign_in_and_sleep, signed_in
from tests import helpers, robust_helpers
from tests.helpers import slow, square, worker_pid
from tests.test_pool_parity import (  # noqa: F401 - collected here, run against cluster.Pool
    test_a_pool_cannot_be_pickled,
    test_apply_async_runs_the_callback_before_get_returns,
    test_apply_returns_the_value,
    test_chunksize_zero_is_refused,
    test_close_finishes_queued_work_then_refuses_more,
    test_failed_result_is_not_successful_and_raises_every_time,
    test_get_with_timeout_raises_multiprocessing_timeout_error,
    test_imap_next_with_timeout_raises_multiprocessing_timeout_error,
    test_imap_raises_a_failed_item_in_its_turn_and_goes_on,
    test_imap_returns_before_its_input_is_exhausted,
    test_imap_unordered_yields_every_result,
    test_imap_yields_in_input_order,
    test_initializer_must_be_callable,
    test_initializer_runs_in_every_worker_with_initargs,
    test_join_of_a_running_pool_raises_value_error,
    test_map_async_callback_gets_the_whole_list,
    test_map_async_error_callback_gets_the_exception,
    test_map_of_nothing_is_an_empty_list,
    test_map_raises_the_error_of_a_failing_item,
    test_map_returns_results_in_input_order,
    test_map_takes_a_generator,
    test_map_with_explicit_chunksize,
    test_maxtasksperchild_must_be_a_positive_int,
    test_non_callable_task_is_a_type_error,
    test_pool_needs_at_least_one_process,
    test_starmap_async_callback_gets_the_whole_list,
    test_starmap_unpacks_each_tuple,
    test_successful_before_ready_raises_value_error,
    test_task_error_has_its_type_and_the_worker_traceback_as_cause,
    test_unpicklable_argument_raises_the_pickling_error,
    test_unpicklable_result_raises_maybe_encoding_error,
    test_with_block_gives_the_pool_and_ends_it,
)

pytestmark = pytest.mark.timeout(60)

WAIT = 20.0  # a retried task waits for a worker to be replaced: generous, never endless


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory):
    """A LocalCluster of two single-threaded workers, on loopback, for the whole module;
    its scratch space in a folder of pytest's, not in the machine's temporary folder."""
    scratch = str(tmp_path_factory.mktemp("dask"))
    with dask.config.set({"temporary-directory": scratch}):
        local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                         dashboard_address="127.0.0.1:0")
    with local:
        yield local


@pytest.fixture(scope="module")
def client(shared_cluster):
    with distributed.Client(shared_cluster, set_as_default=False) as connected:
        yield connected


@pytest.fixture(scope="module")
def implementation() -> str:
    return "procsync_teach"  # the branch of the parity tests this Pool takes: see above


@pytest.fixture(scope="module")
def pool(client):
    """A cluster Pool on the shared cluster, shared by the tests that leave it running."""
    shared = cluster.Pool(client=client)
    yield shared
    shared.terminate()
    shared.join()


@pytest.fixture
def make_pool():
    """Make Pools with clusters of their own; terminated and joined after the test."""
    made = []

    def make(*args, **kwargs):
        made.append(cluster.Pool(*args, **kwargs))
        return made[-1]

    yield make
    for each in made:
        each.terminate()
        each.join()


def what_runs_here() -> tuple[set[int], set[tuple[str, int]]]:
    """The pids of this process's descendants, and every address any of us listens on."""
    # multiprocessing's resource tracker (POSIX), started by the first cluster's workers,
    # stays for good: started now, it is there before and after, whichever test runs first.
    if os.name == "posix":
        resource_tracker.ensure_running()
    family = [psutil.Process(), *psutil.Process().children(recursive=True)]
    listening = set()
    for process in family:
        try:
            connections = process.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        listening |= {tuple(c.laddr) for c in connections if c.status == psutil.CONN_LISTEN}
    return {process.pid for process in family[1:]}, listening


def wait_for_files(directory: str, count: int) -> list[str]:
    """The names of the files in ``directory`` once there are ``count`` of them."""
    deadline = time.monotonic() + WAIT
    while len(os.listdir(directory)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} tasks started"
        time.sleep(0.02)
    return os.listdir(directory)


# -- what Dask adds: retries, and records of each attempt ----------------------------------


def test_a_killed_workers_task_is_retried_and_records_show_both_attempts(make_pool):
    pool = make_pool(2)
    with tempfile.TemporaryDirectory() as directory:
        result = pool.apply_async(sign_in_and_sleep, (directory, 1.0))
        [victim] = signed_in(directory, timeout=WAIT)
        os.kill(victim, signal.SIGKILL)
        survivor = result.get(timeout=WAIT)  # procsync_teach.Pool would raise WorkerDied
    assert survivor != victim
    attempts = pool.records()
    assert [(record.pid, record.outcome) for record in attempts] == [
        (victim, "worker died"), (survivor, "ok")]
    assert attempts[0].finished <= attempts[1].started
    assert attempts[0].submitted == attempts[1].submitted


def test_a_task_that_kills_every_worker_ends_in_worker_died(make_pool):
    # The scheduler gives up after allowed-failures + 1 workers died under a task (3 + 1 by
    # default); 1 here keeps the test short: two workers die, then the task fails.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        pool = make_pool(2)
    with pytest.raises(WorkerDied, match="probably kills its worker") as raised:
        pool.apply(robust_helpers.kill_own_process)
    assert isinstance(raised.value.__cause__, distributed.KilledWorker)
    assert [record.outcome for record in pool.records()] == ["worker died"] * 2
    assert pool.apply(square, (3,)) == 9  # the replaced workers serve on


# -- the end: owned clusters stop, others go on -----------------------------------------------


@pytest.mark.timeout(400)
def test_terminate_stops_an_owned_cluster_now_and_leaves_nothing_behind():
    before = what_runs_here()
    pool = cluster.Pool(2)
    running = pool.apply_async(slow, (600, "never"))
    queued = pool.map_async(slow, [600] * 4)
    started = time.monotonic()
    time.sleep(0.5)
    pool.terminate()
    pool.join()
    for result in (running, queued):
        with pytest.raises(PoolTerminated):
            result.get(timeout=0)
    # Not the ten minutes the tasks would take; stopping a cluster on a busy machine can
    # take half a minute.
    assert time.monotonic() - started < 300
    assert what_runs_here() == before  # no worker, nanny, or listening port left


def test_with_block_on_an_owned_cluster_leaves_nothing_behind():
    before = what_runs_here()
    with cluster.Pool(2) as pool:
        during = what_runs_here()
        assert pool.map(square, range(5)) == [0, 1, 4, 9, 16]
    assert len(during[0] - before[0]) >= 2  # the workers were separate processes
    assert {host for host, _ in during[1] - before[1]} == {"127.0.0.1"}  # loopback only
    assert what_runs_here() == before


def test_close_and_join_on_an_owned_cluster_leave_nothing_behind(tmp_path, monkeypatch):
    # Dask's workers leave a dask-scratch-space with lock files in the temporary folder
    # (or in the working folder, as their configuration says): here, both are tmp_path.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = what_runs_here()
    pool = cluster.Pool(1)
    result = pool.map_async(square, range(5))
    pool.close()
    pool.join()
    assert result.get(timeout=0) == [0, 1, 4, 9, 16]
    assert what_runs_here() == before
    assert os.listdir(tmp_path) == []


def test_terminate_on_a_cluster_it_does_not_own_cancels_only_what_has_not_started(
        shared_cluster, client):
    pids = client.run(os.getpid)
    pool = cluster.Pool(address=shared_cluster.scheduler_address)
    with tempfile.TemporaryDirectory() as directory:
        results = [pool.apply_async(robust_helpers.mark_and_sleep, (directory, n, 1.0))
                   for n in range(6)]
        wait_for_files(directory, 2)  # one task running on each of the two workers
        pool.terminate()
        pool.join()
        for result in results:
            with pytest.raises(PoolTerminated):
                result.get(timeout=0)
        time.sleep(1.5)  # long enough for a task that was not cancelled to start
        assert len(os.listdir(directory)) == 2
    assert client.run(os.getpid) == pids  # the cluster and its workers go on
    assert client.submit(square, 4).result(timeout=WAIT) == 16


def test_a_timeout_is_the_courses_not_dasks(pool):
    result = pool.apply_async(slow, (0.3, "late"))
    with pytest.raises(multiprocessing.TimeoutError):
        result.get(timeout=0.05)
    assert result.get(timeout=WAIT) == "late"


def test_map_sends_one_task_per_chunk(pool, client):
    since = now()
    assert pool.map(square, range(1001)) == [x * x for x in range(1001)]
    calls = sorted((record.calls for record in pool.records(since=since)), reverse=True)
    # 1001 items, 2 workers: divmod(1001, 4 * 2) is (125, 1), and the remainder makes the
    # chunks one longer (as the stdlib's): 8 chunks, not 9.
    assert calls == [126] * 7 + [119]


def test_processes_address_and_client_exclude_each_other(client):
    with pytest.raises(ValueError, match="not several"):
        cluster.Pool(2, client=client)
    with pytest.raises(ValueError, match="context is for the Pool's own cluster"):
        cluster.Pool(context="spawn", client=client)


def test_a_task_that_cannot_reach_the_cluster_still_settles(shared_cluster):
    client = distributed.Client(shared_cluster, set_as_default=False)
    pool = cluster.Pool(client=client)
    client.close()  # the cluster is out of reach: a submitted task must not wait forever
    result = pool.apply_async(square, (3,))
    with pytest.raises(PoolError, match="could not be sent to the cluster"):
        result.get(timeout=WAIT)
    pool.terminate()
    pool.join()


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT} s: {what}"
        time.sleep(0.05)


# -- the stdlib's signature: initializer, initargs, maxtasksperchild, context -----------------


def test_the_initializer_runs_on_a_replacement_worker_too(make_pool):
    pool = make_pool(1, initializer=helpers.remember, initargs=("ready", 1))
    first = pool.apply(worker_pid)
    os.kill(first, signal.SIGKILL)  # its nanny starts another worker in its place
    assert pool.apply_async(helpers.remembered).get(timeout=WAIT) == ("ready", 1)
    assert pool.apply_async(worker_pid).get(timeout=WAIT) != first


def test_two_pools_on_one_cluster_each_see_their_own_initializer(client):
    """Both initializers run on every worker, and set the same global: before each task,
    a worker runs its Pool's initializer again if the other Pool's ran since."""
    first = cluster.Pool(client=client, initializer=helpers.remember, initargs=("first",))
    second = cluster.Pool(client=client, initializer=helpers.remember, initargs=("second",))
    for _ in range(2):
        assert first.map(helpers.remembered, range(4), chunksize=1) == [("first",)] * 4
        assert second.map(helpers.remembered, range(4), chunksize=1) == [("second",)] * 4
    for pool in (first, second):
        pool.terminate()
        pool.join()

    def plugins(dask_scheduler):
        return list(dask_scheduler.worker_plugins)

    assert not any(name.startswith("procsync") for name in client.run_on_scheduler(plugins))


def test_an_initializer_that_fails_refuses_the_pool_and_leaves_nothing_behind():
    before = what_runs_here()
    with pytest.raises(PoolBroken, match="initializer raised.*no database"):
        cluster.Pool(1, initializer=robust_helpers.fail_to_initialize)
    assert what_runs_here() == before


def test_maxtasksperchild_is_refused_saying_why():
    """multiprocessing replaces a worker after that many tasks; a Dask worker holds the
    results of its tasks until they are fetched, so this Pool refuses instead."""
    with pytest.raises(NotImplementedError, match="results of its tasks"):
        cluster.Pool(1, maxtasksperchild=2)


@pytest.mark.skipif("forkserver" not in multiprocessing.get_all_start_methods(),
                    reason="only forkserver starts the workers from another process than "
                           "this one, and this platform has no forkserver")
def test_context_is_how_the_owned_clusters_workers_start(make_pool):
    # Under spawn (Dask's default) the nannies, in this process, start the workers; under
    # forkserver the fork server does.
    assert make_pool(1, context="forkserver").apply(os.getppid) != os.getpid()


def test_an_unknown_context_is_refused():
    with pytest.raises(ValueError, match="context"):
        cluster.Pool(1, context="no such method")


# -- the collector and the callbacks never stop serving ------------------------------------


def test_a_reply_that_cannot_be_unpickled_fails_its_task_and_the_pool_goes_on(pool):
    """Both pools of the stdlib's kind lost their result thread to it: every get() hung."""
    failing = pool.apply_async(robust_helpers.raise_unloadable_error)
    with pytest.raises(PoolError, match="could not be unpickled.*NeedsTwoArguments"):
        failing.get(timeout=WAIT)
    assert pool.map_async(square, range(20)).get(timeout=WAIT) == [x * x for x in range(20)]


def stop_the_program(_value):
    raise SystemExit(2)


def test_a_callback_raising_system_exit_breaks_the_pool_and_every_result_says_why(client):
    """As procsync_teach.Pool does (tests/test_pool_life.py); here an imap is stopped too."""
    pool = cluster.Pool(client=client)
    test_over = threading.Event()

    def items():  # an input that ends only with the test
        test_over.wait(3 * WAIT)
        yield from ()

    running = pool.apply_async(slow, (2, "late"))  # still running when the callback raises
    waiting = pool.imap(square, items())
    pool.apply_async(square, (2,), callback=stop_the_program)
    for result in (running, waiting):
        with pytest.raises(PoolBroken, match="callback.*SystemExit") as broken:
            result.next(timeout=WAIT) if result is waiting else result.get(timeout=WAIT)
        assert isinstance(broken.value.__cause__, SystemExit)
    assert pool.apply_async(square, (3,)).ready()  # a later one is settled at once, failed
    assert "state=BROKEN" in repr(pool) and "SystemExit" in repr(pool)
    test_over.set()
    pool.terminate()
    pool.join()
    told = []  # the callback thread has ended: a callback runs in the caller's thread
    assert pool.apply_async(square, (4,), error_callback=told.append).ready()
    assert [type(error) for error in told] == [PoolBroken]


def test_a_callback_may_use_the_pool_even_close_and_join_it(client):
    """Callbacks run on a thread of their own, as in procsync_teach.Pool: the collector
    goes on settling what they wait for."""
    pool = cluster.Pool(client=client)
    seen = []

    def callback(value):
        seen.append(pool.apply(square, (value,)))
        pool.close()
        pool.join()
        seen.append("joined")

    assert pool.apply_async(square, (3,), callback=callback).get(timeout=WAIT) == 9
    assert seen == [81, "joined"]
    pool.join()


# -- the end of a Pool: dropped, terminated, closed --------------------------------------------


def test_a_dropped_pool_warns_and_stops_its_cluster_once_its_results_are_in(client):
    """A pending result and a live imap keep their Pool alive, as the stdlib's do."""
    before = what_runs_here()
    with pytest.warns(ResourceWarning, match="unclosed running multiprocessing pool") as caught:
        assert cluster.Pool(1).map_async(slow, [0.2] * 3).get(timeout=WAIT) == [None] * 3
        assert list(cluster.Pool(client=client).imap(square, range(4))) == [0, 1, 4, 9]
        gc.collect()
        # Each warns on its collector thread, as the last reference to it goes.
        wait_until(lambda: len([w for w in caught if w.category is ResourceWarning]) == 2,
                   "both dropped pools warned")
        wait_until(lambda: what_runs_here() == before, "the dropped pool's cluster stopped")


def test_terminate_stops_an_imap_whose_input_blocks(client):
    pool = cluster.Pool(client=client)
    go_on = threading.Event()

    def items():
        yield 1
        go_on.wait(3 * WAIT)  # longer than next() waits: only terminate() can end that wait
        yield 2

    results = pool.imap(square, items())
    assert results.next(timeout=WAIT) == 1
    pool.terminate()
    with pytest.raises(PoolTerminated):
        results.next(timeout=WAIT)
    go_on.set()
    pool.join()


def test_close_and_join_wait_for_an_imap_whose_input_is_still_being_read(client):
    pool = cluster.Pool(client=client)

    def items():
        for number in range(4):
            time.sleep(0.2)
            yield number

    results = pool.imap(square, items())
    pool.close()
    pool.join()
    assert [results.next(timeout=0) for _ in range(4)] == [0, 1, 4, 9]  # all in already
    with pytest.raises(StopIteration):
        results.next(timeout=0)
