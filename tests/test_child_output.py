"""What children print reads the same on every Python version (no colour codes, and no
version-dependent description of a module in an error line) and on every system (a child
that inherited no output descriptors, as a spawned child on Windows, is still heard)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from procsync_teach.course import child_output, scripts
from procsync_teach.course.child_output import (
    IGNORED_PYTHONPATH,
    NO_COLOURS,
    catch_lost_output,
    child_environment,
    environment_for_children,
    error_line,
    read_output,
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
    assert read_output(out, startup, "stdout") == "to stdout\ngrandchild\n"
    assert read_output(err, startup, "stderr") == "to stderr\n"


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
    assert read_output(out, startup, "stdout") == ("the installation sets itself up\n"
                                                  "then the child\n")


@needs_preexec
def test_children_stderr_catches_a_child_without_descriptors():
    with children_stderr() as caught:
        subprocess.run([sys.executable, "-c", "import sys; print('lost?', file=sys.stderr)"],
                       timeout=30, preexec_fn=without_output_descriptors)
    assert caught.lines == ["lost?"]


def caught_children(tmp_path, **streams):
    """An environment for children whose lost output is caught, and its start-up folder."""
    startup = tmp_path / "startup"
    startup.mkdir()
    return {**os.environ, **catch_lost_output(startup, **streams)}, startup


def start_without_descriptors(code: str, environment: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], env=environment,
                            preexec_fn=without_output_descriptors)


@needs_preexec
def test_concurrent_children_each_write_a_file_of_their_own_and_lose_nothing(tmp_path):
    # One shared file that all append to loses text on Windows, where an append is "seek to
    # the end, then write": each child writes its own, and nothing is lost in the merge.
    out = tmp_path / "out.txt"
    environment, startup = caught_children(tmp_path, stdout=str(out))
    # one write() per line: print's pieces are writes of their own, which may interleave
    code = ("import sys\nfor n in range(300):\n"
            "    sys.stdout.write(f'child {sys.argv[1]} line {n} of 300\\n')\n")
    children = [subprocess.Popen([sys.executable, "-c", code, str(child)], env=environment,
                                 preexec_fn=without_output_descriptors) for child in range(6)]
    assert [child.wait(timeout=60) for child in children] == [0] * 6
    assert not out.exists()  # written by nobody: each child has its own
    assert len(list(startup.glob("stdout-*.txt"))) == 6
    lines = read_output(out, startup, "stdout").splitlines()
    assert len(lines) == 6 * 300
    for child in range(6):
        assert [line for line in lines if line.startswith(f"child {child} ")] == [
            f"child {child} line {n} of 300" for n in range(300)]


@needs_preexec
def test_the_merged_output_is_in_the_order_written_not_child_by_child(tmp_path):
    out, go = tmp_path / "out.txt", tmp_path / "go"
    environment, startup = caught_children(tmp_path, stdout=str(out))
    first = start_without_descriptors(
        "import os, time\nprint('first')\n"
        f"while not os.path.exists({str(go)!r}):\n    time.sleep(0.01)\nprint('fourth')\n",
        environment)
    try:
        deadline = time.monotonic() + 60
        while "first" not in read_output(out, startup, "stdout"):
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.01)
        with open(out, "a", encoding="utf-8") as shared:  # as the parent writes its own
            shared.write("second\n")
        start_without_descriptors("print('third')", environment).wait(timeout=60)
        go.touch()
        assert first.wait(timeout=60) == 0
    finally:
        first.kill()
    assert read_output(out, startup, "stdout") == "first\nsecond\nthird\nfourth\n"


@needs_preexec
def test_the_start_up_runs_once_however_its_folder_is_spelt_on_the_path(tmp_path, monkeypatch):
    # On Windows, C:\\Temp and c:\\temp are one folder: here, a link to the folder.
    out = tmp_path / "out.txt"
    environment, startup = caught_children(tmp_path, stdout=str(out))
    (tmp_path / "link").symlink_to(startup, target_is_directory=True)
    environment["PYTHONPATH"] += os.pathsep + str(tmp_path / "link")
    child = start_without_descriptors("print('once')", environment)
    assert child.wait(timeout=60) == 0
    assert read_output(out, startup, "stdout") == "once\n"


@needs_preexec
def test_run_script_says_so_when_python_ignores_pythonpath(tmp_path, monkeypatch):
    # A Python that ignores PYTHONPATH (-I, -E, an embeddable distribution's ._pth file)
    # never runs the start-up: on Windows its spawned children's output is lost.
    ignoring = tmp_path / "python-E"
    ignoring.write_text(f'#!/bin/sh\nexec {sys.executable} -E "$@"\n', encoding="utf-8")
    ignoring.chmod(0o755)
    monkeypatch.setattr(child_output, "CHILDREN_INHERIT_OUTPUT", False)
    monkeypatch.setattr(scripts, "CHILDREN_INHERIT_OUTPUT", False)
    assert scripts.run_script("print('ran')", timeout=30).stderr == ""
    monkeypatch.setattr(sys, "executable", str(ignoring))
    run = scripts.run_script("import sys\nprint(sys.flags.ignore_environment)", timeout=30)
    assert run.stdout == "1\n" and run.stderr == IGNORED_PYTHONPATH
