"""The checks of notebook 07 accept a right answer and give a hint for wrong ones."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from procsync_teach import Pool
from procsync_teach.course.exercises import not_answered
from procsync_teach.course.exercises.pitfalls import check_needs_guard, check_squares
from tests.helpers import square

pytestmark = pytest.mark.timeout(60)


def test_needs_guard_accepts_b_and_d():
    assert check_needs_guard({"B", "D"})
    assert check_needs_guard(["b", "d"])


@pytest.mark.parametrize(
    "answer, words",
    [
        ({"A", "B", "D"}, "A already starts its pool"),
        ({"B", "C", "D"}, "C's top-level print"),
        ({"B"}, "look at D again"),
        (set(), "start a process while they are being imported"),
        ({"B", "E"}, "not E"),
        (42, "a set of letters"),
    ],
)
def test_needs_guard_hints(answer, words):
    verdict = check_needs_guard(answer)
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


def squares_in_block(numbers):
    with Pool(2) as pool:
        pending = [pool.apply_async(square, (n,)) for n in numbers]
        return [result.get(timeout=10) for result in pending]


def slow_square(x):
    time.sleep(0.2)
    return x * x


def squares_too_late(numbers):
    with Pool(2) as pool:
        pending = [pool.apply_async(slow_square, (n,)) for n in numbers]
    return [result.get(timeout=10) for result in pending]


_forgotten = []


def squares_without_closing(numbers):
    pool = Pool(2)
    _forgotten.append(pool)
    return pool.map(square, numbers)


def squares_stub(numbers):
    with Pool(2) as pool:
        [pool.apply_async(square, (n,)) for n in numbers]
    return ...


def test_squares_accepts_collecting_inside_the_block():
    assert check_squares(squares_in_block)


@pytest.mark.parametrize(
    "answer, words",
    [
        (squares_too_late, "call every `get()` inside the block"),
        (squares_without_closing, "2 worker processes kept running"),
        (lambda numbers: [n + n for n in numbers], "not [1, 4, 9, 16, 25]"),
    ],
)
def test_squares_hints(answer, words):
    try:
        verdict = check_squares(answer)
    finally:
        while _forgotten:
            _forgotten.pop().terminate()
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


def test_no_child_is_left_behind_by_the_checks():
    before = len(multiprocessing.active_children())
    check_squares(squares_in_block)
    assert len(multiprocessing.active_children()) == before


def test_untouched_exercises_are_not_answered_and_get_no_hint():
    for verdict in (check_needs_guard(...), check_squares(squares_stub)):
        assert verdict == not_answered() and "Hint" not in verdict.text
