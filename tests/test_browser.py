"""Every notebook, run the way a learner runs it: in JupyterLab, in a browser, with Run All.

nbval and the notebook builder talk to the kernel directly. They never see what only a browser
shows: a widget that does not render ("Error displaying widget", "model not found"), a plot
that is missing from the page (``MPLBACKEND=Agg`` removes every inline plot without an error),
or an exception inside a widget's callback. These tests start JupyterLab with the README's own
command (read from README.md), drive Debian's headless Chromium with Playwright, follow every
link of notebook 00 and of the README (each must open: no 404), and for every notebook: open it,
clear it, Run All, wait until the kernel is done, click each Experiment's Run button, then
check that

* no cell shows an error (a traceback on stderr; cells meant to fail are allowed theirs),
* every code cell ran (Run All stops at an error),
* at least as many plots are drawn as the committed notebook has image/png outputs,
* every widget the committed notebook shows (as its text stand-in) is rendered, none failed,
* each Experiment's Run ends in "done".

JupyterLab serves a temporary copy of the notebooks with autosave off: the run can never write
into the course. Screenshots and a summary line per notebook go to ``build/browser/``.

Needs Playwright's Python package and a Chromium at /usr/bin/chromium; without them the test
is skipped on a learner's machine, and fails in CI (the environment variable CI is set).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests import browser
from tests.browser import Expected, JupyterLab, Seen

if TYPE_CHECKING:  # only for type hints: without Playwright the test skips, not this import
    from playwright.sync_api import BrowserContext

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
OUT = ROOT / "build" / "browser"

pytestmark = pytest.mark.browser  # .ci/run runs it on the default Python only
PER_NOTEBOOK = 180  # seconds; a notebook takes 10-30 s to run, plus ~10 s to open
VIEWPORT = {"width": 1280, "height": 900}


def in_ci() -> bool:
    """Whether this is a CI run, where skipping the browser test would hide its absence."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def require_browser_tools() -> None:
    """Skip when Playwright or Chromium is missing; in CI, fail instead."""
    reason = browser.missing_tools()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI must run the browser test, but {reason}", pytrace=False)
    pytest.skip(f"browser test not run: {reason}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    """A JupyterLab serving a copy of the course; shut down after the test, whatever happens."""
    require_browser_tools()
    server = JupyterLab(NOTEBOOKS, tmp_path_factory.mktemp("lab"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium(lab: JupyterLab, tmp_path_factory: pytest.TempPathFactory):
    """Headless Chromium with a fresh profile, driven by Playwright; closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=browser.CHROMIUM,
            headless=True,
            args=browser.CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        try:
            yield context
        finally:
            context.close()


def problems(expected: Expected, seen: Seen) -> list[str]:
    """What is wrong with one notebook's run; empty when the learner would see it all work.

    Cells are numbered from 1, as JupyterLab's status bar counts them.
    """
    found = [seen.problem] if seen.problem else []
    if seen.cells != expected.cells:
        found.append(f"{seen.cells} cells on the page, the notebook has {expected.cells}")
    found += [
        f"cell {index + 1} shows an error: {line}"
        for index, line in sorted(seen.errors.items())
        if index not in expected.may_fail
    ]
    if seen.not_run:
        found.append(f"cells never run: {[index + 1 for index in seen.not_run]}")
    if seen.images < expected.images:
        found.append(f"{seen.images} plots drawn, the committed notebook has {expected.images}")
    if seen.widgets < expected.widgets:
        found.append(f"{seen.widgets} widgets rendered, the committed notebook shows "
                     f"{expected.widgets}")
    found += [f"widget not rendered: {text!r}" for text in seen.failed_widgets]
    found += [f"Experiment {number}, Run: {status}"
              for number, status in enumerate(seen.reruns, start=1) if status != "done"]
    return found


def summary_line(name: str, expected: Expected, seen: Seen, found: list[str]) -> str:
    """One line per notebook: what the browser saw, how long it took, and the verdict."""
    verdict = "ok" if not found else f"FAILED ({len(found)} problems)"
    reruns = ", ".join(seen.reruns) or "none"
    return (
        f"{name}: {verdict} | {seen.cells} cells ({seen.code_cells} code), "
        f"plots {seen.images}/{expected.images}, widgets {seen.widgets}/{expected.widgets}, "
        f"Experiment runs: {reruns}, tracebacks {len(seen.errors)} | "
        f"Run All {seen.run_seconds:.1f} s, notebook {seen.seconds:.1f} s"
    )


def fresh_output_folder() -> None:
    """build/browser/ without the screenshots of an earlier run, which could mislead."""
    OUT.mkdir(parents=True, exist_ok=True)
    for old in [*OUT.glob("*.png"), OUT / "summary.txt"]:
        old.unlink(missing_ok=True)


def readme_course_table() -> list[str]:
    """The link targets of the README's course table, in its order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| notebook | what it teaches |", 1)[1].split("\n\n", 1)[0]
    return [match[1] for match in re.finditer(r"^\| \[`\w+`\]\(([^)]+)\)", table, re.MULTILINE)]


@pytest.mark.timeout(300)
def test_every_link_of_notebook_00_and_of_the_readme_opens(lab: JupyterLab,
                                                            chromium: BrowserContext) -> None:
    # Each link as JupyterLab shows it, in the server the README's command starts: a link
    # above that server's root (notebook 00's ../docs/) answers 404 there.
    start = "00_start_here.ipynb"
    page = chromium.new_page()
    try:
        links = browser.page_links(page, lab, start, browser.expected(lab.notebooks / start).cells)
        # The headings a link can jump to: JupyterLab 4 names them data-jupyter-id, not id.
        anchors = set(page.evaluate(
            "() => [...document.querySelectorAll('[data-jupyter-id]')]"
            ".map(e => e.dataset.jupyterId)"
        ))
        broken = []
        for link in links:
            href, path = link["href"], browser.served_path(lab, link["href"])
            if href.startswith("#"):
                answer = "ok" if href[1:] in anchors else "no such heading"
            elif path is None:
                answer = "not a file of the course"
            else:
                answer = browser.open_answer(lab, path)
                if answer == "ok" and not path.endswith(".ipynb"):  # no kernel started per link
                    answer = browser.click_opens_a_tab(page, start, link["text"], Path(path).name)
            if answer != "ok":
                broken.append(f"{start}: [{link['text']}]({href}): {answer}")
    finally:
        page.close()
        lab.shut_down_kernels()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    local = [target for target in browser.MARKDOWN_LINK.findall(readme)
             if not re.match(r"\w+:|#", target)]
    broken += [f"README.md: {target}: {answer}" for target in local
               if (answer := browser.open_answer(lab, target)) != "ok"]
    assert readme_course_table() == [f"notebooks/{notebook.name}" for notebook in NOTEBOOKS]
    assert len(links) > len(NOTEBOOKS) and set(readme_course_table()) <= set(local)
    assert not broken, "\n".join(broken)


@pytest.mark.timeout(900)
def test_every_notebook_runs_in_jupyterlab(lab: JupyterLab, chromium: BrowserContext) -> None:
    assert NOTEBOOKS, "no notebooks found"
    fresh_output_folder()
    lines, failures = [], []
    for notebook in NOTEBOOKS:
        # The copy the server serves: the course's notebook may be rebuilt meanwhile.
        expected = browser.expected(lab.notebooks / notebook.name)
        page = chromium.new_page()  # a tab per notebook: nothing carries over
        try:
            seen = browser.run_notebook(page, lab, notebook.name, expected.cells,
                                        OUT / f"{notebook.stem}.png", timeout=PER_NOTEBOOK)
        finally:
            page.close()
            lab.shut_down_kernels()  # its pool workers must not slow down the next notebook
        found = problems(expected, seen)
        lines.append(summary_line(notebook.stem, expected, seen, found))
        failures += [f"{notebook.stem}: {problem}" for problem in found]
        # Written after each notebook, so a run stopped by its timeout still leaves a record.
        (OUT / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(lines[-1])
    assert not failures, "\n".join(failures)
