"""The checks of notebook 08 accept a right answer, say "not answered" for the placeholder,
and give the hint that fits a typical wrong answer."""

from __future__ import annotations

import pytest

from procsync_teach.course.exercises.failures import (
    RIGHT_TOOLS,
    check_pool_tools,
    check_results_or_errors,
)
from procsync_teach.course.tasks import invert

pytestmark = pytest.mark.timeout(60)

RIGHT = {letter: next(iter(names)) for letter, (names, _) in RIGHT_TOOLS.items()}


def each_caught(pool, numbers):
    tickets = [pool.apply_async(invert, (n,)) for n in numbers]
    entries = []
    for ticket in tickets:
        try:
            entries.append(ticket.get(timeout=5))
        except ZeroDivisionError as error:
            entries.append(error)
    return entries


def nothing_caught(pool, numbers):
    return [pool.apply_async(invert, (n,)).get(timeout=5) for n in numbers]


def failures_dropped(pool, numbers):
    entries = []
    for n in numbers:
        try:
            entries.append(pool.apply_async(invert, (n,)).get(timeout=5))
        except ZeroDivisionError:
            pass
    return entries


def failures_as_names(pool, numbers):
    return [entry if isinstance(entry, float) else "ZeroDivisionError"
            for entry in each_caught(pool, numbers)]


def placeholder(pool, numbers): ...


def test_results_or_errors_accepts_one_caught_get_per_task():
    assert check_results_or_errors(each_caught)


@pytest.mark.parametrize(
    "answer, words",
    [
        (nothing_caught, "catch it around each get()"),
        (failures_dropped, "one entry per number"),
        (failures_as_names, "the ZeroDivisionError object itself"),
    ],
)
def test_results_or_errors_hints_say_which_part_is_wrong(answer, words):
    verdict = check_results_or_errors(answer)
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


def test_results_or_errors_placeholder_is_not_answered_and_gives_nothing_away():
    verdict = check_results_or_errors(placeholder)
    assert not verdict
    assert "replace the `...`" in verdict.text and "get()" not in verdict.text


def test_pool_tools_accepts_the_right_tools_in_any_spelling():
    assert check_pool_tools(RIGHT)
    assert check_pool_tools({**RIGHT, "A": "pool.imap()", "C": "Starmap"})


@pytest.mark.parametrize(
    "choices, words",
    [
        ({**RIGHT, "A": "imap_unordered"}, "scenario A is not right yet: it reads an input"),
        ({**RIGHT, "D": "map"}, "scenario D: pick one of imap, imap_unordered"),
        ({"A": "imap"}, "the keys A, B, C, D, E, F"),
    ],
)
def test_pool_tools_hints(choices, words):
    verdict = check_pool_tools(choices)
    assert not verdict
    assert words in verdict.text and "Hint:" in verdict.text
    assert "imap_unordered" not in verdict.text.partition("is not right yet")[2]


@pytest.mark.parametrize("choices", [..., {letter: ... for letter in RIGHT_TOOLS}])
def test_pool_tools_placeholder_is_not_answered(choices):
    verdict = check_pool_tools(choices)
    assert not verdict and "replace the `...`" in verdict.text and "imap" not in verdict.text
