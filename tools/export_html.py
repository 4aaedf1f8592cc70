"""Export the course to static HTML: a copy to read in a browser, without Jupyter or a kernel.

    python tools/export_html.py                 # into build/html/
    python tools/export_html.py --out DIR       # into DIR

Each committed notebook `notebooks/NN_topic.ipynb` becomes `NN_topic.html`, showing the outputs
it was committed with: nothing runs, so the export takes seconds. Plots are PNG images inside
the page. Widgets show their default state: an Experiment's first figure is an ordinary
output; where JupyterLab would draw a widget's controls, a short note says what they do
(never the widget's text stand-in, `VBox(children=(HBox(...`). Links between notebooks
(`02_locks.ipynb`) lead to the pages (`02_locks.html`) instead, and `index.html` lists the
notebooks in course order, by title.

As in JupyterLab, a solution's code and its output are folded away: the reader clicks to
open them. A button at the top of each page switches to projector size: larger text, plots
as wide as the screen.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from pathlib import Path
from typing import NamedTuple

import ipywidgets
import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
DEFAULT_OUT = ROOT / "build" / "html"

# The course's notebooks are named NN_topic.ipynb, so sorting their names puts them in order.
COURSE_NOTEBOOKS = "[0-9][0-9]_*.ipynb"

# nbconvert's "lab" page, with one change: a cell that JupyterLab shows with its input and
# output collapsed (a solution) has each folded in a <details>, closed until clicked.
PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block input_group -%}
{%- if cell.metadata.get('jupyter', {}).get('source_hidden') -%}
<details class="course-solution"><summary>Solution: try first, then click to open</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock input_group %}
{% block output_group -%}
{%- if cell.metadata.get('jupyter', {}).get('outputs_hidden') -%}
<details class="course-solution-output"><summary>Its output: click to open</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock output_group %}
{% block extra_css %}
{{ super() }}
<style>
details.course-solution > summary, details.course-solution-output > summary {
  cursor: pointer; padding: 0.3em 1em; font-style: italic; color: var(--jp-ui-font-color2);
}
.course-widget-note {
  border-left: 4px solid #0072b2; padding: 0.4em 1em; font-style: italic;
}
#course-projector { position: fixed; top: 0.5em; right: 0.5em; z-index: 10; }
body.projector { font-size: 150%; }
body.projector .jp-RenderedHTMLCommon, body.projector .jp-OutputArea-output pre,
body.projector .jp-InputArea-editor { font-size: 1.5rem; }
body.projector .jp-OutputArea-output img { width: 100%; height: auto; }
</style>
{% endblock extra_css %}
{% block body_header %}
{{ super() }}
<button id="course-projector" onclick="document.body.classList.toggle('projector')">
Projector size</button>
{% endblock body_header %}
"""

# What an ipywidgets widget leaves in a notebook executed without a browser: its text
# stand-in, such as "VBox(children=(HBox(children=(IntSlider(value=2, ...".
WIDGET_TEXT = re.compile(r"^(?P<kind>[A-Z][A-Za-z]*)\(")
# An Experiment (procsync_teach.course.widgets) is a box of controls above its figure.
EXPERIMENT_NOTE = (
    '<p class="course-widget-note">Here JupyterLab shows the experiment\'s controls '
    "(sliders and a Run button) to re-run it with other settings. Open the notebook in "
    "JupyterLab to use them; the figure below is the first run, with the settings the "
    "controls start with.</p>"
)
CONTROL_NOTE = (
    '<p class="course-widget-note">Here JupyterLab shows a live control (an ipywidgets '
    "{kind}). Open the notebook in JupyterLab to use it.</p>"
)

# An href to a notebook, with or without an anchor: href="02_locks.ipynb#Key-points".
NOTEBOOK_LINK = re.compile(r'href="(?P<stem>[^"/#?]+)\.ipynb(?P<anchor>#[^"]*)?"')


class Page(NamedTuple):
    """One exported notebook: its file name without extension, and its title."""

    stem: str  # e.g. "02_locks"
    title: str  # e.g. "02 · Locks"


def course_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The course's notebooks, in course order."""
    return sorted(folder.glob(COURSE_NOTEBOOKS))


def title_of(nb: NotebookNode, fallback: str) -> str:
    """The text of the notebook's first markdown heading, or ``fallback`` if it has none."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            heading = re.match(r"#{1,6}\s+(.+)", line)
            if heading:
                return heading[1].strip()
    return fallback


def widget_note(text: str) -> str | None:
    """The note to show instead of ``text``, if it is a widget's text stand-in, else None."""
    kind = WIDGET_TEXT.match(text)
    widget_class = getattr(ipywidgets, kind["kind"], None) if kind else None
    if not (isinstance(widget_class, type) and issubclass(widget_class, ipywidgets.Widget)):
        return None
    if issubclass(widget_class, ipywidgets.Box):
        return EXPERIMENT_NOTE
    return CONTROL_NOTE.format(kind=kind["kind"])


def with_widget_notes(nb: NotebookNode) -> NotebookNode:
    """The notebook with every widget's text stand-in replaced by a note that says what
    it is for (in place; returned for convenience)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            note = widget_note(data["text/plain"]) if set(data) == {"text/plain"} else None
            if note is not None:
                output["data"] = {"text/html": note}
    return nb


def make_exporter() -> HTMLExporter:
    """One exporter for every page: setting one up (its templates) is the slow part."""
    return HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"course_page.html.j2": PAGE_TEMPLATE})],
        template_file="course_page.html.j2",
    )


def link_pages(page_html: str, stems: set[str]) -> str:
    """Point links to the course's notebooks at their pages; leave other links alone."""

    def to_page(link: re.Match) -> str:
        if link["stem"] not in stems:
            return link[0]
        return f'href="{link["stem"]}.html{link["anchor"] or ""}"'

    return NOTEBOOK_LINK.sub(to_page, page_html)


def export_notebook(exporter: HTMLExporter, path: Path, out: Path, stems: set[str]) -> Page:
    """Write one notebook's page into ``out``; return what the index needs to list it."""
    nb = with_widget_notes(nbformat.read(path, as_version=4))
    page = Page(path.stem, title_of(nb, fallback=path.stem))
    # The page's <title> comes from the resources' name.
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": page.title}})
    (out / f"{page.stem}.html").write_text(link_pages(body, stems), encoding="utf-8")
    return page


def index_html(pages: list[Page]) -> str:
    """The course map: every page, in course order, linked by its title."""
    items = "\n".join(
        f'  <li><a href="{page.stem}.html">{html.escape(page.title)}</a></li>' for page in pages
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>procsync-teach: the course</title>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 42rem; margin: 3rem auto;
         padding: 0 1rem; line-height: 1.5; }}
  li {{ margin: 0.4rem 0; }}
</style>
</head>
<body>
<h1>procsync-teach: process synchronisation and process pools</h1>
<p>The course's notebooks as they were committed, outputs included, to read in order.
To run the code and the experiments, open the notebooks in JupyterLab (see the README).</p>
<ol class="course-map">
{items}
</ol>
</body>
</html>
"""


def export(out: Path, notebooks: list[Path]) -> list[Page]:
    """Export every notebook to ``out``, then write the index; return the pages, in order."""
    out.mkdir(parents=True, exist_ok=True)
    exporter = make_exporter()
    stems = {path.stem for path in notebooks}
    pages = [export_notebook(exporter, path, out, stems) for path in notebooks]
    (out / "index.html").write_text(index_html(pages), encoding="utf-8")
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="the folder to write the pages to (default: build/html)")
    args = parser.parse_args(argv)
    notebooks = course_notebooks()
    if not notebooks:
        print(f"error: no notebooks matching {COURSE_NOTEBOOKS} in notebooks/", file=sys.stderr)
        return 1
    started = time.monotonic()
    pages = export(args.out, notebooks)
    print(f"wrote {len(pages)} pages and index.html to {args.out} "
          f"({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
