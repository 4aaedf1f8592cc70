"""Choosing the start method: by the environment variable, a context argument, or the demos'
``--start-method`` option. All three refuse an unknown name with the same message."""

from __future__ import annotations

import multiprocessing

import pytest

from procsync_teach import get_context, start_method
from procsync_teach.__main__ import main

RULE = "is not a start method this platform has; choose one of"


def test_the_environment_variable_chooses_the_start_method(monkeypatch):
    monkeypatch.setenv("PROCSYNC_START_METHOD", " Spawn ")
    assert start_method() == "spawn"
    assert get_context().get_start_method() == "spawn"


def test_an_unknown_start_method_in_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv("PROCSYNC_START_METHOD", "teleport")
    with pytest.raises(ValueError) as error:
        start_method()
    methods = ", ".join(multiprocessing.get_all_start_methods())
    assert str(error.value) == f"PROCSYNC_START_METHOD 'teleport' {RULE} {methods}"


def test_an_unknown_context_name_is_refused():
    with pytest.raises(ValueError, match=f"context 'teleport' {RULE}"):
        get_context("teleport")


def test_the_demos_refuse_a_start_method_this_platform_lacks(monkeypatch, capsys):
    # As on Windows, which has spawn only; argparse's choices allow fork everywhere.
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "garbled", "--start-method", "fork"])
    assert exit_.value.code == 2
    assert f"--start-method 'fork' {RULE} spawn" in capsys.readouterr().err
