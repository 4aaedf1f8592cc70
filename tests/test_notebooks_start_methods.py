"""The course gives the same outputs under every start method.

The main test run validates the notebooks with nbval under the start method in use
(``PROCSYNC_START_METHOD``, else Python's default). This module runs nbval again, in a
separate pytest process, once for each *other* start method this platform has, against
the same committed outputs: a learner on macOS (spawn) or on Python 3.14 (forkserver)
must see what the notebook shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from procsync_teach import start_method
from tests.conftest import START_METHODS

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
OTHER_METHODS = [method for method in START_METHODS if method != start_method()]

pytestmark = pytest.mark.other_start_methods  # .ci/run runs it on the default Python only


@pytest.mark.timeout(900)
@pytest.mark.parametrize("method", OTHER_METHODS)
def test_every_notebook_matches_its_outputs_under(method):
    if not NOTEBOOKS:
        pytest.fail("no notebooks found in notebooks/")
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
        "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "notebooks/sanitize.cfg",
        "--nbval-cell-timeout=120", *[str(path.relative_to(ROOT)) for path in NOTEBOOKS],
    ]
    environment = {**os.environ, "PROCSYNC_START_METHOD": method}
    environment.pop("PYTEST_CURRENT_TEST", None)
    run = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True,
                         encoding="utf-8", timeout=840)
    assert run.returncode == 0, f"nbval under {method} failed:\n{run.stdout[-6000:]}"
