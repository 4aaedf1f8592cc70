"""Notebook 00 tells a learner on Windows or macOS which cells behave differently."""

from __future__ import annotations

import pytest

from procsync_teach.course.platforms import platform_notes, print_platform_notes


def test_linux_has_no_differences(capsys):
    print_platform_notes("linux")
    assert capsys.readouterr().out.startswith("✅ Linux:")


@pytest.mark.parametrize("platform, name, words", [
    ("win32", "Windows", ["spawn", "07 §4", "06 §8", "06 §5", "crash"]),
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
