"""Write the student edition of the course: every notebook without its solution cells.

    python tools/student_edition.py                # into build/student/
    python tools/student_edition.py --out DIR      # into DIR

For teachers who grade the exercises. Each committed notebook `notebooks/NN_topic.ipynb` is
copied to the folder with the cells tagged `solution` left out; every other cell is kept as
it was committed, outputs included, so the exercises still end in their check call, and the
links between notebooks still work, since all the notebooks are written side by side under
their own names. Nothing runs: it takes a second. Learners need the `procsync_teach` library
installed, as for the full course.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
DEFAULT_OUT = ROOT / "build" / "student"

# The course's notebooks are named NN_topic.ipynb.
COURSE_NOTEBOOKS = "[0-9][0-9]_*.ipynb"


def is_solution(cell: NotebookNode) -> bool:
    """Is the cell a solution, which the student edition leaves out?"""
    return "solution" in cell.get("metadata", {}).get("tags", [])


def without_solutions(nb: NotebookNode) -> NotebookNode:
    """A copy of the notebook with its solution cells left out, everything else as it was."""
    student = nbformat.from_dict(nb)  # a deep copy: the original stays whole
    student.cells = [cell for cell in student.cells if not is_solution(cell)]
    return student


def write_student_edition(out: Path, notebooks: Path = NOTEBOOKS) -> list[Path]:
    """Write every course notebook without its solutions into ``out``; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(notebooks.glob(COURSE_NOTEBOOKS)):
        nb = nbformat.read(source, as_version=4)
        target = out / source.name
        nbformat.write(without_solutions(nb), target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"the folder to write to (default: {DEFAULT_OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    written = write_student_edition(args.out)
    print(f"{len(written)} notebooks without their solutions in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
