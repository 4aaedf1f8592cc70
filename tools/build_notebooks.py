"""Regenerate the course notebooks from their sources: the one command for it.

Every notebook `notebooks/NN_topic.ipynb` is built from `notebooks/src/NN_topic.py`, a Python
script in jupytext's "percent" format, which diffs and reviews like code (jupytext reads it):

    # %% [markdown]
    # # A heading
    # Markdown lines carry a leading "# ", which the build strips.

    # %%
    print("a code cell")

    # %% tags=["solution"]
    print("a cell whose input and output JupyterLab shows collapsed")

The build executes each notebook in a fresh `python3` kernel (from notebooks/, as a learner
would), cleans what would differ between machines and runs, and writes it to notebooks/.
A cell may fail only if it is tagged `raises-exception`.

    python tools/build_notebooks.py                # build every notebook
    python tools/build_notebooks.py 01_locks       # build the named ones
    python tools/build_notebooks.py --check        # exit 1 if a committed notebook is stale
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from nbformat import NotebookNode
from nbval.plugin import get_sanitize_patterns

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "src"
SANITIZE_CFG = NOTEBOOKS / "sanitize.cfg"

# Same limit as --nbval-cell-timeout in pyproject.toml: a cell the build accepts, nbval accepts.
CELL_TIMEOUT = 120

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# The kernel reports its own Python version here; keeping only the name keeps notebooks
# identical whichever Python built them.
LANGUAGE_INFO = {"name": "python"}

# The sources' format: jupytext's "percent" Python scripts. Magics are written as in a
# notebook (`%xmode Minimal`), so a comment such as "# %time is shorter" stays a comment.
SOURCE_FORMAT = {"extension": ".py", "format_name": "percent", "comment_magics": False}

# Paths that only exist on the machine that ran the notebook. Committed outputs must not show
# them: they leak where someone worked and differ for every learner. IPython's tracebacks
# write the home directory as "~/". The look-behind lets URLs such as https://x.org/home/ pass.
MACHINE_PATH = re.compile(
    r"(?<![\w.])(?:~/|/work/|/tmp/|/root/|/home/|/Users/|/opt/|/usr/lib/|/usr/local/|/private/"
    r"|/var/folders/)|\b[A-Za-z]:\\"
)

# Tracebacks colour file names; the codes would hide a path from MACHINE_PATH's look-behind.
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")

# Widget views point at kernel objects by random ids; their text/plain stand-in stays, and
# the live widget comes back when the learner runs the cell.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class BuildError(Exception):
    """A notebook could not be built; the message names the notebook and cell."""


def parse_source(path: Path) -> NotebookNode:
    """Read a percent file with jupytext into an unexecuted notebook with deterministic ids."""
    nb = jupytext.read(path, fmt=SOURCE_FORMAT)
    nb.nbformat_minor = 5
    for index, cell in enumerate(nb.cells):
        # Ids from the position keep rebuilt notebooks' diffs small; jupytext's are random.
        cell.id = f"{path.stem}-{index:03d}"
        # Blank lines only separate cells in the source; jupytext keeps those after a marker.
        cell.source = cell.source.strip("\n")
        tags = cell.metadata.get("tags", [])
        # Only the tags travel: jupytext's other keys record how the source was laid out.
        cell.metadata = NotebookNode(tags=tags) if tags else NotebookNode()
        if "solution" in tags:
            # JupyterLab shows such a cell's input and output collapsed, so learners try
            # first: the output ("✅ Correct! ...") would say the answer as plainly.
            cell.metadata.jupyter = {"source_hidden": True, "outputs_hidden": True}
    return nb


def execute(nb: NotebookNode, name: str) -> None:
    """Run every cell in a fresh kernel; only cells tagged raises-exception may fail."""
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
        record_timing=False,
        store_widget_state=False,
        # nbclient itself lets a cell tagged raises-exception fail.
        allow_errors=False,
    )
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as error:
        raise BuildError(f"{name}: a cell failed while executing:\n{error}") from error


def clean(nb: NotebookNode) -> None:
    """Remove what differs between machines and runs from notebook metadata and outputs."""
    nb.metadata = NotebookNode(kernelspec=KERNELSPEC, language_info=LANGUAGE_INFO)
    for cell in code_cells(nb):
        for output in cell.outputs:
            output.get("data", {}).pop(WIDGET_VIEW, None)


def load_sanitizers(path: Path = SANITIZE_CFG) -> dict[str, str]:
    """The {regex: replacement} pairs of a sanitize file, read by nbval's own reader.

    nbval keeps them in a dict too, so a regex given twice keeps its first place and its last
    replacement there as here.
    """
    return dict(get_sanitize_patterns(path.read_text(encoding="utf-8")))


def sanitize(nb: NotebookNode, sanitizers: dict[str, str]) -> None:
    """Apply every sanitizer to every text an output shows, in place."""

    def scrub(text: str) -> str:
        for regex, replacement in sanitizers.items():
            text = re.sub(regex, replacement, text)
        return text

    for cell in code_cells(nb):
        for output in cell.outputs:
            if output.output_type == "stream":
                output.text = scrub(output.text)
            elif output.output_type == "error":
                output.evalue = scrub(output.evalue)
                output.traceback = [scrub(line) for line in output.traceback]
            else:
                for mime, value in output.get("data", {}).items():
                    if mime.startswith("text/"):
                        output.data[mime] = scrub(value)


def code_cells(nb: NotebookNode) -> list[NotebookNode]:
    """The notebook's code cells, in order."""
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def output_texts(output: NotebookNode) -> list[str]:
    """Every piece of text an output shows a reader, tracebacks included."""
    if output.output_type == "stream":
        return [output.text]
    if output.output_type == "error":
        return [output.ename, output.evalue, *output.traceback]
    # Sorted, because a notebook read from disk has its mime types in another order.
    data = sorted(output.get("data", {}).items())
    return [value for mime, value in data if mime.startswith("text/")]


def machine_path_problems(nb: NotebookNode, name: str) -> list[str]:
    """One message per code cell whose outputs show a machine path."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            for text in output_texts(output):
                line = line_with_machine_path(text)
                if line is not None:
                    problems.append(f"{name} cell {index} (id {cell.get('id')}): {line!r}")
    return problems


def line_with_machine_path(text: str) -> str | None:
    """The first line of text that shows a machine path, colour codes removed, or None."""
    for line in ANSI_COLOUR.sub("", text).splitlines():
        if MACHINE_PATH.search(line):
            return line
    return None


def comparable(nb: NotebookNode) -> list[tuple[str, str, list[str]]]:
    """What --check compares: each cell's type, source and shown text, as nbval sees it.

    Like nbval, it does not compare the outputs of cells that ignore their output.
    """
    return [
        (cell.cell_type, cell.source, [] if ignores_output(cell) else shown_text(cell))
        for cell in nb.cells
    ]


def ignores_output(cell: NotebookNode) -> bool:
    """Is the cell marked for nbval not to compare its output?"""
    tags = cell.get("metadata", {}).get("tags", [])
    return "nbval-ignore-output" in tags or "NBVAL_IGNORE_OUTPUT" in cell.source


def shown_text(cell: NotebookNode) -> list[str]:
    """A cell's outputs as text; runs of one stream are joined, since chunking varies."""
    shown: list[str] = []
    previous_stream = None
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == previous_stream:
            shown[-1] += output.text
            continue
        previous_stream = output.name if output.output_type == "stream" else None
        if output.output_type == "error":
            # Tracebacks change with IPython versions; nbval too compares only these two.
            shown.append(f"{output.ename}: {output.evalue}")
        else:
            shown.append("".join(output_texts(output)))
    return shown


def build(stem: str, sanitizers: dict[str, str]) -> NotebookNode:
    """Parse, execute, clean and sanitize one notebook; refuse outputs with machine paths."""
    name = f"notebooks/{stem}.ipynb"
    nb = parse_source(SOURCES / f"{stem}.py")
    execute(nb, name)
    clean(nb)
    sanitize(nb, sanitizers)
    problems = machine_path_problems(nb, name)
    if problems:
        raise BuildError(
            "outputs show machine paths (print less, or use %xmode Minimal for tracebacks):\n  "
            + "\n  ".join(problems)
        )
    nbformat.validate(nb)
    return nb


def is_stale(stem: str, built: NotebookNode) -> bool:
    """Whether the committed notebook differs from a fresh build in source or shown text."""
    committed = NOTEBOOKS / f"{stem}.ipynb"
    if not committed.exists():
        return True
    return comparable(nbformat.read(committed, as_version=4)) != comparable(built)


def build_one(stem: str, sanitizers: dict[str, str], check: bool) -> bool:
    """Build one notebook, then write it, or with check compare it; True if it is stale."""
    started = time.monotonic()
    nb = build(stem, sanitizers)
    stale = check and is_stale(stem, nb)
    if check:
        verdict = "differs from the committed notebook" if stale else "up to date"
    else:
        nbformat.write(nb, NOTEBOOKS / f"{stem}.ipynb")
        verdict = "written"
    print(f"{stem}: {verdict} ({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return stale


def selected_stems(names: list[str]) -> list[str]:
    """Stems of the notebooks to build: the named ones, or all sources."""
    available = sorted(path.stem for path in SOURCES.glob("*.py"))
    if not names:
        return available
    stems = [Path(name).stem for name in names]
    unknown = [stem for stem in stems if stem not in available]
    if unknown:
        raise BuildError(f"no source in notebooks/src/ for: {', '.join(unknown)}")
    return stems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks to build, e.g. 01_locks (default: all)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="build in memory only; exit 1 if a committed notebook differs",
    )
    args = parser.parse_args(argv)
    try:
        stems = selected_stems(args.names)
        sanitizers = load_sanitizers()
        stale = [stem for stem in stems if build_one(stem, sanitizers, args.check)]
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if stale:
        print(f"stale: {', '.join(stale)}; run python tools/build_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
