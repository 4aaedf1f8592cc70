"""Checks on the committed notebooks that nbval does not make.

nbval re-runs each notebook and compares outputs; it does not notice a notebook that was never
executed, an error output it was told to skip, a leaked machine path, a missing kernelspec
(JupyterLab then blocks on a "Select Kernel" dialog) or outputs mostly excluded from comparison.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode

from tools.build_notebooks import line_with_machine_path, output_texts

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOURCES = sorted((ROOT / "notebooks" / "src").glob("*.py"))

IGNORE_MARKER = "# NBVAL_IGNORE_OUTPUT"
IGNORE_TAG = "nbval-ignore-output"


def problems(nb: NotebookNode) -> list[str]:
    """Everything wrong with a committed notebook, one message each; empty when it is fine."""
    found = [] if nb.metadata.get("kernelspec") else ["no kernelspec"]
    code = [cell for cell in nb.cells if cell.cell_type == "code" and cell.source.strip()]
    for index, cell in enumerate(code):
        tags = cell.metadata.get("tags", [])
        hidden = cell.metadata.get("jupyter", {})
        if "solution" in tags and not (hidden.get("source_hidden")
                                       and hidden.get("outputs_hidden")):
            # A solution's output says the answer ("✅ Correct! ... B and D"): hide it too.
            found.append(f"code cell {index} is a solution whose code or output is not hidden")
        if cell.execution_count is None:
            found.append(f"code cell {index} was not executed")
        for output in cell.outputs:
            if output.output_type == "error" and "raises-exception" not in tags:
                found.append(f"code cell {index} has an error output: {output.ename}")
            for text in output_texts(output):
                line = line_with_machine_path(text)
                if line is not None:
                    found.append(f"code cell {index} shows a machine path: {line!r}")
    ignored = [cell for cell in code if is_output_ignored(cell)]
    # nbval checks nothing in an ignored cell; most of a notebook must stay checked.
    if 4 * len(ignored) > len(code):
        found.append(f"{len(ignored)} of {len(code)} code cells ignore their output")
    return found


def is_output_ignored(cell: NotebookNode) -> bool:
    """Whether nbval skips comparing this cell's output."""
    return IGNORE_MARKER in cell.source or IGNORE_TAG in cell.metadata.get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_committed_notebook_has_no_problems(path: Path) -> None:
    assert problems(nbformat.read(path, as_version=4)) == []


def test_every_source_has_its_notebook_and_back() -> None:
    assert {path.stem for path in SOURCES} == {path.stem for path in NOTEBOOKS}


def tiny_notebook(*cells: NotebookNode) -> NotebookNode:
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3 (ipykernel)"}
    return nb


def executed_cell(source: str, *outputs: NotebookNode, tags: tuple[str, ...] = ()) -> NotebookNode:
    cell = nbformat.v4.new_code_cell(source, execution_count=1, outputs=list(outputs))
    cell.metadata.tags = list(tags)
    return cell


ERROR = nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[])


def test_a_clean_notebook_has_no_problems() -> None:
    printed = nbformat.v4.new_output("stream", name="stdout", text="pid <pid>\n")
    assert problems(tiny_notebook(executed_cell("print(1)", printed))) == []


def test_an_unexpected_error_output_is_a_problem() -> None:
    assert problems(tiny_notebook(executed_cell("1/0", ERROR))) == [
        "code cell 0 has an error output: ValueError"
    ]


def test_an_error_in_a_cell_tagged_raises_exception_is_expected() -> None:
    cell = executed_cell("1/0", ERROR, tags=("raises-exception",))
    assert problems(tiny_notebook(cell)) == []


def test_a_solution_with_its_output_shown_is_a_problem() -> None:
    nb = tiny_notebook(executed_cell("answer = 42", tags=("solution",)))
    nb.cells[0].metadata.jupyter = {"source_hidden": True}
    assert problems(nb) == ["code cell 0 is a solution whose code or output is not hidden"]
    nb.cells[0].metadata.jupyter["outputs_hidden"] = True
    assert problems(nb) == []


def test_unexecuted_cells_paths_and_missing_kernelspec_are_problems() -> None:
    printed = nbformat.v4.new_output("stream", name="stdout", text="saved to /home/ada/x\n")
    nb = tiny_notebook(nbformat.v4.new_code_cell("x = 1"), executed_cell("print(x)", printed))
    del nb.metadata["kernelspec"]
    assert problems(nb) == [
        "no kernelspec",
        "code cell 0 was not executed",
        "code cell 1 shows a machine path: 'saved to /home/ada/x'",
    ]


def test_ignoring_more_than_a_quarter_of_the_outputs_is_a_problem() -> None:
    checked = [executed_cell("x = 1") for _ in range(2)]
    ignored = [executed_cell(f"{IGNORE_MARKER}\nx"), executed_cell("y", tags=(IGNORE_TAG,))]
    assert problems(tiny_notebook(*checked, *ignored[:1], executed_cell("z"))) == []
    assert problems(tiny_notebook(*checked, *ignored)) == ["2 of 4 code cells ignore their output"]
