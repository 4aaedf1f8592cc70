"""The checks of notebook 11 accept a right answer, say "not answered yet" to the untouched
placeholder, and turn wrong answers away with a hint that names the part that is wrong."""

from __future__ import annotations

import functools

import pytest

from procsync_teach import Lock
from procsync_teach.course.exercises import primitives
from procsync_teach.course.exercises.primitives import fetch_one
from tests.helpers import assert_hint, stub

pytestmark = pytest.mark.timeout(120)


# -- exercise 1: polite_fetch --------------------------------------------------------------


def polite_fetch(seats, log, who):
    with seats:
        fetch_one(log, who)


def rude_fetch(seats, log, who):
    fetch_one(log, who)


def fetch_holding(lock, seats, log, who):
    with lock:
        fetch_one(log, who)


one_at_a_time = functools.partial(fetch_holding, Lock())  # the Lock travels with it


def fetch_twice(seats, log, who):
    with seats:
        fetch_one(log, who)
        fetch_one(log, who)


def test_polite_fetch_accepts_a_seat_around_the_fetch():
    verdict = primitives.check_polite_fetch(polite_fetch)
    assert verdict, verdict.text


def test_polite_fetch_placeholder_is_not_answered_and_gives_no_hint():
    for placeholder in (stub, ...):
        verdict = primitives.check_polite_fetch(placeholder)
        assert verdict == primitives.not_answered()
        assert "Not answered yet" in verdict.text and "Hint" not in verdict.text


def test_polite_fetch_without_the_semaphore_is_told_how_many_fetched_at_once():
    assert_hint(primitives.check_polite_fetch(rude_fetch), "4 processes fetched at the same",
                "with seats:")


def test_polite_fetch_with_a_lock_is_told_two_may_fetch():
    assert_hint(primitives.check_polite_fetch(one_at_a_time), "one at a time", "not a Lock")


def test_polite_fetch_fetching_twice_is_told_once():
    assert_hint(primitives.check_polite_fetch(fetch_twice), "exactly once")


# -- exercise 2: the right primitive for each situation ------------------------------------

RIGHT = {"a": "Semaphore", "b": "Event", "c": "Barrier", "d": "RLock", "e": "Condition"}


def test_primitives_accepts_names_and_classes():
    assert primitives.check_primitives(RIGHT)
    import multiprocessing

    ctx = multiprocessing.get_context()
    as_objects = {"a": ctx.BoundedSemaphore, "b": "event()", "c": ctx.Barrier,
                  "d": "multiprocessing.RLock", "e": ctx.Condition}
    verdict = primitives.check_primitives(as_objects)
    assert verdict, verdict.text


def test_primitives_placeholder_is_not_answered():
    untouched = dict.fromkeys(RIGHT, ...)
    assert primitives.check_primitives(untouched) == primitives.not_answered()
    assert primitives.check_primitives(...) == primitives.not_answered()


def test_primitives_names_the_situation_that_is_wrong_without_the_answer():
    verdict = primitives.check_primitives({**RIGHT, "d": "Lock"})
    assert_hint(verdict, "situation d is not right yet", "may take again")
    assert "RLock" not in verdict.text
    assert_hint(primitives.check_primitives({**RIGHT, "c": ...}), "situation c is not answered")


def test_primitives_wants_every_letter():
    assert_hint(primitives.check_primitives({"a": "Semaphore"}), "keys a, b, c, d, e")
