"""procsync_teach.Pool against multiprocessing.Pool: the same calls, the same answers.

Every test runs on both pools (``implementation``) under every start method, and asserts
what the standard library does: the same results, the same exception types, the same
messages where the stdlib's message means something. Where ours deliberately differs
(it pickles in the caller, so some errors come from the submitting call instead of from
``get()``; it refuses ``map(..., chunksize=0)``), the test says so and asserts each.

Tests that leave the pool running share one pool per implementation and start method
(``pool``); tests that close or break a pool make their own (``make_pool``).
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from multiprocessing.pool import MaybeEncodingError

import pytest

import procsync_teach
from tests import helpers
from tests.helpers import square

pytestmark = pytest.mark.timeout(120)

IMPLEMENTATIONS = ["multiprocessing", "procsync_teach"]
WAIT = 10.0  # every get() and next() waits at most this long: a hang fails, never stalls


def new_pool(implementation: str, start_method: str, *args, **kwargs):
    if implementation == "procsync_teach":
        return procsync_teach.Pool(*args, context=start_method, **kwargs)
    return multiprocessing.get_context(start_method).Pool(*args, **kwargs)


@pytest.fixture(scope="module", params=IMPLEMENTATIONS, ids=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def pool(implementation, start_method):
    """A pool of two workers, shared by the tests that leave it running."""
    shared = new_pool(implementation, start_method, 2)
    yield shared
    shared.terminate()
    shared.join()


@pytest.fixture
def make_pool(implementation, start_method):
    """Make a pool of this test's own; it is terminated and joined after the test."""
    made = []

    def make(*args, **kwargs):
        made.append(new_pool(implementation, start_method, *args, **kwargs))
        return made[-1]

    yield make
    for each in made:
        each.terminate()
        each.join()


def take(iterator, count: int) -> list:
    """The next ``count`` items of an imap iterator, each awaited at most WAIT seconds."""
    return [iterator.next(timeout=WAIT) for _ in range(count)]


def assert_exhausted(iterator) -> None:
    with pytest.raises(StopIteration):
        iterator.next(timeout=WAIT)


# -- results ----------------------------------------------------------------------------


def test_apply_returns_the_value(pool):
    assert pool.apply(helpers.add, (2, 3)) == 5
    assert pool.apply(helpers.add, (2,), {"b": 40}) == 42


def test_apply_async_runs_the_callback_before_get_returns(pool):
    seen = []
    result = pool.apply_async(square, (7,), callback=seen.append)
    assert result.get(timeout=WAIT) == 49
    assert seen == [49]
    assert result.ready() and result.successful()


def test_map_returns_results_in_input_order(pool):
    assert pool.map(square, range(10)) == [x * x for x in range(10)]
    assert pool.map(square, range(1000)) == [x * x for x in range(1000)]


def test_map_of_nothing_is_an_empty_list(pool):
    assert pool.map(square, []) == []
    assert pool.map_async(square, []).get(timeout=WAIT) == []


def test_map_takes_a_generator(pool):
    assert pool.map(square, (x for x in range(5))) == [0, 1, 4, 9, 16]


def test_map_with_explicit_chunksize(pool):
    assert pool.map(square, range(10), chunksize=3) == [x * x for x in range(10)]
    assert pool.map(square, range(10), chunksize=100) == [x * x for x in range(10)]


def test_map_async_callback_gets_the_whole_list(pool):
    seen = []
    result = pool.map_async(square, range(4), callback=seen.append)
    assert result.get(timeout=WAIT) == [0, 1, 4, 9]
    assert seen == [[0, 1, 4, 9]]


def test_map_async_error_callback_gets_the_exception(pool):
    seen, errors = [], []
    result = pool.map_async(
        helpers.fail_on_three, range(6), callback=seen.append, error_callback=errors.append
    )
    with pytest.raises(ValueError, match="raise_value_error got 3"):
        result.get(timeout=WAIT)
    assert seen == []
    assert [type(error) for error in errors] == [ValueError]
    assert result.ready() and not result.successful()


def test_imap_yields_in_input_order(pool):
    # The first items sleep longest, so later ones finish first; imap still keeps order.
    delays = [0.2, 0.1, 0.0, 0.0]
    iterator = pool.imap(helpers.sleep_for, delays)
    assert take(iterator, 4) == delays
    assert_exhausted(iterator)
    # With chunksize > 1 the stdlib returns a plain generator, without next(timeout).
    assert list(pool.imap(square, range(10), chunksize=3)) == [x * x for x in range(10)]


def test_imap_unordered_yields_every_result(pool):
    """Every result, each once; sorted, since their order is any. That each comes as it
    finishes is pinned by test_pool_contract.py."""
    iterator = pool.imap_unordered(square, range(10))
    assert sorted(take(iterator, 10)) == [x * x for x in range(10)]
    assert_exhausted(iterator)
    assert sorted(pool.imap_unordered(square, range(10), chunksize=4)) == [x * x for x in range(10)]


def test_imap_returns_before_its_input_is_exhausted(pool):
    # imap is "a lazier version of map": results come while the input is still being
    # produced (the stdlib reads it in a thread), so a generator can wait for a result.
    first_result_seen = threading.Event()
    waited_in_vain = []

    def items():
        yield 1
        waited_in_vain.append(not first_result_seen.wait(2.0))
        yield 2

    iterator = pool.imap(square, items())
    assert iterator.next(timeout=WAIT) == 1
    first_result_seen.set()
    assert take(iterator, 1) == [4]
    assert waited_in_vain == [False], "imap() read all its input before returning"


def test_imap_raises_a_failed_item_in_its_turn_and_goes_on(pool):
    iterator = pool.imap(helpers.fail_on_three, range(5))
    assert take(iterator, 3) == [0, 1, 2]
    with pytest.raises(ValueError, match="raise_value_error got 3"):
        iterator.next(timeout=WAIT)
    assert take(iterator, 1) == [4]
    assert_exhausted(iterator)


def test_imap_next_with_timeout_raises_multiprocessing_timeout_error(pool):
    iterator = pool.imap(helpers.sleep_for, [0.3])
    with pytest.raises(multiprocessing.TimeoutError):
        iterator.next(timeout=0.05)
    assert take(iterator, 1) == [0.3]


def test_starmap_unpacks_each_tuple(pool):
    assert pool.starmap(helpers.add, [(1, 2), (3, 4)]) == [3, 7]
    assert pool.starmap(helpers.add, []) == []
    assert pool.starmap(helpers.add, [(x, x) for x in range(9)], chunksize=2) == [
        2 * x for x in range(9)
    ]


def test_starmap_async_callback_gets_the_whole_list(pool):
    seen = []
    result = pool.starmap_async(helpers.add, [(1, 2), ("a", "b")], callback=seen.append)
    assert result.get(timeout=WAIT) == [3, "ab"]
    assert seen == [[3, "ab"]]


# -- errors a task raises -----------------------------------------------------------------


def test_task_error_has_its_type_and_the_worker_traceback_as_cause(pool):
    with pytest.raises(ValueError, match="raise_value_error got 3") as raised:
        pool.apply(helpers.raise_value_error, (3,))
    # Both attach the worker's traceback text as __cause__, naming the failing function.
    assert "raise_value_error" in str(raised.value.__cause__)
    assert "Traceback" in str(raised.value.__cause__)


def test_map_raises_the_error_of_a_failing_item(pool):
    with pytest.raises(ValueError, match="raise_value_error got 3") as raised:
        pool.map(helpers.fail_on_three, range(6), chunksize=1)
    assert "fail_on_three" in str(raised.value.__cause__)


def test_unpicklable_result_raises_maybe_encoding_error(pool):
    # The stdlib's message names the value that could not be sent back.
    with pytest.raises(MaybeEncodingError, match="Error sending result: '<unlocked _thread.lock"):
        pool.apply(helpers.unpicklable_result)
    with pytest.raises(MaybeEncodingError, match="Error sending result: '\\[<unlocked _thread"):
        pool.map(helpers.unpicklable_result, range(3), chunksize=3)
    assert pool.apply(square, (4,)) == 16  # the worker goes on


def test_failed_result_is_not_successful_and_raises_every_time(pool):
    seen, errors = [], []
    result = pool.apply_async(
        helpers.raise_value_error, (1,), callback=seen.append, error_callback=errors.append
    )
    for _ in range(2):
        with pytest.raises(ValueError, match="raise_value_error got 1"):
            result.get(timeout=WAIT)
    assert result.successful() is False
    assert seen == [] and [type(error) for error in errors] == [ValueError]


# -- waiting ---------------------------------------------------------------------------------


def test_get_with_timeout_raises_multiprocessing_timeout_error(pool, implementation):
    result = pool.apply_async(helpers.slow, (0.3, "late"))
    with pytest.raises(multiprocessing.TimeoutError) as raised:
        result.get(timeout=0.05)
    if implementation == "procsync_teach":
        assert isinstance(raised.value, procsync_teach.TimeoutError)
    assert not result.ready()
    assert result.get(timeout=WAIT) == "late"  # the task ran on: a later get() collects it


def test_successful_before_ready_raises_value_error(pool):
    result = pool.apply_async(helpers.slow, (0.3, "done"))
    with pytest.raises(ValueError, match="not ready"):
        result.successful()
    result.wait(timeout=WAIT)
    assert result.ready() and result.successful()
    assert result.get(timeout=0) == "done"


# -- the lifecycle -------------------------------------------------------------------------------


def test_join_of_a_running_pool_raises_value_error(pool):
    with pytest.raises(ValueError, match="Pool is still running"):
        pool.join()
    assert pool.apply(square, (2,)) == 4  # and the pool still runs


def test_a_pool_cannot_be_pickled(pool):
    with pytest.raises(NotImplementedError, match="pool objects cannot be passed"):
        pickle.dumps(pool)


def test_close_finishes_queued_work_then_refuses_more(make_pool):
    pool = make_pool(2)
    queued = pool.apply_async(helpers.slow, (0.2, "finished"))
    pool.close()
    for submit in (
        lambda: pool.apply(square, (1,)),
        lambda: pool.apply_async(square, (1,)),
        lambda: pool.map(square, [1]),
        lambda: pool.starmap_async(helpers.add, [(1, 2)]),
        lambda: pool.imap(square, [1]),
        lambda: pool.imap_unordered(square, [1]),
    ):
        with pytest.raises(ValueError, match="Pool not running"):
            submit()
    pool.join()
    assert queued.get(timeout=0) == "finished"


def test_with_block_gives_the_pool_and_ends_it(make_pool):
    made = make_pool(1)
    with made as pool:
        assert pool is made
        assert pool.apply(square, (3,)) == 9
    with pytest.raises(ValueError, match="Pool not running"):
        pool.apply(square, (3,))
    with pytest.raises(ValueError, match="Pool not running"):
        pool.map_async(square, [3])
    pool.join()


@pytest.mark.parametrize("processes", [0, -1])
def test_pool_needs_at_least_one_process(make_pool, processes):
    with pytest.raises(ValueError, match="Number of processes must be at least 1"):
        make_pool(processes)


@pytest.mark.parametrize("maxtasksperchild", [0, -1, 1.5])
def test_maxtasksperchild_must_be_a_positive_int(make_pool, maxtasksperchild):
    with pytest.raises(ValueError, match="maxtasksperchild must be a positive int or None"):
        make_pool(1, maxtasksperchild=maxtasksperchild)


def test_initializer_must_be_callable(make_pool):
    with pytest.raises(TypeError, match="initializer must be a callable"):
        make_pool(1, initializer=42)


def test_initializer_runs_in_every_worker_with_initargs(make_pool):
    pool = make_pool(2, initializer=helpers.remember, initargs=("ready", 1))
    assert pool.map(helpers.remembered, range(6), chunksize=1) == [("ready", 1)] * 6


def test_maxtasksperchild_replaces_each_worker_after_its_task(make_pool):
    pool = make_pool(2, maxtasksperchild=1)
    squares, pids = zip(*pool.map(helpers.square_and_pid, range(4), chunksize=1), strict=True)
    assert squares == (0, 1, 4, 9)
    assert len(set(pids)) == 4  # one fresh worker per task, in a pool of two
    pool.close()
    pool.join()


# -- what the caller gets wrong --------------------------------------------------------------


def test_chunksize_zero_is_refused(pool, implementation):
    for imap in (pool.imap, pool.imap_unordered):
        with pytest.raises(ValueError, match="Chunksize must be 1\\+, not 0"):
            imap(square, range(3), chunksize=0)
    if implementation == "multiprocessing":
        # Python 3.11's Pool.map/map_async/starmap with chunksize=0 (or negative) send no
        # task at all and return [None] * len(items) without an error: there is nothing
        # sensible to compare with. Ours refuses them as imap does, which the branch below
        # checks.
        return
    for submit in (
        lambda: pool.map(square, range(3), chunksize=0),
        lambda: pool.map_async(square, range(3), chunksize=0),
        lambda: pool.starmap(helpers.add, [(1, 2)], chunksize=0),
        lambda: pool.map(square, range(3), chunksize=-1),
    ):
        with pytest.raises(ValueError, match="Chunksize must be 1\\+"):
            submit()


def test_non_callable_task_is_a_type_error(pool, implementation):
    if implementation == "procsync_teach":
        # Ours checks in the caller: the submitting call raises.
        with pytest.raises(TypeError, match="not callable"):
            pool.apply_async(42)
        with pytest.raises(TypeError, match="not callable"):
            pool.map_async(42, [1])
    else:
        # The stdlib finds out in the worker; get() raises.
        result = pool.apply_async(42)
        with pytest.raises(TypeError, match="not callable"):
            result.get(timeout=WAIT)
    assert pool.apply(square, (5,)) == 25


def test_unpicklable_argument_raises_the_pickling_error(pool, implementation):
    unpicklable = threading.Lock()
    if implementation == "procsync_teach":
        # Ours pickles the job in the caller: the submitting call raises.
        with pytest.raises(TypeError, match="cannot pickle"):
            pool.apply_async(square, (unpicklable,))
        with pytest.raises(TypeError, match="cannot pickle"):
            pool.map_async(square, [1, unpicklable])
    else:
        # The stdlib pickles in its task-feeding thread and hands the error to get().
        result = pool.apply_async(square, (unpicklable,))
        with pytest.raises(TypeError, match="cannot pickle"):
            result.get(timeout=WAIT)
    assert pool.apply(square, (6,)) == 36
