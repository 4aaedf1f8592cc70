"""How tools/build_notebooks.py turns a percent source into a notebook, before executing it."""

from __future__ import annotations

from pathlib import Path

import nbformat

from tools.build_notebooks import SANITIZE_CFG, load_sanitizers, parse_source, sanitize

SOURCE = """# %% [markdown]
# # A heading
#
# Some text.

# %%

%xmode Minimal
# %time stays a comment
print("hello")


# %% tags=["solution"]
answer = 42
"""


def parsed(tmp_path: Path) -> list[tuple[str, str, str, dict]]:
    path = tmp_path / "99_example.py"
    path.write_text(SOURCE, encoding="utf-8")
    return [
        (cell.id, cell.cell_type, cell.source, dict(cell.metadata))
        for cell in parse_source(path).cells
    ]


def test_cells_get_ids_from_their_place_and_only_their_tags(tmp_path: Path) -> None:
    assert parsed(tmp_path) == [
        ("99_example-000", "markdown", "# A heading\n\nSome text.", {}),
        ("99_example-001", "code", '%xmode Minimal\n# %time stays a comment\nprint("hello")', {}),
        (
            "99_example-002",
            "code",
            "answer = 42",
            {"tags": ["solution"], "jupyter": {"source_hidden": True, "outputs_hidden": True}},
        ),
    ]


def test_the_sanitize_file_replaces_what_varies_between_runs() -> None:
    sanitizers = load_sanitizers(SANITIZE_CFG)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(...)")])
    # As nbval does, a regex's ^ matches only at the start of an output's text.
    printed = "Overwriting job.py\npid 4242 at 0x7f3a2b1c0d90 took 1.5 s\n"
    notebook.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    sanitize(notebook, sanitizers)
    assert notebook.cells[0].outputs[0].text == (
        "Writing job.py\npid <pid> at 0x<addr> took <time>\n"
    )
