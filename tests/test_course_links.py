"""The course hangs together: each notebook links to its neighbours, and every link works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SOURCES = sorted((Path(__file__).resolve().parent.parent / "notebooks" / "src").glob("*.py"))
LINK = re.compile(r"\]\(([\w.]+\.ipynb)(?:#([\w-]+))?\)")


def links(source: Path) -> list[tuple[str, str | None]]:
    text = source.read_text(encoding="utf-8")
    return [(match[1], match[2] or None) for match in LINK.finditer(text)]


def headings(source: Path) -> set[str]:
    """The anchors JupyterLab makes from the markdown headings (spaces become dashes)."""
    found = re.findall(r"^# #+ (.+)$", source.read_text(encoding="utf-8"), re.MULTILINE)
    return {heading.strip().replace(" ", "-") for heading in found}


def test_the_course_has_its_notebooks_in_order():
    numbers = [source.name[:2] for source in SOURCES]
    assert numbers == [f"{n:02d}" for n in range(len(SOURCES))] and len(SOURCES) >= 8


@pytest.mark.parametrize("index", range(len(SOURCES)), ids=[s.stem for s in SOURCES])
def test_each_notebook_links_to_its_neighbours(index):
    targets = {target for target, _ in links(SOURCES[index])}
    if index > 0:
        assert f"{SOURCES[index - 1].stem}.ipynb" in targets, "no link to the previous notebook"
    if index + 1 < len(SOURCES):
        assert f"{SOURCES[index + 1].stem}.ipynb" in targets, "no link to the next notebook"


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_every_link_reaches_a_notebook_and_heading_that_exist(source):
    for target, anchor in links(source):
        assert (source.parent / target.replace(".ipynb", ".py")).exists(), target
        if anchor:
            assert anchor in headings(source.parent / target.replace(".ipynb", ".py")), anchor
