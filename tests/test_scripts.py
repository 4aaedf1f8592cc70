"""``run_script`` runs a script apart and bounded, and shows all that it and its children
printed."""

from __future__ import annotations

import time

import psutil
import pytest

from procsync_teach.course.child_output import error_line
from procsync_teach.course.scripts import CAN_PRESS_CTRL_C, run_script
from tests.test_child_output import needs_preexec

pytestmark = pytest.mark.timeout(60)


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


def test_run_script_turns_colour_codes_off_even_when_colour_is_forced(monkeypatch):
    # Jupyter's kernel sets FORCE_COLOR; Python 3.13 then colours a traceback in a file.
    monkeypatch.setenv("FORCE_COLOR", "1")
    run = run_script("import os\nprint(os.environ.get('PYTHON_COLORS'), os.environ.get('NO_COLOR'))"
                     "\nraise ValueError('plain')", timeout=30)
    assert run.stdout == "0 1\n"
    assert run.stderr.endswith("ValueError: plain\n") and "\x1b[" not in run.stderr


@needs_preexec
def test_run_script_shows_what_a_child_without_descriptors_printed_in_order():
    source = ("import os, subprocess, sys\n"
              "print('the script')\n"
              "subprocess.run([sys.executable, '-c', 'print(\"its child\"); 1/0'], timeout=30,\n"
              "               preexec_fn=lambda: (os.close(1), os.close(2)))\n"
              "print('the script again')\n")
    run = run_script(source, timeout=60)
    assert run.stdout == "the script\nits child\nthe script again\n"
    assert error_line(run.stderr, "ZeroDivisionError") == "ZeroDivisionError: division by zero"
