"""procsync_teach.Process and capture_output: children's output, caught and attributed."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from procsync_teach import Lock, Process, capture_output, now
from tests.conftest import needs_fork


def run_all(processes, timeout=30):
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout)
        assert process.exitcode == 0, f"{process.name} exited with {process.exitcode}"


def greet(lock, number):
    with lock:
        print("Process", number, "is running")


def print_word_by_word(number, start_at):
    while now() < start_at:  # start together, so that the writes overlap
        time.sleep(0.001)
    for word in f"process {number} says hello".split():
        print(word, end=" ", flush=True)
        time.sleep(0.002)
    print()


def test_a_function_defined_here_runs_under_every_start_method(start_method):
    lock = Lock()
    with capture_output() as screen:
        run_all([Process(target=greet, args=(lock, n), name=f"P{n}", context=start_method)
                 for n in range(4)])
    assert sorted(screen.lines()) == [f"Process {n} is running" for n in range(4)]
    assert sorted(screen.writers()) == ["P0", "P1", "P2", "P3"]


def test_the_stdlib_lock_still_reaches_the_children_by_inheritance(start_method):
    lock = multiprocessing.get_context(start_method).Lock()
    with capture_output() as screen:
        run_all([Process(target=greet, args=(lock, n), context=start_method) for n in range(3)])
    assert sorted(screen.lines()) == [f"Process {n} is running" for n in range(3)]


def test_each_write_is_a_record_that_knows_its_writer(start_method):
    start_at = now() + (1.0 if start_method != "fork" else 0.2)
    with capture_output() as screen:
        run_all([Process(target=print_word_by_word, args=(n, start_at), name=f"P{n}",
                         context=start_method) for n in range(3)])
    records = screen.records()
    for n in range(3):
        mine = "".join(r.text for r in records if r.who == f"P{n}")
        assert mine == f"process {n} says hello \n"  # nothing lost, nothing mixed into it
        times = [r.time for r in records if r.who == f"P{n}"]
        assert times == sorted(times)
    assert screen.text == "".join(r.text for r in records)


def test_the_html_view_colours_each_writer_and_escapes_text():
    with capture_output() as screen:
        run_all([Process(target=print, args=("<b>&",), name="P0")])
    html = screen._repr_html_()
    assert "&lt;b&gt;&amp;" in html and "<b>" not in html
    assert 'title="P0"' in html and "color:#1f77b4" in html


def test_records_survive_the_block_and_the_file_is_removed():
    with capture_output() as screen:
        run_all([Process(target=print, args=("kept",))])
        path = screen._path
    assert screen.lines() == ["kept"]
    assert not os.path.exists(path)


@needs_fork  # a forked child inherits the parent's stdout; a spawned one on Windows does not
def test_outside_a_capture_children_write_to_the_usual_place(capfd):
    run_all([Process(target=print, args=("to the terminal",), context="fork")])
    assert "to the terminal" in capfd.readouterr().out


def test_process_rejects_an_unknown_start_method():
    with pytest.raises(ValueError, match="unknown start method"):
        Process(target=print, context="teleport")
