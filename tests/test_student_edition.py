"""The student edition (`python tools/student_edition.py`) is the course without its
solution cells: every other cell kept as committed, the checks still there, the links
between notebooks still leading somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tools import student_edition

COMMITTED = sorted(student_edition.NOTEBOOKS.glob(student_edition.COURSE_NOTEBOOKS))
LINK = re.compile(r"\]\(([\w.]+\.ipynb)(?:#([\w-]+))?\)")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the student edition was written to, by the command's own entry point."""
    folder = tmp_path_factory.mktemp("student")
    assert student_edition.main(["--out", str(folder)]) == 0
    return folder


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_every_notebook_is_written(out):
    assert sorted(path.name for path in out.iterdir()) == [path.name for path in COMMITTED]
    assert len(COMMITTED) >= 8


def test_the_course_has_solutions_to_leave_out():
    assert sum(student_edition.is_solution(cell) for path in COMMITTED
               for cell in read(path).cells) >= 2 * len(COMMITTED) - 2


@pytest.mark.parametrize("committed", COMMITTED, ids=lambda path: path.stem)
def test_no_solution_is_left_and_every_other_cell_is_kept_as_it_was(out, committed):
    original, student = read(committed), read(out / committed.name)
    assert not any(student_edition.is_solution(cell) for cell in student.cells)
    kept = [cell for cell in original.cells if not student_edition.is_solution(cell)]
    assert student.cells == kept
    assert student.metadata == original.metadata


@pytest.mark.parametrize("committed", COMMITTED, ids=lambda path: path.stem)
def test_each_exercise_still_ends_in_its_check(out, committed):
    def check_calls(nb):
        return [cell.source.splitlines()[-1] for cell in nb.cells if cell.cell_type == "code"
                and cell.source and re.match(r"check_\w+\(", cell.source.splitlines()[-1])]

    solutions_checks = [cell.source.splitlines()[-1] for cell in read(committed).cells
                        if student_edition.is_solution(cell) and "check_" in cell.source]
    student_checks = check_calls(read(out / committed.name))
    assert set(solutions_checks) <= set(student_checks)  # each solved exercise is still asked
    assert len(student_checks) >= len(solutions_checks)


def headings(nb: nbformat.NotebookNode) -> set[str]:
    """The anchors JupyterLab makes from a notebook's markdown headings."""
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    return {heading.strip().replace(" ", "-")
            for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


@pytest.mark.parametrize("committed", COMMITTED, ids=lambda path: path.stem)
def test_links_lead_to_notebooks_and_headings_of_the_edition(out, committed):
    text = "\n".join(cell.source for cell in read(out / committed.name).cells
                     if cell.cell_type == "markdown")
    for target, anchor in LINK.findall(text):
        # A notebook whose source is not written yet is the course's own gap, which
        # tests/test_course_links.py reports; every other link must work in the edition.
        if not (student_edition.NOTEBOOKS / "src" / target.replace(".ipynb", ".py")).exists():
            continue
        assert (out / target).exists(), target
        if anchor:
            assert anchor in headings(read(out / target)), f"{target}#{anchor}"


def test_leaving_solutions_out_does_not_change_the_notebook_it_reads():
    original = read(COMMITTED[0])
    solutions = sum(student_edition.is_solution(cell) for cell in original.cells)
    student = student_edition.without_solutions(original)
    assert sum(student_edition.is_solution(cell) for cell in original.cells) == solutions > 0
    assert len(student.cells) == len(original.cells) - solutions
