"""Tests of the terminal demos, ``python -m procsync_teach demo NAME``, run as a teacher would.

Each demo runs in a subprocess with its output piped, so it must print no colour codes and
no progress bar, and its key lines can be checked. What the demos draw with (colours, the
time axis) is tested in this process, where it is quick.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import re
import signal
import subprocess
import sys

import pytest

from procsync_teach.__main__ import main
from procsync_teach.course import colours, demos

DEMO_NAMES = ["garbled", "sync-async", "timeout", "crash"]


def run_demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m procsync_teach ARGS`` with its output piped, as text."""
    return subprocess.run(
        [sys.executable, "-m", "procsync_teach", *args],
        capture_output=True, text=True, encoding="utf-8", timeout=60,
        env=env or demo_environment(),
    )


def demo_environment() -> dict[str, str]:
    """This environment, with a fixed width, so that timelines do not depend on the terminal."""
    return {**os.environ, "COLUMNS": "80"}


def assert_plain(result: subprocess.CompletedProcess) -> None:
    """Exit code 0, no colour codes, and nothing on stderr: piped, there is no progress bar."""
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout
    assert result.stderr == ""


# -- the demos -------------------------------------------------------------------------


def test_garbled_lines_are_whole_with_the_lock():
    result = run_demo("demo", "garbled")
    assert_plain(result)
    out = result.stdout
    assert "Without a lock" in out and "whole lines: " in out
    for n in range(3):
        assert f"P{n}: Process {n} is printing line 1" in out
    assert "with a Lock: whole lines: 3 of 3" in out
    locked = out.split("With a procsync_teach.Lock")[1].splitlines()[1:4]
    assert sorted(line.strip("│ ") for line in locked) == [
        f"Process {n} is printing line 1" for n in range(3)
    ]


def test_sync_async_shows_blocking_and_returning_at_once():
    result = run_demo("demo", "sync-async")
    assert_plain(result)
    out = result.stdout
    for n in range(4):
        assert f"apply(slow_square, ({n},)) returned {n * n} after" in out
    assert "4 calls to apply_async returned after" in out
    assert "ready right away: 0 of 4" in out
    assert "map(slow_square, range(4)) returned [0, 1, 4, 9] after" in out
    assert "map_async(slow_square, range(4)) returned after" in out
    assert "ready(): False" in out
    # Four timelines, each with the caller's lane and one per worker.
    assert len(re.findall(r"^caller ", out, flags=re.MULTILINE)) == 4
    assert len(re.findall(r"^worker 1", out, flags=re.MULTILINE)) == 4


def test_timeout_raises_and_the_task_is_collected_later():
    result = run_demo("demo", "timeout")
    assert_plain(result)
    out = result.stdout
    assert "try 1: get(timeout=0.6) raised procsync_teach.TimeoutError" in out
    assert "ready() is False" in out
    assert re.search(r"try \d: get\(timeout=0\.6\) collected 49", out)


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no SIGKILL")
def test_crash_raises_worker_died_promptly_and_the_pool_goes_on():
    result = run_demo("demo", "crash")
    assert_plain(result)
    out = result.stdout
    delay = re.search(r"raised procsync_teach\.WorkerDied ([\d.]+) ms after the kill", out)
    assert delay and float(delay[1]) < 2000
    assert "was killed by SIGKILL" in out
    assert "the pool keeps serving: map(slow_square, range(4)) returned [0, 1, 4, 9]" in out


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_demo_under_another_start_method(method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} on this platform")
    result = run_demo("demo", "garbled", "--procs", "2", "--start-method", method)
    assert_plain(result)
    assert f"(start method: {method})" in result.stdout
    assert "with a Lock: whole lines: 2 of 2" in result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl-C is a POSIX signal here")
def test_ctrl_c_exits_with_130_and_no_traceback():
    # A new session: the signal goes to the demo's whole process group, as from a terminal.
    demo = subprocess.Popen(
        [sys.executable, "-m", "procsync_teach", "demo", "timeout", "--duration", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        start_new_session=True,
        env=demo_environment(),
    )
    try:
        for line in demo.stdout:  # wait until the pool is up and a task runs
            if "returned at once" in line:
                break
        os.killpg(demo.pid, signal.SIGINT)
        _, err = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(timeout=10)
    assert demo.returncode == 130
    assert "Traceback" not in err
    assert "interrupted" in err


# -- the command line ------------------------------------------------------------------


def test_help_lists_every_demo():
    result = run_demo("--help")
    assert result.returncode == 0
    assert_lists_every_demo(result.stdout)


def assert_lists_every_demo(text: str) -> None:
    for name in DEMO_NAMES:
        assert re.search(rf"^  {name} +\S", text, flags=re.MULTILINE), name


def parse_in_process(capsys, *args: str) -> tuple[int, str, str]:
    """Run the command line in this process (no interpreter to start): exit code, out, err."""
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_demo_help_lists_every_demo(capsys):
    code, out, _ = parse_in_process(capsys, "demo", "--help")
    assert code == 0
    assert_lists_every_demo(out)


@pytest.mark.parametrize("value, message", [
    ("0", "must be between 1 and 32, not 0"),
    ("33", "must be between 1 and 32, not 33"),
    ("two", "'two' is not a number"),
])
def test_bad_procs_is_refused(capsys, value, message):
    code, _, err = parse_in_process(capsys, "demo", "garbled", "--procs", value)
    assert code == 2
    assert "argument --procs" in err and message in err


def test_bad_procs_is_refused_by_the_command():
    result = run_demo("demo", "sync-async", "--procs", "0")
    assert result.returncode == 2
    assert "argument --procs: must be between 1 and 32, not 0" in result.stderr


def test_an_option_the_demo_does_not_use_is_refused(capsys):
    code, _, err = parse_in_process(capsys, "demo", "timeout", "--procs", "2")
    assert code == 2
    assert "the timeout demo does not use --procs; it uses --duration" in err


def test_unknown_demo_lists_the_choices(capsys):
    code, _, err = parse_in_process(capsys, "demo", "deadlock")
    assert code == 2
    assert "invalid choice: 'deadlock'" in err
    for name in DEMO_NAMES:
        assert name in err


# -- drawing, in this process ------------------------------------------------------------


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_each_worker_colour_has_its_own_terminal_colour():
    codes = [demos.ansi_colour(colour) for colour in colours.WORKER_COLOURS]
    assert len(set(codes)) == len(codes)
    assert demos.ansi_colour("#1f77b4", truecolor=True) == "\x1b[38;2;31;119;180m"
    assert demos.nearest_256(255, 0, 0) == 196
    assert demos.nearest_256(0, 0, 0) == 16
    assert demos.nearest_256(128, 128, 128) == 244


def test_colour_only_for_a_terminal_and_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert demos.wants_colour(FakeTerminal())
    assert not demos.wants_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not demos.wants_colour(FakeTerminal())


def test_timeline_lanes_are_painted_in_worker_colours():
    out = FakeTerminal()
    term = demos.Terminal(out, io.StringIO(), colour=True, truecolor=False, progress=False,
                          blocks=True, columns=80)
    lanes = {"worker 0": [demos.Span(0.0, 0.5, "task", 0)],
             "worker 1": [demos.Span(0.5, 1.0, "failed", 1)]}
    demos.draw_timeline(term, lanes, origin=0.0, seconds=1.0)
    text = out.getvalue()
    assert demos.ansi_colour(colours.colour_of(0)) + "█" in text
    assert demos.ansi_colour(colours.colour_of(1)) + "×" in text
    assert "0 s" in text and "1 s" in text
    assert "× a task lost: its worker died" in text
