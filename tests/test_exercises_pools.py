"""The checks of notebook 03 accept a right answer and give a hint for wrong ones."""

from __future__ import annotations

import pytest

from procsync_teach.course.exercises import not_answered
from procsync_teach.course.exercises.pools import check_collect_squares, check_method_choices
from tests.helpers import square

pytestmark = pytest.mark.timeout(60)


def collect_with_callback(pool, numbers):
    squares = []
    tickets = [pool.apply_async(square, (n,), callback=squares.append) for n in numbers]
    for ticket in tickets:
        ticket.get(timeout=5)
    return squares


def collect_without_waiting(pool, numbers):
    squares = []
    for n in numbers:
        pool.apply_async(square, (n,), callback=squares.append)
    return squares


def collect_with_map(pool, numbers):
    return pool.map(square, numbers)


def collect_without_callback(pool, numbers):
    return [pool.apply_async(square, (n,)).get(timeout=5) for n in numbers]


def stub(pool, numbers): ...


def test_collect_squares_accepts_apply_async_with_a_callback():
    assert check_collect_squares(collect_with_callback)


@pytest.mark.parametrize(
    "answer, words",
    [
        (collect_without_waiting, "still on their way"),
        (collect_with_map, "used map"),
        (collect_without_callback, "pass a callback"),
    ],
)
def test_collect_squares_hints(answer, words):
    verdict = check_collect_squares(answer)
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


RIGHT = {"A": "apply", "B": "apply_async", "C": "map", "D": "map_async"}


def test_method_choices_accepts_the_right_methods_in_any_spelling():
    assert check_method_choices(RIGHT)
    assert check_method_choices({"A": "pool.apply()", "B": "apply_async", "C": "Map",
                                 "D": "map_async()"})


@pytest.mark.parametrize(
    "choices, words",
    [
        ({**RIGHT, "B": "apply"}, "scenario B: not apply"),
        ({**RIGHT, "D": "imap"}, "is not one of"),
        ({"A": "apply"}, "scenario B, C, D too"),
        ({**RIGHT, "C": ...}, "replace the `...`"),
        (..., "replace the `...`"),
    ],
)
def test_method_choices_hints(choices, words):
    verdict = check_method_choices(choices)
    assert not verdict
    assert words in verdict.text


def test_untouched_exercises_are_not_answered_and_get_no_hint():
    for verdict in (check_collect_squares(stub), check_method_choices(...),
                    check_method_choices(dict.fromkeys(RIGHT, ...))):
        assert verdict == not_answered() and "Hint" not in verdict.text
