"""What children print reads the same on every Python version: no colour codes, and no
version-dependent description of a module in an error line."""

from __future__ import annotations

import os
import subprocess
import sys

from procsync_teach.course.child_output import (
    NO_COLOURS,
    child_environment,
    error_line,
    no_colours_in_children,
)

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


def test_no_colours_in_children_sets_then_restores_the_environment(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "kept")
    monkeypatch.delenv("PYTHON_COLORS", raising=False)
    with no_colours_in_children():
        assert {name: os.environ[name] for name in NO_COLOURS} == NO_COLOURS
    assert os.environ["NO_COLOR"] == "kept" and "PYTHON_COLORS" not in os.environ
