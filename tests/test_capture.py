"""procsync_teach.Process and capture_output: children's output, caught and attributed."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
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


def print_with_torn_appends(number, start_at):
    """Print word by word, each write reaching the file in two pieces with a pause between.

    An append on Windows is "seek to the end, then write", and another process can come
    between the two steps. A write cut in two does the same harm on Linux: into a file
    that several processes append to, another's record slips into the middle of this one.
    """
    write = os.write

    def write_in_two_pieces(fd, data):
        middle = len(data) // 2
        written = write(fd, data[:middle])
        time.sleep(0.001)
        return written + write(fd, data[middle:])

    os.write = write_in_two_pieces
    print_word_by_word(number, start_at)


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


def test_nothing_is_lost_even_when_appends_are_not_atomic(start_method):
    start_at = now() + (1.0 if start_method != "fork" else 0.2)
    with capture_output() as screen:
        run_all([Process(target=print_with_torn_appends, args=(n, start_at), name=f"P{n}",
                         context=start_method) for n in range(3)])
    for n in range(3):
        mine = "".join(r.text for r in screen.records() if r.who == f"P{n}")
        assert mine == f"process {n} says hello \n"


def test_the_html_view_colours_each_writer_and_escapes_text():
    import procsync_teach.course  # noqa: F401  (it sets the course's palette)

    with capture_output() as screen:
        run_all([Process(target=print, args=("<b>&",), name="P0")])
    html = screen._repr_html_()
    assert "&lt;b&gt;&amp;" in html and "<b>" not in html
    assert 'title="P0"' in html and "color:#0072b2" in html


def test_the_core_draws_a_capture_without_the_course():
    """The core never imports the course: alone, it draws every writer in the text's colour."""
    script = (
        "import sys\n"
        "from procsync_teach import Process, capture_output\n"
        "with capture_output() as screen:\n"
        "    p = Process(target=print, args=('hi',), name='P0', context='spawn')\n"
        "    p.start()\n"
        "    p.join(30)\n"
        "print('procsync_teach.course' in sys.modules, screen._repr_html_())\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         encoding="utf-8", timeout=60, check=True)
    assert run.stdout == (
        'False <pre style="line-height:1.3"><span style="color:inherit" title="P0">hi</span>'
        '<span style="color:inherit" title="P0">\n</span></pre>\n'
    )


def test_text_of_puts_one_process_writes_back_together():
    with capture_output() as screen:
        run_all([Process(target=print, args=("a", "b"), name=f"P{n}") for n in range(2)])
    assert screen.text_of("P1") == "a b\n" and screen.text_of("P9") == ""


def test_records_survive_the_block_and_the_file_is_removed():
    with capture_output() as screen:
        run_all([Process(target=print, args=("kept",))])
        path = screen._folder
    assert screen.lines() == ["kept"]
    assert not os.path.exists(path)


@needs_fork  # a forked child inherits the parent's stdout; a spawned one on Windows does not
def test_outside_a_capture_children_write_to_the_usual_place(capfd):
    run_all([Process(target=print, args=("to the terminal",), context="fork")])
    assert "to the terminal" in capfd.readouterr().out


def test_process_rejects_an_unknown_start_method():
    with pytest.raises(ValueError, match="not a start method this platform has"):
        Process(target=print, context="teleport")
