"""The benchmark scripts run, and print what the README says they print.

Speed itself is not asserted here: these machines are shared and their speed drifts.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, encoding="utf-8", timeout=120,
                          cwd=ROOT)
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
