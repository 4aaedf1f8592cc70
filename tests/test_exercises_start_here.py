"""The checks of notebook 00 accept a right answer and turn wrong ones into hints."""

from __future__ import annotations

import os

from procsync_teach import Pool, Process
from procsync_teach.course.exercises import not_answered
from procsync_teach.course.exercises.start_here import check_pool_size, check_run_in_a_process


def run_and_join(function, argument):
    process = Process(target=function, args=(argument,))
    process.start()
    process.join(timeout=10)
    return process


def run_without_join(function, argument):
    process = Process(target=function, args=(argument,))
    process.start()
    return process


def run_here(function, argument):
    function(argument)


def join_before_start(function, argument):
    process = Process(target=function, args=(argument,))
    process.join(timeout=10)
    return process


def stub(function, argument): ...


def is_hint(verdict) -> bool:
    return not verdict and verdict.text.startswith("❌ Not yet. Hint:")


def test_pool_size_accepts_the_core_count() -> None:
    with Pool() as pool:  # the answer is what Pool() really starts here
        assert check_pool_size(pool._processes)


def test_pool_size_counts_the_cpus_this_process_may_use(monkeypatch) -> None:
    # As on Python 3.13+ in a container limited to one of two CPUs.
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "process_cpu_count", lambda: 1, raising=False)
    assert check_pool_size(1)
    assert is_hint(check_pool_size(2))


def test_pool_size_rejects_other_answers_with_a_hint() -> None:
    assert is_hint(check_pool_size(os.cpu_count() + 1))
    assert is_hint(check_pool_size("2"))
    assert check_pool_size(...) == not_answered()


def test_run_in_a_process_accepts_start_then_join() -> None:
    verdict = check_run_in_a_process(run_and_join)
    assert verdict, verdict.text


def test_run_in_a_process_hints_at_join_when_it_is_missing() -> None:
    verdict = check_run_in_a_process(run_without_join)
    assert is_hint(verdict) and "join" in verdict.text


def test_run_in_a_process_notices_a_call_in_this_process() -> None:
    verdict = check_run_in_a_process(run_here)
    assert is_hint(verdict) and "ran in this process" in verdict.text


def test_run_in_a_process_explains_join_before_start() -> None:
    verdict = check_run_in_a_process(join_before_start)
    assert is_hint(verdict) and "start() first" in verdict.text


def test_run_in_a_process_stub_is_not_answered() -> None:
    assert check_run_in_a_process(stub) == not_answered()
    assert check_run_in_a_process(...) == not_answered()
