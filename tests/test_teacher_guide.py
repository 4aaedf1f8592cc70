"""The teacher guide and the cheat-sheet name things that exist.

A 90-minute route that sends a teacher to a section or a demo that was renumbered or
renamed fails in front of a class; so does a cheat-sheet line with a method that does not
exist. These tests read both documents and look each name up.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import re
from importlib.util import find_spec
from pathlib import Path

import procsync_teach
from procsync_teach.course.demos import DEMOS

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "teacher-guide.md").read_text(encoding="utf-8")
CHEAT_SHEET = (ROOT / "docs" / "cheat-sheet.md").read_text(encoding="utf-8")

# Named by the cheat-sheet as "being written" by the course's next notebooks: looked up
# once they exist.
BEING_WRITTEN = {"procsync_teach.cluster"}

COURSE = [
    "00_start_here", "01_processes_and_garbled_output", "02_locks", "03_pool_sync_vs_async",
    "04_timeouts_and_lifecycle", "05_chunksize_and_speedup", "06_inside_the_library",
    "07_pitfalls", "08_when_tasks_fail", "09_the_executor", "10_queues_and_shared_state",
    "11_other_primitives", "12_threads_and_the_gil", "13_beyond_one_machine",
    "14_deep_dive_the_dispatcher",
]


def table_rows(text: str, heading: str) -> list[list[str]]:
    """The body rows of the first table under ``heading``, as lists of cells."""
    section = text.split(heading, 1)[1]
    rows = re.findall(r"^\|(.+)\|$", section.split("\n## ", 1)[0], flags=re.MULTILINE)
    return [[cell.strip() for cell in row.split("|")] for row in rows[2:]]


def route() -> list[list[str]]:
    return table_rows(GUIDE, "## A 90-minute session")


def test_the_minutes_table_lists_every_notebook_of_the_course_in_order():
    rows = table_rows(GUIDE, "## How long each notebook takes")
    assert [row[0].strip("`") for row in rows] == COURSE
    assert all(row[1].isdigit() and row[2].isdigit() for row in rows)


def test_the_route_takes_ninety_minutes():
    assert sum(int(row[0]) for row in route()) == 90


def test_every_section_the_route_names_is_a_heading_of_its_notebook():
    named = 0
    for row in route():
        for notebook, sections in re.findall(r"`(\d\d_\w+)`((?: ?,? ?§ \d+)*)", row[2]):
            source = (ROOT / "notebooks" / "src" / f"{notebook}.py").read_text(encoding="utf-8")
            for number in re.findall(r"§ (\d+)", sections):
                assert re.search(rf"^# ## {number}\. ", source, flags=re.MULTILINE), \
                    f"{notebook} has no section {number}"
                named += 1
    assert named >= 8  # the parse found the route's sections


def test_every_demo_the_route_names_exists():
    demos = [name for row in route() for name in re.findall(r"`demo ([\w-]+)", row[2])]
    assert demos and set(demos) <= set(DEMOS)
    assert {"lost-updates", "deadlock"} <= set(demos)  # both halves of the subject


def test_the_guide_and_the_cheat_sheet_link_each_other_and_are_linked_from_the_course():
    assert "(cheat-sheet.md)" in GUIDE and "(teacher-guide.md)" not in CHEAT_SHEET
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/teacher-guide.md)" in readme and "(docs/cheat-sheet.md)" in readme
    start = (ROOT / "notebooks" / "src" / "00_start_here.py").read_text(encoding="utf-8")
    assert "docs/teacher-guide.md" in start


def test_every_call_the_cheat_sheet_names_exists():
    calls = {
        "procsync_teach.": procsync_teach, "pool.": procsync_teach.Pool,
        "multiprocessing.": multiprocessing, "ex.": concurrent.futures.ProcessPoolExecutor,
        "fut.": concurrent.futures.Future,
    }
    checked = 0
    for prefix, owner in calls.items():
        for name in re.findall(rf"(?<![\w.]){re.escape(prefix)}(\w+)", CHEAT_SHEET):
            if f"{prefix}{name}" in BEING_WRITTEN:
                continue  # a module: looked up below
            assert hasattr(owner, name), f"{prefix}{name}"
            checked += 1
    for module in BEING_WRITTEN:
        assert module in CHEAT_SHEET
        if find_spec(module) is None:  # still being written: the sheet must say so
            assert f"`{module}.Pool` (notebook 13, being written)" in CHEAT_SHEET
        else:  # written: the sheet must not say it is not
            assert f"`{module}.Pool` (notebook 13)" in CHEAT_SHEET
            assert "being written" not in CHEAT_SHEET
    assert checked >= 20
