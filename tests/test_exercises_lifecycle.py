"""The checks of notebook 04 accept a right answer and give a hint for wrong ones."""

from __future__ import annotations

import builtins
import multiprocessing

import pytest

from procsync_teach import TimeoutError
from procsync_teach.course.exercises.lifecycle import check_get_or_default, check_shutdown_order

pytestmark = pytest.mark.timeout(60)


def get_or_default(result, timeout, default):
    try:
        return result.get(timeout=timeout)
    except TimeoutError:
        return default


def catches_the_stdlib_class(result, timeout, default):
    try:
        return result.get(timeout=timeout)
    except multiprocessing.TimeoutError:
        return default


def catches_the_builtin_class(result, timeout, default):
    try:
        return result.get(timeout=timeout)
    except builtins.TimeoutError:
        return default


def asks_ready_only(result, timeout, default):
    return result.get() if result.ready() else default


def catches_everything(result, timeout, default):
    try:
        return result.get(timeout=timeout)
    except Exception:
        return default


def stub(result, timeout, default): ...


def test_get_or_default_accepts_a_right_answer():
    assert check_get_or_default(get_or_default)
    assert check_get_or_default(catches_the_stdlib_class)


@pytest.mark.parametrize(
    "answer, words",
    [
        (catches_the_builtin_class, "built-in TimeoutError is another class"),
        (asks_ready_only, "never waits"),
        (catches_everything, "catch only TimeoutError"),
        (stub, "replace the `...`"),
    ],
)
def test_get_or_default_hints(answer, words):
    verdict = check_get_or_default(answer)
    assert not verdict
    assert words in verdict.text


@pytest.mark.parametrize(
    "steps",
    [
        ["submit", "close", "join", "get"],
        ["submit", "get", "close", "join"],
        ["pool.submit()", "get", "terminate", "join"],
    ],
)
def test_shutdown_order_accepts_orders_that_collect_everything(steps):
    assert check_shutdown_order(steps)


@pytest.mark.parametrize(
    "steps, words",
    [
        (["submit", "join", "close", "get"], "Pool is still running"),
        (["submit", "terminate", "get", "join"], "PoolTerminated"),
        (["submit", "close", "get"], 'end with "join"'),
        (["close", "submit", "get", "join"], "accepts no more work"),
        (["submit", "close", "join"], 'add a "get"'),
        (["submit", "wait"], "is not a step"),
        (..., "replace the `...`"),
    ],
)
def test_shutdown_order_hints(steps, words):
    verdict = check_shutdown_order(steps)
    assert not verdict
    assert words in verdict.text
