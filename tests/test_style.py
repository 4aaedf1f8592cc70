"""The library reads like a textbook: ruff-clean, and every public name explained.

``Pool??`` in Jupyter shows a docstring; a learner who finds none is left alone with the
code. These tests keep every public module, class, function and method documented.
"""

from __future__ import annotations

import ast
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


# python -m procsync_teach is the course's command line: it runs the terminal demos.
COMMAND_LINE = "__main__.py"


def imports_of(path: Path) -> list[str]:
    """Every module a file imports, written absolute ("procsync_teach.course.colours")."""
    package = "procsync_teach"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package if node.level else ""  # the core is one level deep: "." is the package
            module = ".".join(part for part in (base, node.module) if part)
            found += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return found


def test_no_core_module_imports_the_course():
    """The core (procsync_teach/*.py) reads on its own; the course builds on it, not in it."""
    core = [path for path in (ROOT / "procsync_teach").glob("*.py") if path.name != COMMAND_LINE]
    assert len(core) > 10  # the glob found the core
    offenders = [
        f"{path.name} imports {module}"
        for path in sorted(core)
        for module in imports_of(path)
        if module == "procsync_teach.course" or module.startswith("procsync_teach.course.")
    ]
    assert offenders == []


def test_the_import_reader_sees_relative_and_absolute_imports(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("from .course.colours import colour_of\nfrom . import course\n"
                      "import procsync_teach.course.plots\nfrom .clock import now\n",
                      encoding="utf-8")
    assert imports_of(source) == [
        "procsync_teach.course.colours", "procsync_teach.course.colours.colour_of",
        "procsync_teach", "procsync_teach.course",
        "procsync_teach.course.plots",
        "procsync_teach.clock", "procsync_teach.clock.now",
    ]
