"""Tests of the static HTML copy of the course, made by `python tools/export_html.py`.

The course is exported once, into a temporary folder, and every test reads that copy: it
must list the notebooks in course order, keep their plots, and link page to page.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest

from tools import export_html

NOTEBOOKS = export_html.course_notebooks()
EMBEDDED_PNG = re.compile(r'<img[^>]*\ssrc="data:image/png;base64,')
NOTEBOOK_HREF = re.compile(r'href="[^"]*\.ipynb')


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the course was exported to, by the command's own entry point."""
    folder = tmp_path_factory.mktemp("html")
    assert export_html.main(["--out", str(folder)]) == 0
    return folder


def page(out: Path, notebook: Path) -> str:
    return (out / f"{notebook.stem}.html").read_text(encoding="utf-8")


def has_png_output(notebook: Path) -> bool:
    nb = nbformat.read(notebook, as_version=4)
    return any("image/png" in output.get("data", {})
               for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)


def test_there_are_notebooks_to_export():
    assert len(NOTEBOOKS) >= 2
    assert [path.name for path in NOTEBOOKS] == sorted(path.name for path in NOTEBOOKS)


def test_index_lists_every_notebook_in_course_order_with_its_title(out):
    index = (out / "index.html").read_text(encoding="utf-8")
    listed = re.findall(r'<li><a href="([^"]+)\.html">([^<]+)</a></li>', index)
    assert [stem for stem, _ in listed] == [notebook.stem for notebook in NOTEBOOKS]
    for (_, title), notebook in zip(listed, NOTEBOOKS, strict=True):
        nb = nbformat.read(notebook, as_version=4)
        assert title == html.escape(export_html.title_of(nb, fallback=""))
        assert title, f"{notebook.name} has no markdown heading"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_each_page_exists_with_its_plots(out, notebook):
    text = page(out, notebook)
    assert "jp-Notebook" in text
    if has_png_output(notebook):
        assert EMBEDDED_PNG.search(text), f"{notebook.stem}: no embedded PNG plot"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_links_between_pages_lead_to_pages(out, notebook):
    text = page(out, notebook)
    assert not NOTEBOOK_HREF.search(text), f"{notebook.stem}: a link to an .ipynb is left"
    targets = re.findall(r'href="(\d\d_[^"#/]+\.html)', text)
    assert targets, f"{notebook.stem} links to no other page"
    for target in targets:
        assert (out / target).exists(), f"{notebook.stem} links to {target}, which is missing"


def test_solutions_are_folded(out):
    for notebook in NOTEBOOKS:
        nb = nbformat.read(notebook, as_version=4)
        hidden = sum(cell.metadata.get("jupyter", {}).get("source_hidden", False)
                     for cell in nb.cells)
        assert page(out, notebook).count('<details class="course-solution">') == hidden
        hidden_outputs = sum(cell.metadata.get("jupyter", {}).get("outputs_hidden", False)
                             for cell in nb.cells)
        assert hidden_outputs == hidden  # a solution's output says the answer: folded too
        assert page(out, notebook).count('<details class="course-solution-output">') == hidden


def test_only_links_to_course_notebooks_are_rewritten():
    links = ('<a href="02_locks.ipynb">next</a> <a href="00_start_here.ipynb#The-course-map">'
             'map</a> <a href="other.ipynb">other</a> <a href="https://x.org/a.ipynb">web</a>')
    assert export_html.link_pages(links, {"00_start_here", "02_locks"}) == (
        '<a href="02_locks.html">next</a> <a href="00_start_here.html#The-course-map">'
        'map</a> <a href="other.ipynb">other</a> <a href="https://x.org/a.ipynb">web</a>'
    )


def has_experiment(notebook: Path) -> bool:
    return "VBox(children=" in notebook.read_text(encoding="utf-8")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_widgets_show_a_note_not_their_text_stand_in(out, notebook):
    text = page(out, notebook)
    stand_in = re.search(r"\b(VBox|HBox|IntSlider|FloatSlider|Dropdown)\(", html.unescape(text))
    assert not stand_in, f"{notebook.stem}: widget text left: {stand_in}"
    assert (export_html.EXPERIMENT_NOTE in text) == has_experiment(notebook)


def test_a_widget_output_becomes_a_note_and_other_outputs_stay():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[
        nbformat.v4.new_output("display_data", data={
            "text/plain": "VBox(children=(HBox(children=(IntSlider(value=2, description='n'"}),
        nbformat.v4.new_output("display_data", data={"text/plain": "Counter(value=2)"}),
        nbformat.v4.new_output("display_data", data={"text/plain": "IntSlider(value=2)"}),
        nbformat.v4.new_output("stream", text="VBox(children=... printed, not a widget\n"),
    ])])
    first, second, slider, third = export_html.with_widget_notes(nb).cells[0].outputs
    assert first.data == {"text/html": export_html.EXPERIMENT_NOTE}
    assert second.data == {"text/plain": "Counter(value=2)"}  # not a widget: left alone
    assert "an ipywidgets IntSlider" in slider.data["text/html"]
    assert third.text.startswith("VBox(children=")


def test_every_page_offers_the_projector_size(out):
    for notebook in NOTEBOOKS:
        text = page(out, notebook)
        assert 'id="course-projector"' in text and "body.projector" in text
