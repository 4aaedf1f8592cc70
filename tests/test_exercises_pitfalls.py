"""The checks of notebook 07 accept a right answer and give a hint for wrong ones, and
``run_script`` keeps what it runs apart and bounded."""

from __future__ import annotations

import multiprocessing
import time

import psutil
import pytest

from procsync_teach import Pool
from procsync_teach.course.exercises import not_answered
from procsync_teach.course.exercises.pitfalls import (
    CAN_PRESS_CTRL_C,
    check_needs_guard,
    check_squares,
    run_script,
)
from tests.helpers import square

pytestmark = pytest.mark.timeout(60)


def test_needs_guard_accepts_b_and_d():
    assert check_needs_guard({"B", "D"})
    assert check_needs_guard(["b", "d"])


@pytest.mark.parametrize(
    "answer, words",
    [
        ({"A", "B", "D"}, "A already starts its pool"),
        ({"B", "C", "D"}, "C's top-level print"),
        ({"B"}, "look at D again"),
        (set(), "start a process while they are being imported"),
        ({"B", "E"}, "not E"),
        (42, "a set of letters"),
    ],
)
def test_needs_guard_hints(answer, words):
    verdict = check_needs_guard(answer)
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


def squares_in_block(numbers):
    with Pool(2) as pool:
        pending = [pool.apply_async(square, (n,)) for n in numbers]
        return [result.get(timeout=10) for result in pending]


def slow_square(x):
    time.sleep(0.2)
    return x * x


def squares_too_late(numbers):
    with Pool(2) as pool:
        pending = [pool.apply_async(slow_square, (n,)) for n in numbers]
    return [result.get(timeout=10) for result in pending]


_forgotten = []


def squares_without_closing(numbers):
    pool = Pool(2)
    _forgotten.append(pool)
    return pool.map(square, numbers)


def squares_stub(numbers):
    with Pool(2) as pool:
        [pool.apply_async(square, (n,)) for n in numbers]
    return ...


def test_squares_accepts_collecting_inside_the_block():
    assert check_squares(squares_in_block)


@pytest.mark.parametrize(
    "answer, words",
    [
        (squares_too_late, "call every `get()` inside the block"),
        (squares_without_closing, "2 worker processes kept running"),
        (lambda numbers: [n + n for n in numbers], "not [1, 4, 9, 16, 25]"),
    ],
)
def test_squares_hints(answer, words):
    try:
        verdict = check_squares(answer)
    finally:
        while _forgotten:
            _forgotten.pop().terminate()
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


def test_run_script_returns_the_exit_code_and_the_output():
    run = run_script("import sys\nprint('out')\nsys.exit('err')", timeout=30)
    assert (run.exit_code, run.stdout, run.stderr, run.timed_out) == (1, "out\n", "err\n", False)


def test_run_script_as_c_has_no_main_file():
    run = run_script("import __main__\nprint(hasattr(__main__, '__file__'))", as_file=False)
    assert run.stdout == "False\n"


def test_run_script_stops_a_script_and_its_children_at_the_timeout():
    source = (
        "import multiprocessing, time\n"
        "if __name__ == '__main__':\n"
        "    p = multiprocessing.Process(target=time.sleep, args=(60,))\n"
        "    p.start()\n"
        "    print(p.pid)\n"
        "    time.sleep(60)\n"
    )
    started = time.monotonic()
    run = run_script(source, timeout=2)
    assert run.timed_out and time.monotonic() - started < 15
    assert _ends_soon(int(run.stdout))


def _ends_soon(pid: int, seconds: float = 10.0) -> bool:
    """Whether process ``pid`` is gone (or a zombie, dead but not yet reaped) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not CAN_PRESS_CTRL_C, reason="Windows has no process groups to signal")
def test_run_script_presses_ctrl_c_when_the_script_is_ready():
    source = "import time\nprint('ready')\ntime.sleep(30)\n"
    run = run_script(source, timeout=30, ctrl_c_after="ready")
    assert run.exit_code == -2 and run.stderr.rstrip().endswith("KeyboardInterrupt")


def test_no_child_is_left_behind_by_the_checks():
    before = len(multiprocessing.active_children())
    check_squares(squares_in_block)
    assert len(multiprocessing.active_children()) == before


def test_run_script_turns_colour_codes_off_even_when_colour_is_forced(monkeypatch):
    # Jupyter's kernel sets FORCE_COLOR; Python 3.13 then colours a traceback in a file.
    monkeypatch.setenv("FORCE_COLOR", "1")
    run = run_script("import os\nprint(os.environ.get('PYTHON_COLORS'), os.environ.get('NO_COLOR'))"
                     "\nraise ValueError('plain')", timeout=30)
    assert run.stdout == "0 1\n"
    assert run.stderr.endswith("ValueError: plain\n") and "\x1b[" not in run.stderr
def test_untouched_exercises_are_not_answered_and_get_no_hint():
    for verdict in (check_needs_guard(...), check_squares(squares_stub)):
        assert verdict == not_answered() and "Hint" not in verdict.text
