"""What children print reads the same on every Python version (no colour codes, and no
version-dependent description of a module in an error line) and on every system (a child
that inherited no output descriptors, as a spawned child on Windows, is still heard)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from procsync_teach.course.child_output import (
    NO_COLOURS,
    catch_lost_output,
    child_environment,
    environment_for_children,
    error_line,
)
from procsync_teach.course.exercises.inside import children_stderr

# The same error as Python 3.10-3.12 and 3.13 print it.
OLD = "AttributeError: Can't get attribute 'cube' on <module '__main__' (built-in)>"
NEW = ("AttributeError: Can't get attribute 'cube' on <module '__main__' "
       "(<class '_frozen_importlib.BuiltinImporter'>)>")


def test_error_line_reads_the_same_on_every_version():
    text = "Traceback (most recent call last):\n  File ...\n{}\n"
    assert error_line(text.format(OLD), "AttributeError") == error_line(
        text.format(NEW), "AttributeError"
    ) == "AttributeError: Can't get attribute 'cube' on <module '__main__'>"


def test_error_line_is_none_without_that_error():
    assert error_line(["ValueError: x", "  AttributeError: indented"], "AttributeError") is None


def test_a_traceback_in_a_file_has_no_colour_codes_even_when_forced(tmp_path):
    environment = {**child_environment(), "FORCE_COLOR": "1"}
    with open(tmp_path / "stderr.txt", "wb") as stderr:
        subprocess.run([sys.executable, "-c", "1/0"], env=environment, stderr=stderr,
                       timeout=30)
    text = (tmp_path / "stderr.txt").read_text(encoding="utf-8")
    assert "ZeroDivisionError" in text and "\x1b[" not in text


def test_environment_for_children_sets_then_restores_the_environment(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "kept")
    monkeypatch.delenv("PYTHON_COLORS", raising=False)
    with environment_for_children(NO_COLOURS):
        assert {name: os.environ[name] for name in NO_COLOURS} == NO_COLOURS
    assert os.environ["NO_COLOR"] == "kept" and "PYTHON_COLORS" not in os.environ


# -- output that would be lost: a spawned child on Windows inherits no descriptors ------------

needs_preexec = pytest.mark.skipif(sys.platform == "win32",
                                   reason="starting a child without descriptors needs POSIX")


def without_output_descriptors() -> None:
    """Run in the child before Python starts: close its standard output and error, as a
    child that multiprocessing spawns on Windows has none."""
    os.close(1)
    os.close(2)


PRINTS_BOTH = "import sys; print('to stdout'); print('to stderr', file=sys.stderr)"


@needs_preexec
def test_a_child_without_output_descriptors_writes_to_the_files(tmp_path):
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    startup = tmp_path / "startup"
    startup.mkdir()
    environment = {**os.environ, **catch_lost_output(startup, stdout=str(out), stderr=str(err))}
    # and a grandchild, which inherits the descriptors its parent now has
    code = PRINTS_BOTH + "; import subprocess; subprocess.run([sys.executable, '-c', " \
                         "\"print('grandchild')\"], timeout=30)"
    subprocess.run([sys.executable, "-c", code], env=environment, timeout=30,
                   preexec_fn=without_output_descriptors)
    assert out.read_text(encoding="utf-8") == "to stdout\ngrandchild\n"
    assert err.read_text(encoding="utf-8") == "to stderr\n"


def test_a_child_with_its_own_output_keeps_it(tmp_path):
    out = tmp_path / "out.txt"
    startup = tmp_path / "startup"
    startup.mkdir()
    environment = {**os.environ, **catch_lost_output(startup, stdout=str(out))}
    run = subprocess.run([sys.executable, "-c", PRINTS_BOTH], env=environment, timeout=30,
                         capture_output=True, text=True, encoding="utf-8")
    assert (run.stdout, run.stderr) == ("to stdout\n", "to stderr\n")
    assert not out.exists()


@needs_preexec
def test_the_installations_own_sitecustomize_still_runs(tmp_path, monkeypatch):
    own = tmp_path / "own"
    own.mkdir()
    (own / "sitecustomize.py").write_text("print('the installation sets itself up')\n",
                                          encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(own))
    startup, out = tmp_path / "startup", tmp_path / "out.txt"
    startup.mkdir()
    environment = {**os.environ, **catch_lost_output(startup, stdout=str(out))}
    assert environment["PYTHONPATH"] == os.pathsep.join([str(startup), str(own)])
    subprocess.run([sys.executable, "-c", "print('then the child')"], env=environment,
                   timeout=30, preexec_fn=without_output_descriptors)
    assert out.read_text(encoding="utf-8") == ("the installation sets itself up\n"
                                              "then the child\n")


@needs_preexec
def test_children_stderr_catches_a_child_without_descriptors():
    with children_stderr() as caught:
        subprocess.run([sys.executable, "-c", "import sys; print('lost?', file=sys.stderr)"],
                       timeout=30, preexec_fn=without_output_descriptors)
    assert caught.lines == ["lost?"]
