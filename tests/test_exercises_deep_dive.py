"""The checks of notebook 14 accept the right letters, say "not answered yet" to the
untouched placeholder, and name the statement or choice that is not right yet."""

from __future__ import annotations

import pytest

from procsync_teach.course.exercises import deep_dive
from tests.helpers import assert_hint


@pytest.mark.parametrize("answer", [{"A", "C"}, "AC", "a, c", ["C", "A"]])
def test_line_up_accepts_the_true_statements(answer):
    verdict = deep_dive.check_line_up(answer)
    assert verdict, verdict.text


def test_line_up_placeholder_is_not_answered_and_gives_no_hint():
    verdict = deep_dive.check_line_up(...)
    assert verdict == deep_dive.not_answered()
    assert "Hint" not in verdict.text


@pytest.mark.parametrize(
    "answer, words",
    [
        ({"A"}, "statement C is not false"),  # C left out
        ({"A", "B", "C"}, "statement B is not true"),
        ({"A", "C", "D"}, "statement D is not true"),
        ("AZ", "letters of the true statements"),
    ],
)
def test_line_up_names_the_statement_that_is_wrong(answer, words):
    assert_hint(deep_dive.check_line_up(answer), words)


def test_feeders_accepts_the_reason_and_rejects_the_others_by_letter():
    assert deep_dive.check_feeders("A")
    assert deep_dive.check_feeders("a")
    assert_hint(deep_dive.check_feeders("B"), "not B", "reads the input itself")
    assert_hint(deep_dive.check_feeders("C"), "not C", "close() stops nothing")
    assert_hint(deep_dive.check_feeders("AB"), "one letter")
    assert deep_dive.check_feeders(...) == deep_dive.not_answered()
