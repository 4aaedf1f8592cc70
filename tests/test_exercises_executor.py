"""The checks of notebook 09 accept a right answer, say "not answered" for the placeholder,
and give the hint that fits a typical wrong answer."""

from __future__ import annotations

from concurrent.futures import as_completed

import pytest

from procsync_teach.course.exercises.executor import (
    RIGHT_PICKS,
    check_in_finishing_order,
    check_pool_or_executor,
)
from procsync_teach.course.tasks import nap_or_fail

pytestmark = pytest.mark.timeout(60)

RIGHT = {letter: next(iter(names)) for letter, (names, _) in RIGHT_PICKS.items()}


def with_as_completed(executor, naps):
    futures = [executor.submit(nap_or_fail, seconds) for seconds in naps]
    return [future.result() for future in as_completed(futures, timeout=5)]


def in_submission_order(executor, naps):
    return list(executor.map(nap_or_fail, naps, timeout=5))


def one_submit_too_few(executor, naps):
    futures = [executor.submit(nap_or_fail, seconds) for seconds in naps[1:]]
    return [naps[0]] + [future.result() for future in as_completed(futures, timeout=5)]


def placeholder(executor, naps): ...


def test_in_finishing_order_accepts_as_completed():
    assert check_in_finishing_order(with_as_completed)


@pytest.mark.parametrize(
    "answer, words",
    [
        (in_submission_order, "in the order of the naps you submitted"),
        (one_submit_too_few, "submit one task per nap"),
    ],
)
def test_in_finishing_order_hints_say_which_part_is_wrong(answer, words):
    verdict = check_in_finishing_order(answer)
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


def test_in_finishing_order_placeholder_is_not_answered_and_gives_nothing_away():
    verdict = check_in_finishing_order(placeholder)
    assert not verdict
    assert "replace the `...`" in verdict.text and "as_completed" not in verdict.text


def test_pool_or_executor_accepts_the_right_picks_in_any_case():
    assert check_pool_or_executor(RIGHT)
    assert check_pool_or_executor({**RIGHT, "C": "Pool", "A": "Executor"})


@pytest.mark.parametrize(
    "picks, words",
    [
        ({**RIGHT, "C": "executor"}, "scenario C is not right yet: it maps a tiny function"),
        ({**RIGHT, "E": "ProcessPoolExecutor"}, "scenario E: pick one of Pool, executor"),
        ({"A": "executor"}, "the keys A, B, C, D, E, F"),
    ],
)
def test_pool_or_executor_hints(picks, words):
    verdict = check_pool_or_executor(picks)
    assert not verdict
    assert words in verdict.text


@pytest.mark.parametrize("picks", [..., {letter: ... for letter in RIGHT_PICKS}])
def test_pool_or_executor_placeholder_is_not_answered(picks):
    verdict = check_pool_or_executor(picks)
    assert not verdict and "replace the `...`" in verdict.text and "Pool" not in verdict.text
