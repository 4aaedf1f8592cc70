"""The benchmark scripts run, and print what the README says they print, on every platform:
with the platform's default start method, or the one asked for.

Speed itself is not asserted here: these machines are shared and their speed drifts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.platform_profiles import environment_under

ROOT = Path(__file__).resolve().parent.parent


def run(script: str, *args: str, environment: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, encoding="utf-8", timeout=120,
                          cwd=ROOT, env=environment)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_compare_prints_a_row_with_both_times_and_their_ratio():
    output = run("compare.py", "--repeat", "1", "--only", "apply round trips")
    [row] = [line for line in output.splitlines() if line.startswith("| 500 sequential")]
    ours, stdlib, ratio = (float(cell) for cell in row.split("|")[2:5])
    assert ours > 0 and stdlib > 0
    assert abs(ratio - ours / stdlib) < 0.01 + 0.01 * ratio  # printed rounded


def test_the_profile_names_the_dispatchers_functions():
    output = run("profile_dispatcher.py", "--items", "300", "--rounds", "1", "--top", "40")
    assert re.search(r"map of 300 tasks: \d+\.\d+ s", output)
    assert "_take_reply" in output and "_hand_out_jobs" in output


# -- where spawn is the only start method (Windows; macOS as the tests meet it) --------------

@pytest.fixture(scope="module")
def spawn_only():
    """The environment of a platform whose one start method is spawn."""
    with environment_under("spawn_only") as environment:
        yield environment


def start_methods_of_rows(output: str) -> list[str]:
    return re.findall(r"^\| Pool\(2\) start\+apply\+close\+join, (\w+) \|", output, re.MULTILINE)


def test_compare_runs_with_the_only_start_method_there_is(spawn_only):
    output = run("compare.py", "--repeat", "1", "--only", "Pool(2)", environment=spawn_only)
    assert output.startswith("# ") and ", spawn, median of 1" in output.splitlines()[0]
    assert start_methods_of_rows(output) == ["spawn"]


def test_compare_contended_lock_runs_with_the_only_start_method_there_is(spawn_only):
    output = run("compare.py", "--repeat", "1", "--only", "lock, 2 processes",
                 environment=spawn_only)
    assert re.search(r"^\| lock, 2 processes x 5,000 increments \| \d", output, re.MULTILINE)


def test_the_profile_runs_with_the_only_start_method_there_is(spawn_only):
    output = run("profile_dispatcher.py", "--items", "300", "--rounds", "1", "--top", "40",
                 environment=spawn_only)
    assert "_take_reply" in output


def test_compare_starts_its_processes_the_way_it_is_asked(monkeypatch):
    monkeypatch.delenv("PROCSYNC_START_METHOD", raising=False)
    output = run("compare.py", "--repeat", "1", "--only", "apply round trips",
                 "--start-method", "spawn", environment=dict(os.environ))
    assert ", spawn, median of 1" in output.splitlines()[0]
