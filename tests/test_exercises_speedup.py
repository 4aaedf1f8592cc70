"""The checks of notebook 05 accept a right answer and give a hint for wrong ones."""

from __future__ import annotations

import math

import pytest

from procsync_teach.course.exercises import not_answered
from procsync_teach.course.exercises.speedup import (
    check_default_chunksize,
    check_few_messages,
    reference_chunksize,
)

pytestmark = pytest.mark.timeout(60)


def default_chunksize(n_items, workers):
    chunksize, extra = divmod(n_items, 4 * workers)
    return chunksize + 1 if extra else chunksize


def stub(n_items, workers): ...


def test_default_chunksize_accepts_the_formula():
    assert check_default_chunksize(default_chunksize)


def test_the_reference_is_multiprocessings_formula():
    assert reference_chunksize(2_000, 2) == 250
    assert reference_chunksize(100_000, 2) == 12_500  # the example in the field notes
    assert reference_chunksize(2_001, 2) == 251


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda n, w: n // (4 * w), "adds 1"),
        (lambda n, w: math.ceil(n / w), "four per worker"),
        (lambda n, w: n / (4 * w), "a float"),
        (lambda n, w: 3, "multiprocessing picks chunksize 250"),
        (lambda n, w: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_default_chunksize_hints(answer, words):
    verdict = check_default_chunksize(answer)
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


def test_few_messages_accepts_the_smallest_chunksize():
    verdict = check_few_messages(100)
    assert verdict and "10 messages" in verdict.text


@pytest.mark.parametrize(
    "answer, words",
    [
        (1, "1,000 messages, more than 10"),
        (99, "11 messages"),
        (105, "smallest chunksize"),
        (0, "at least 1"),
        (2.5, "whole number"),
    ],
)
def test_few_messages_hints(answer, words):
    verdict = check_few_messages(answer)
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


def test_untouched_exercises_are_not_answered_and_get_no_hint():
    for verdict in (check_default_chunksize(stub), check_few_messages(...)):
        assert verdict == not_answered() and "Hint" not in verdict.text
