"""The checks of notebook 06 accept a right answer and give a hint for wrong ones.

Also the helpers its experiments use: a task that signs in with its pid, and the
catching of what child processes write to standard error.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile

import psutil
import pytest

from procsync_teach import Pool, WorkerDied
from procsync_teach.course.exercises import not_answered
from procsync_teach.course.exercises.inside import (
    check_lost_task_error,
    check_reading,
    children_stderr,
    find_sentinel_watcher,
    reply_path,
)
from procsync_teach.course.sign_in import sign_in_and_sleep, signed_in
from procsync_teach.pool import _Dispatcher

pytestmark = pytest.mark.timeout(60)


# -- exercise 1 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method", ["_dispatch_round", "_Dispatcher._dispatch_round()", _Dispatcher._dispatch_round]
)
def test_reading_accepts_the_right_answers(method):
    assert check_reading("callbacks", 8, method)


@pytest.mark.parametrize(
    "answers, words",
    [
        (("caller", 8, "_dispatch_round"), "question 1"),
        (("dispatcher", 8, "_dispatch_round"), "question 1"),
        (("callbacks", 100, "_dispatch_round"), "question 2"),
        (("callbacks", 8, "_replace"), "a method that handles a death is called by it"),
        (("callbacks", 8, "_settle"), "question 3"),
    ],
)
def test_reading_hints(answers, words):
    verdict = check_reading(*answers)
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


def test_the_path_of_a_reply_runs_from_the_dispatchers_wait_to_the_callback_thread():
    import inspect

    sources = [inspect.getsource(method) for method in reply_path()]
    assert reply_path()[0] is find_sentinel_watcher()
    assert "wait(" in sources[0] and "sentinel" in sources[0]
    assert any("read_messages(" in source for source in sources)
    assert "_callback(" in sources[-1] and "_callback(" not in "".join(sources[:-1])
    handover = ["_callbacks.put(" in source for source in sources].index(True)
    assert "_callbacks.get(" in sources[handover + 1]  # the callback thread's loop


def test_the_right_sentinel_watcher_is_accepted_by_its_name_and_as_the_method():
    watcher = find_sentinel_watcher()
    assert check_reading("callbacks", 8, watcher.__name__)
    assert check_reading("callbacks", 8, watcher)


# -- exercise 2 -------------------------------------------------------------------------


def kill_and_report(pool, report=type):
    """Lose a task as the exercise asks; ``report`` turns the error into the answer."""
    with tempfile.TemporaryDirectory() as folder:
        result = pool.apply_async(sign_in_and_sleep, (folder, 60))
        [pid] = signed_in(folder)
        psutil.Process(pid).kill()
        try:
            result.get(timeout=5)
        except Exception as error:
            return report(error)


def right_answer(pool):
    return kill_and_report(pool)


def returns_the_exception(pool):
    return kill_and_report(pool, report=lambda error: error)


def does_not_catch(pool):
    return kill_and_report(pool, report=lambda error: (_ for _ in ()).throw(error))


def kills_nobody(pool):
    return WorkerDied


def times_out(pool):
    with tempfile.TemporaryDirectory() as folder:
        result = pool.apply_async(sign_in_and_sleep, (folder, 60))
        signed_in(folder)
        try:
            result.get(timeout=0.1)
        except Exception as error:
            return type(error)


def stub(pool): ...


def test_lost_task_error_accepts_the_experiment():
    assert check_lost_task_error(right_answer)


@pytest.mark.parametrize(
    "answer, words",
    [
        (returns_the_exception, "return its type"),
        (does_not_catch, "catch it and return its type"),
        (kills_nobody, "no worker died"),
        (times_out, "no worker died"),
    ],
)
def test_lost_task_error_hints(answer, words):
    verdict = check_lost_task_error(answer)
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


def test_lost_task_error_gives_up_on_an_experiment_that_hangs(monkeypatch):
    monkeypatch.setattr("procsync_teach.course.exercises.inside.EXPERIMENT_TIMEOUT", 0.5)

    def waits_without_timeout(pool):
        with tempfile.TemporaryDirectory() as folder:
            return pool.apply_async(sign_in_and_sleep, (folder, 60)).get()

    verdict = check_lost_task_error(waits_without_timeout)
    assert not verdict and "did not return within" in verdict.text


# -- the helpers ----------------------------------------------------------------------------


def test_signed_in_gives_the_pids_of_the_workers_running_the_tasks():
    with tempfile.TemporaryDirectory() as folder, Pool(2) as pool:
        results = [pool.apply_async(sign_in_and_sleep, (folder, 0.0)) for _ in range(2)]
        pids = {result.get(timeout=10) for result in results}
        assert set(signed_in(folder, count=len(pids))) == pids


def test_signed_in_times_out_when_nobody_signs_in():
    with tempfile.TemporaryDirectory() as folder, pytest.raises(TimeoutError):
        signed_in(folder, timeout=0.05)


def write_to_stderr(text):
    os.write(2, text.encode())


def test_children_stderr_catches_what_a_child_writes():
    process = multiprocessing.get_context("spawn").Process(
        target=write_to_stderr, args=("AttributeError: one\nother\nAttributeError: one\n",)
    )
    with children_stderr() as caught:
        process.start()
        assert caught.wait_for("AttributeError", timeout=30)
        process.join(30)
        os.write(2, b"the parent's own line\n")
    assert caught.matching("AttributeError") == ["AttributeError: one"]
    assert caught.lines == [
        "AttributeError: one", "other", "AttributeError: one", "the parent's own line"
    ]


def test_children_stderr_wait_for_gives_up():
    with children_stderr() as caught:
        assert not caught.wait_for("never", timeout=0.05)
    assert caught.lines == []


def test_untouched_exercises_are_not_answered_and_get_no_hint():
    for verdict in (check_reading(..., ..., ...), check_lost_task_error(stub)):
        assert verdict == not_answered() and "Hint" not in verdict.text
