"""The oldest versions that pyproject.toml allows still run the course (tools/check_floors.py).

The whole check makes a virtual environment and installs the course's dependencies at their
floors from the package index: 80 s on a quiet machine, 3 min on a busy one. So it runs only
when asked for (marker ``floors``: ``python -m pytest -m floors``), which .ci/run does once,
in its second lane. The small tests of its parts run with every ``python -m pytest``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tools.check_floors import at_floor, floor_requirements, notebook_imports


def test_a_floor_becomes_the_exact_version():
    assert at_floor("psutil>=6") == "psutil==6"
    assert at_floor("cloudpickle>=3,<4") == "cloudpickle==3"
    assert at_floor("nbformat") == "nbformat"


def test_every_dependency_of_the_course_is_installed_at_its_floor():
    floors = floor_requirements()
    assert "psutil==6" in floors and "matplotlib==3.8.4" in floors
    assert not any(">=" in spec for spec in floors)


def test_the_imports_of_every_notebook_are_found():
    found = notebook_imports()
    assert {"psutil", "distributed", "ipywidgets", "matplotlib", "procsync_teach"} <= found
    assert "shapes" not in found  # notebook 13 writes that module itself


@pytest.mark.floors
@pytest.mark.timeout(900)
def test_the_course_runs_with_every_dependency_at_its_floor(tmp_path):
    done = subprocess.run(
        [sys.executable, "tools/check_floors.py", "--venv", str(tmp_path / "venv")],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=840,
    )
    report = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    assert "worked with" in done.stdout and "psutil 6.0.0" in done.stdout, report
