"""The library reads like a textbook: ruff-clean, and every public name explained.

``Pool??`` in Jupyter shows a docstring; a learner who finds none is left alone with the
code. These tests keep every public module, class, function and method documented.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import procsync_teach

ROOT = Path(__file__).resolve().parent.parent
MODULES = [
    importlib.import_module(info.name)
    for info in pkgutil.walk_packages(procsync_teach.__path__, "procsync_teach.")
    if not info.name.endswith("__main__")
]


def public_names(module):
    """The public classes and functions a module defines, and their public methods."""
    for name, value in vars(module).items():
        if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value) or inspect.isclass(value):
            yield f"{module.__name__}.{name}", value
        if inspect.isclass(value):
            for attribute, member in vars(value).items():
                if not attribute.startswith("_") and inspect.isfunction(member):
                    yield f"{module.__name__}.{name}.{attribute}", member


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__)
def test_every_public_name_has_a_docstring(module):
    assert inspect.getdoc(module), f"{module.__name__} has no module docstring"
    missing = [name for name, value in public_names(module) if not inspect.getdoc(value)]
    assert not missing, f"no docstring: {', '.join(missing)}"


def test_the_code_is_ruff_clean():
    ruff = shutil.which("ruff") or pytest.fail("ruff is missing: pip install -e '.[test]'")
    run = subprocess.run([ruff, "check", "--output-format", "concise", "."], cwd=ROOT,
                         capture_output=True, text=True, encoding="utf-8",
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_api_of_the_package_is_importable_by_name():
    for name in procsync_teach.__all__:
        assert hasattr(procsync_teach, name), name
    assert sys.modules["procsync_teach.pool"].Pool is procsync_teach.Pool
