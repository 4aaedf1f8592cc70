"""What the Pool promises, pinned beside the standard library: behaviours a one-line slip
in the library would change while every other test still passed.

Each test makes the same check on ``multiprocessing.Pool`` and on ``procsync_teach.Pool``.
Where one event must come before another, a task waits for a file that the test creates
once it has seen the first event: the order is the test's, never the clock's. What is
decided in the caller's process (the order of results, the chunks of a map, when a
result is ready) runs under fork only, the quickest start method; what a worker keeps
between jobs, or sends back from its ``__main__``, runs under every start method.
"""

from __future__ import annotations

import multiprocessing
import pickle
import sys
import threading

import pytest

import procsync_teach
from tests import helpers
from tests.conftest import QUICKEST_START_METHOD
from tests.helpers import square
from tests.test_pool_parity import IMPLEMENTATIONS, WAIT, assert_exhausted, new_pool

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", params=IMPLEMENTATIONS, ids=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def pool(implementation):
    """A pool of two workers, started by fork, shared by the tests that leave it running."""
    with new_pool(implementation, QUICKEST_START_METHOD, 2) as shared:
        yield shared


# -- the order of results ---------------------------------------------------------------------


def test_imap_unordered_yields_each_result_as_it_finishes(pool, tmp_path):
    """The second item's result comes first, while the first item still waits for it."""
    sign = tmp_path / "the second result is in"
    results = pool.imap_unordered(helpers.wait_for_file,
                                  [(str(sign), "first item"), (None, "second item")])
    try:
        assert results.next(timeout=WAIT) == "second item"
    finally:
        sign.touch()  # whatever happened, the first item does not wait for ever
    assert results.next(timeout=WAIT) == "first item"
    assert_exhausted(results)


def test_map_raises_the_error_of_the_chunk_that_failed_first(pool, tmp_path):
    """Not the first by input order: the first to come back, as the stdlib's MapResult
    keeps the first error it is handed. Item 0 fails only once item 1's error is in."""
    sign = tmp_path / "item 1's error is in"
    result = pool.map_async(helpers.fail_after_file, [(str(sign), 0), (None, 1)], chunksize=1)
    try:
        # Item 0 holds one worker; the other ran item 1, and replies in order: once its
        # next task is back, so is item 1's error.
        assert pool.apply_async(square, (3,)).get(timeout=WAIT) == 9
    finally:
        sign.touch()
    with pytest.raises(ValueError, match="item 1 failed"):
        result.get(timeout=WAIT)


# -- the chunks of a map ----------------------------------------------------------------------


def test_the_default_chunksize_rounds_up(pool):
    """100 items, 2 workers: ``divmod(100, 4 * 2)`` is (12, 4), so chunks of 13 (the
    remainder makes one more item per chunk), which is 8 chunks, not 9 chunks of 12.
    A callable object starts each chunk afresh, so its count of calls numbers the items
    within their chunk."""
    counts = pool.map(helpers.CountCalls(), range(100))
    assert counts == list(range(1, 14)) * 7 + list(range(1, 10))


# -- when a result is ready -------------------------------------------------------------------


def test_ready_is_false_until_the_callback_has_run_and_waiters_wake(pool):
    """The callback runs first, then the waiters wake and see what it did."""
    in_callback, let_go, seen, woken = threading.Event(), threading.Event(), [], []

    def callback(value):
        in_callback.set()
        let_go.wait(WAIT)
        seen.append(value)

    result = pool.apply_async(square, (6,), callback=callback)
    waiter = threading.Thread(target=lambda: woken.append((result.get(WAIT), list(seen))))
    waiter.start()
    try:
        assert in_callback.wait(WAIT)
        assert not result.ready()
        with pytest.raises(multiprocessing.TimeoutError):
            result.get(timeout=0)
        with pytest.raises(ValueError, match="not ready"):
            result.successful()
    finally:
        let_go.set()
        waiter.join(WAIT)
    assert woken == [(36, [36])]
    assert result.ready() and result.successful()


# -- what a worker keeps, and what comes back ----------------------------------------------


def test_a_closures_state_does_not_carry_from_one_job_to_the_next(start_method):
    """Ours sends a closure by value and unpickles it afresh for each job, as it does a
    bound method or a callable object (``tests/test_main_functions.py``): every job
    starts with the list it closes over empty. The stdlib cannot send a closure at all."""
    count = helpers.counting_closure()
    with procsync_teach.Pool(1, context=start_method) as pool:
        assert [pool.apply_async(count).get(WAIT) for _ in range(3)] == [1, 1, 1]
        assert pool.map(count, range(6), chunksize=2) == [1, 2] * 3
    assert count() == 1  # nor does anything carry back to the caller's closure
    with multiprocessing.get_context(start_method).Pool(1) as pool:
        with pytest.raises((AttributeError, pickle.PicklingError), match="local object"):
            pool.apply_async(count).get(WAIT)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_a_result_never_replaces_a_function_in_the_callers_main(implementation, start_method,
                                                                 monkeypatch):
    """A task returns a function ``twin`` of its worker's ``__main__``; the caller's
    ``__main__`` has a ``twin`` of its own, which must stay. The stdlib sends the result by
    name, so the caller gets its own ``twin``; ours sends a function of ``__main__`` by
    value, with the globals it uses (``twin`` itself), and the caller keeps its own."""
    main = vars(sys.modules["__main__"])

    def twin():
        return "made in the caller"

    monkeypatch.setitem(main, "twin", twin)
    with new_pool(implementation, start_method, 1) as pool:
        returned = pool.apply_async(helpers.a_main_function_named_twin).get(WAIT)
    assert main["twin"] is twin
    assert returned.__name__ == "twin"
