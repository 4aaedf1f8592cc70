"""Check that the course runs with the oldest versions its dependencies allow.

    python tools/check_floors.py                   # a venv in build/floors/, then the checks
    python tools/check_floors.py --python python3.10

pip always installs the newest releases, so a floor in pyproject.toml (``psutil>=6``) is
never tried by a fresh install; it matters where the packages are there already, such as an
Anaconda base. This makes a virtual environment, installs every dependency of the course
(not the test extra) at its floor (``psutil==6``; one without a floor at pip's choice) as
wheels only, then, with that environment's Python, imports every module the notebooks and
the library import and calls what each floor is there for. Exit status 0 when all of it works.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import io
import os
import pkgutil
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENV = ROOT / "build" / "floors"
# Modules a notebook imports that no package provides: notebook 13 writes shapes.py itself.
NOT_INSTALLED = {"__main__", "shapes"}


def at_floor(spec: str) -> str:
    """A requirement with its lower bound made exact: "psutil>=6" -> "psutil==6"."""
    return re.sub(r">=\s*([^,;\s]+)(,[^;]*)?", r"==\1", spec)


def floor_requirements() -> list[str]:
    """The course's dependencies from pyproject.toml, each at its floor."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI
        import tomli as tomllib
    with open(ROOT / "pyproject.toml", "rb") as file:
        return [at_floor(spec) for spec in tomllib.load(file)["project"]["dependencies"]]


def make_venv(folder: Path, python: str) -> Path:
    """A fresh virtual environment in ``folder``, with the course's floors; its Python."""
    subprocess.run([python, "-m", "venv", "--clear", str(folder)], check=True)
    bin_dir = folder / ("Scripts" if sys.platform == "win32" else "bin")
    new_python = bin_dir / ("python.exe" if sys.platform == "win32" else "python")
    subprocess.run([str(new_python), "-m", "pip", "install", "--quiet", "--only-binary=:all:",
                    *floor_requirements()], check=True)
    return new_python


def notebook_imports() -> set[str]:
    """The top-level modules that the notebooks' sources import."""
    names = set()
    for path in (ROOT / "notebooks" / "src").glob("*.py"):
        # IPython's %magic and !command lines are no Python: read them as comments.
        text = re.sub(r"^[%!]", "#", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - NOT_INSTALLED


def import_everything() -> None:
    """Import every module the notebooks import, and every module of the library."""
    for name in sorted(notebook_imports()):
        importlib.import_module(name)
    import procsync_teach

    for module in pkgutil.walk_packages(procsync_teach.__path__, "procsync_teach."):
        if module.name.rsplit(".", 1)[-1] != "__main__":
            importlib.import_module(module.name)


def check_here(packages: list[str]) -> None:
    """Import and call, in this Python, what each dependency's floor is for; raise if one
    fails; then print the versions of ``packages`` that did it."""
    from importlib.metadata import version

    import_everything()
    records = check_the_pool()
    check_plots_and_widgets(records)
    check_the_tools()
    check_the_cluster()
    print("worked with", ", ".join(f"{name} {version(name)}" for name in packages))


def check_the_pool() -> list:
    """psutil's net_connections() (notebook 13; psutil 6), and a Pool's lambda, which
    travels with cloudpickle's internals (cloudpickle 3); the pool's records."""
    import psutil

    from procsync_teach import Pool

    psutil.Process().net_connections()
    with Pool(2) as pool:
        assert pool.map(lambda x: x * x, range(4)) == [0, 1, 4, 9]
        return pool.records()


def check_plots_and_widgets(records: list) -> None:
    """A timeline (matplotlib), and an Experiment's controls and first figure (ipywidgets 8)."""
    import ipywidgets
    import matplotlib

    matplotlib.use("Agg")
    from procsync_teach.course.plots import plot_task_timeline
    from procsync_teach.course.widgets import Experiment

    experiment = Experiment(lambda steps=1: plot_task_timeline(records).figure,
                            steps=ipywidgets.IntSlider(1, 1, 3))
    with contextlib.redirect_stdout(io.StringIO()):  # outside Jupyter, display() prints reprs
        experiment._ipython_display_()


def check_the_tools() -> None:
    """The teacher's tools (nbconvert, nbformat), and JupyterLab's command."""
    sys.path.insert(0, str(ROOT))
    importlib.import_module("tools.export_html").HTMLExporter()
    importlib.import_module("tools.student_edition")
    subprocess.run([sys.executable, "-m", "jupyter", "lab", "--version"], check=True,
                   stdout=subprocess.DEVNULL)


def check_the_cluster() -> None:
    """The course's Pool on a Dask cluster of its own (distributed)."""
    from procsync_teach import cluster

    with cluster.Pool(1) as on_dask:
        assert on_dask.apply(abs, (-2,)) == 2


def main(argv: list[str] | None = None) -> int:
    """Make the environment and run the checks in it (or, with --here, run them here)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable,
                        help="the Python to make the environment with (default: this one)")
    parser.add_argument("--venv", type=Path, default=None,
                        help=f"where to make it (default: {DEFAULT_VENV.relative_to(ROOT)})")
    parser.add_argument("--here", nargs="*", metavar="PACKAGE",
                        help="run the checks in this Python instead (what the venv's runs), "
                             "then print the versions of the packages named")
    arguments = parser.parse_args(argv)
    if arguments.here is not None:
        check_here(arguments.here)
        return 0
    start = time.monotonic()
    python = make_venv(arguments.venv or DEFAULT_VENV, arguments.python)
    installed = time.monotonic()
    packages = [re.split(r"[=<>;\s]", spec)[0] for spec in floor_requirements()]
    with tempfile.TemporaryDirectory() as workdir:  # the library from this checkout, not pip's
        done = subprocess.run([str(python), str(Path(__file__).resolve()), "--here", *packages],
                              cwd=workdir, env={**os.environ, "PYTHONPATH": str(ROOT)})
    print(f"install {installed - start:.0f} s, checks {time.monotonic() - installed:.0f} s")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
