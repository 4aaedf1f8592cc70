"""The checks of notebook 01 accept a right answer and turn wrong ones into hints.

The report functions below run in child processes; under spawn and forkserver the
children import them from this module.
"""

from __future__ import annotations

import time

from procsync_teach import Lock
from procsync_teach.course.exercises import not_answered
from procsync_teach.course.exercises.garbled import (
    _run_reporters,
    check_possible_outputs,
    check_report,
)


def print_slowly(text, pause=0.002):
    for word in text.split():
        print(word, end=" ", flush=True)
        time.sleep(pause)
    print(flush=True)


def report_locked(n, lock, start):
    start.wait()
    with lock:
        print_slowly(f"Report from process {n}:")
        print_slowly(f"process {n} is doing fine")


def report_unlocked(n, lock, start):
    start.wait()
    print_slowly(f"Report from process {n}:")
    print_slowly(f"process {n} is doing fine")


def report_locked_per_line(n, lock, start):
    start.wait()
    with lock:
        print_slowly(f"Report from process {n}:")
    with lock:
        print_slowly(f"process {n} is doing fine")


def report_with_a_typo(n, lock, start):
    with lok:  # noqa: F821 - the mistake the check must report
        print_slowly(f"Report from process {n}:")


def report_stub(n, lock, start):
    start.wait()
    ...


def report_as_the_exercise_gives_it(n, lock, start):
    """The exercise cell untouched: the given lines, and the placeholder where the lock goes."""
    start.wait()
    ...  # your code: use the lock so that the two lines below stay together
    print_slowly(f"Report from process {n}:")
    print_slowly(f"process {n} is doing fine")


def report_slowly_one_ready_late(n, lock, start):
    """Unlocked, a word every 0.05 s; P0 is ready a second after the others, as a spawned
    child can be on a slow machine (an antivirus scanning the new Python, say)."""
    if n == 0:
        time.sleep(1.0)
    start.wait()
    print_slowly(f"Report from process {n}:", pause=0.05)
    print_slowly(f"process {n} is doing fine", pause=0.05)


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


def test_the_reporters_write_at_the_same_time_however_late_one_is_ready() -> None:
    # A start time fixed ahead (half a second, once) let a late child begin after the others
    # had finished: no garbling to see, and no contention for the lock to show.
    screen, processes, stuck = _run_reporters(report_slowly_one_ready_late, Lock())
    assert not stuck and [p.exitcode for p in processes] == [0, 0, 0]
    times: dict[str, list[float]] = {}
    for record in screen.records():
        times.setdefault(record.who, []).append(record.time)
    assert sorted(times) == ["P0", "P1", "P2"]
    # Each report takes 0.4 s to write: every one began before any had ended.
    assert max(min(t) for t in times.values()) < min(max(t) for t in times.values())
