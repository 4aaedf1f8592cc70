"""The checks of notebook 10 accept a right answer, say "not answered" for the placeholder,
and give the hint that fits a typical wrong answer. Whether a count without the lock loses
updates is luck; the check's hint for it must not be, so it is asserted here."""

from __future__ import annotations

import pytest

from procsync_teach.course.exercises.sharing import (
    RIGHT_CHANNELS,
    check_count_safely,
    check_which_channel,
)

pytestmark = pytest.mark.timeout(60)

RIGHT = {letter: next(iter(names)) for letter, (names, _) in RIGHT_CHANNELS.items()}


def with_the_lock(counter, n):
    for _ in range(n):
        with counter.get_lock():
            counter.value += 1


def without_the_lock(counter, n):
    for _ in range(n):
        counter.value += 1


def lock_around_the_read_only(counter, n):
    for _ in range(n):
        with counter.get_lock():
            current = counter.value
        counter.value = current + 1


def one_too_many(counter, n):
    for _ in range(n + 1):
        with counter.get_lock():
            counter.value += 1


def placeholder(counter, n): ...


def test_count_safely_accepts_the_lock_around_each_addition():
    assert check_count_safely(with_the_lock)


@pytest.mark.parametrize(
    "answer, words",
    [
        (without_the_lock, "do both inside `with counter.get_lock():`"),
        (lock_around_the_read_only, "do both inside `with counter.get_lock():`"),
        (one_too_many, "should add 5 to counter.value; it added 6"),
    ],
)
def test_count_safely_hints_say_which_part_is_wrong(answer, words):
    verdict = check_count_safely(answer)
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


def test_count_safely_placeholder_is_not_answered_and_gives_nothing_away():
    verdict = check_count_safely(placeholder)
    assert not verdict
    assert "replace the `...`" in verdict.text and "get_lock" not in verdict.text


def test_which_channel_accepts_the_right_channels_in_any_case():
    assert check_which_channel(RIGHT)
    assert check_which_channel({**RIGHT, "A": "Queue", "E": "ctx.Manager()"})


@pytest.mark.parametrize(
    "choices, words",
    [
        ({**RIGHT, "D": "queue"}, "scenario D is not right yet: it is a big block of data"),
        ({**RIGHT, "C": "Array"}, "scenario C: pick one of Queue, Pipe"),
        ({"A": "queue"}, "the keys A, B, C, D, E"),
    ],
)
def test_which_channel_hints(choices, words):
    verdict = check_which_channel(choices)
    assert not verdict
    assert words in verdict.text


@pytest.mark.parametrize("choices", [..., {letter: ... for letter in RIGHT_CHANNELS}])
def test_which_channel_placeholder_is_not_answered(choices):
    verdict = check_which_channel(choices)
    assert not verdict and "replace the `...`" in verdict.text and "Queue" not in verdict.text
