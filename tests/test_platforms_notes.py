"""Notebook 00 tells a learner on Windows or macOS which cells behave differently."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from procsync_teach.course.platforms import (
    NOTES,
    exit_code_meaning,
    platform_notes,
    print_platform_notes,
)

ROOT = Path(__file__).resolve().parent.parent


def test_linux_has_no_differences(capsys):
    print_platform_notes("linux")
    assert capsys.readouterr().out.startswith("✅ Linux:")


@pytest.mark.parametrize("platform, name, words", [
    ("win32", "Windows", ["spawn", "07 §4", "06 §8", "06 §5", "crash", "02 §7", "09 §4",
                          "10 §5", "12 §3", "14 §3"]),
    ("darwin", "macOS", ["spawn", "07 §5"]),
])
def test_windows_and_macos_learners_are_told_which_cells_differ(capsys, platform, name, words):
    print_platform_notes(platform)
    out = capsys.readouterr().out
    assert out.startswith(f"⚠️ {name}: the course works")
    for word in words:
        assert word in out


def test_an_unknown_system_is_warned_too():
    name, notes = platform_notes("freebsd14")
    assert name == "freebsd14" and notes


@pytest.mark.parametrize("exitcode, platform, words", [
    (-9, "linux", "killed by signal 9, SIGKILL"),
    (-9, "darwin", "killed by signal 9, SIGKILL"),
    # multiprocessing's kill() and psutil's on Windows: TerminateProcess, which is no signal
    (-15, "win32", "ended by TerminateProcess: Windows has no signals"),
    (15, "win32", "ended by TerminateProcess: Windows has no signals"),
    (0, "win32", "ended normally"),
    (3, "linux", "ended with exit code 3"),
])
def test_an_exit_code_is_explained_in_words_true_on_each_system(exitcode, platform, words):
    assert exit_code_meaning(exitcode, platform) == words


def test_every_note_names_cells_that_the_readme_lists_too():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for _, notes in NOTES.values():
        for cells in re.findall(r"\b\d\d §\d", " ".join(notes)):
            assert cells in readme, cells
