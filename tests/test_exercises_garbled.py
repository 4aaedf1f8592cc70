"""The checks of notebook 01 accept a right answer and turn wrong ones into hints.

The report functions below run in child processes; under spawn and forkserver the
children import them from this module.
"""

from __future__ import annotations

import time

from procsync_teach import now
from procsync_teach.course.exercises import not_answered
from procsync_teach.course.exercises.garbled import check_possible_outputs, check_report


def wait_until(start_at):
    while now() < start_at:
        time.sleep(0.0005)


def print_slowly(text, pause=0.002):
    for word in text.split():
        print(word, end=" ", flush=True)
        time.sleep(pause)
    print(flush=True)


def report_locked(n, lock, start_at):
    wait_until(start_at)
    with lock:
        print_slowly(f"Report from process {n}:")
        print_slowly(f"process {n} is doing fine")


def report_unlocked(n, lock, start_at):
    wait_until(start_at)
    print_slowly(f"Report from process {n}:")
    print_slowly(f"process {n} is doing fine")


def report_locked_per_line(n, lock, start_at):
    wait_until(start_at)
    with lock:
        print_slowly(f"Report from process {n}:")
    with lock:
        print_slowly(f"process {n} is doing fine")


def report_with_a_typo(n, lock, start_at):
    with lok:  # noqa: F821 - the mistake the check must report
        print_slowly(f"Report from process {n}:")


def report_stub(n, lock, start_at):
    wait_until(start_at)
    ...


def report_as_the_exercise_gives_it(n, lock, start_at):
    """The exercise cell untouched: the given lines, and the placeholder where the lock goes."""
    wait_until(start_at)
    ...  # your code: use the lock so that the two lines below stay together
    print_slowly(f"Report from process {n}:")
    print_slowly(f"process {n} is doing fine")


def is_hint(verdict) -> bool:
    return not verdict and verdict.text.startswith("❌ Not yet. Hint:")


def test_report_accepts_one_hold_around_both_lines() -> None:
    verdict = check_report(report_locked)
    assert verdict, verdict.text


def test_report_without_the_lock_gets_a_hint() -> None:
    verdict = check_report(report_unlocked)
    assert is_hint(verdict) and "no process took the lock" in verdict.text


def test_report_with_one_hold_per_line_gets_a_hint() -> None:
    verdict = check_report(report_locked_per_line)
    assert is_hint(verdict) and "two holds" in verdict.text


def test_report_shows_the_error_of_a_failed_process() -> None:
    verdict = check_report(report_with_a_typo)
    assert is_hint(verdict) and "NameError" in verdict.text


def test_report_stub_is_not_answered() -> None:
    assert check_report(report_stub) == not_answered()
    assert check_report(...) == not_answered()


def test_the_untouched_exercise_is_not_answered_and_its_answer_not_given_away() -> None:
    verdict = check_report(report_as_the_exercise_gives_it)
    assert verdict == not_answered()
    assert "Hint" not in verdict.text and "with lock:" not in verdict.text


def test_possible_outputs_accepts_a_and_b_in_any_spelling() -> None:
    assert check_possible_outputs({"A", "B"})
    assert check_possible_outputs(["b", "a"])
    assert check_possible_outputs("A, B")


def test_possible_outputs_rejects_wrong_sets_with_a_hint() -> None:
    assert is_hint(check_possible_outputs({"A"}))
    assert is_hint(check_possible_outputs({"A", "B", "C"}))
    assert is_hint(check_possible_outputs({"A", "B", "D"}))
    assert "there are only screens A, B, C and D, not E." in check_possible_outputs({"E"}).text
    assert "a set of letters" in check_possible_outputs(42).text
    assert check_possible_outputs(...) == not_answered()
