"""Run the course in a real JupyterLab and a headless Chromium, as a learner would.

Used by ``tests/test_browser.py``. Three parts:

* what the committed notebook promises (:func:`expected`): how many plots and widgets a run
  must show, and which cells may show an error;
* a JupyterLab server (:class:`JupyterLab`) started with the README's own ``jupyter lab``
  command (read from README.md, so the two cannot drift apart), in a temporary copy of what
  the course opens (notebooks, guides, README), with autosave off, so that a test run can
  never write its outputs into the course;
* driving one notebook in a browser page (:func:`run_notebook`): open, Run All, wait until the
  kernel is really done, then read what the page shows (:class:`Seen`).

JupyterLab 4 facts this relies on are in the project's field notes ("JupyterLab 4 in headless
Chromium"): Run All is the menu command ``runmenu:run-all``; the status bar is no sign of
"done"; error outputs have the mime type of stderr; a notebook needs its kernelspec.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets
import nbformat

if TYPE_CHECKING:  # only for type hints: without Playwright the test skips, not this import
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parent.parent
# What the course's pages open, copied for the server: the notebooks and what they link to.
COURSE_FILES = ["README.md", "LICENSE", "LICENSE-lessons", "docs"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Settings a learner's JupyterLab does not have, each for a reason given:
SETTINGS = {
    # Autosave would write the test run's outputs into the notebooks it serves.
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # With windowing, cells scrolled out of view are never painted, so never checked.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # No question about news in a toast over the notebook, and no network.
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

# IPython's rendering of an exception: a rule, then "SomeError   Traceback (most recent ...)",
# or for a SyntaxError "Cell In[3], line 1" and a last line "SyntaxError: ...". Text written
# to stderr by a child process is a traceback too. Printed exception names go to stdout.
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*Cell In\[\d+\], line \d+", re.M)
FAILED_WIDGET = re.compile(r"Error displaying widget|model not found", re.I)

# -- what the committed notebook promises --------------------------------------------------


@dataclass
class Expected:
    """What a run of a notebook must show, read from the committed ``.ipynb``."""

    cells: int
    code_cells: int
    images: int  # image/png outputs: every plot of the committed run
    widgets: int  # outputs whose text stand-in is an ipywidgets repr (the view is stripped)
    may_fail: set[int]  # indexes (among all cells) of cells allowed to show an error


def expected(path: Path) -> Expected:
    """Count the committed notebook's plots and widgets, and the cells meant to fail."""
    nb = nbformat.read(path, as_version=4)
    images = widgets = code_cells = 0
    may_fail = set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        code_cells += 1
        if "raises-exception" in cell.metadata.get("tags", []):
            may_fail.add(index)
        for output in cell.outputs:
            data = output.get("data", {})
            images += "image/png" in data
            widgets += is_widget_stand_in(data)
            if output.get("name") == "stderr" and TRACEBACK.search(output.text):
                may_fail.add(index)  # a traceback the course shows on purpose
    return Expected(len(nb.cells), code_cells, images, widgets, may_fail)


def is_widget_stand_in(data: dict) -> bool:
    """Whether an output's data is the text/plain repr of an ipywidgets widget, alone.

    The course's notebooks are committed without widget views (they point at objects of a
    kernel that is gone); what stays is the widget's repr, such as ``VBox(children=...``.
    """
    if set(data) != {"text/plain"}:
        return False
    name = re.match(r"(\w+)\(", data["text/plain"])
    widget_class = name and getattr(ipywidgets, name[1], None)
    return isinstance(widget_class, type) and issubclass(widget_class, ipywidgets.DOMWidget)


# -- the JupyterLab server ------------------------------------------------------------------


def readme_command() -> list[str]:
    """The README's command that opens the course, after its ``pip install -e . &&``, in words:
    ``["jupyter", "lab", ..., "notebooks/00_start_here.ipynb"]``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^pip install -e \. && (jupyter lab .*)$", readme, re.MULTILINE)
    if found is None:
        raise LookupError("README.md has no line `pip install -e . && jupyter lab ...`")
    return shlex.split(found[1])


def free_port() -> int:
    """A localhost port nobody listens on now (the server is told not to try others)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_settings(folder: Path) -> None:
    """Write :data:`SETTINGS` as JupyterLab's user settings files under ``folder``."""
    for plugin, values in SETTINGS.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def write_server_config(folder: Path) -> None:
    """Jupyter's config for the test's server, in the throwaway config folder.

    It turns off the check of JupyterLab's build that a page load starts: seconds of CPU in
    the server while the first notebook runs, and a "build recommended" dialog that would
    block clicks where the build is stale. Nothing the course needs.
    """
    page_config = {"buildCheck": False, "buildAvailable": False}
    config = {"ServerApp": {"tornado_settings": {"page_config_data": page_config}}}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "jupyter_server_config.json").write_text(json.dumps(config), encoding="utf-8")


def kernel_environment(jupyter_dirs: Path) -> dict[str, str]:
    """The environment of the server, and so of every kernel it starts.

    As a learner's, except: no ``MPLBACKEND`` (``Agg`` silently removes every inline plot),
    no ``PYTEST_CURRENT_TEST`` (ipykernel then stops capturing what child processes print),
    and Jupyter's own config and runtime folders in ``jupyter_dirs``, away from the user's.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "PYTEST_CURRENT_TEST")}
    env["JUPYTER_CONFIG_DIR"] = str(jupyter_dirs / "config")
    env["JUPYTER_RUNTIME_DIR"] = str(jupyter_dirs / "runtime")
    return env


class JupyterLab:
    """The README's ``jupyter lab``, run in a copy of the course, for one test session.

    ``root`` is the copy of the repository's top folder, where the README's command runs;
    ``notebooks`` its notebooks folder. Start it with :meth:`start`; always :meth:`stop` it
    (it also ends its kernels).
    """

    def __init__(self, notebooks: list[Path], workdir: Path):
        self.root = workdir / "course"
        self.notebooks = self.root / "notebooks"
        self.notebooks.mkdir(parents=True)
        for notebook in notebooks:  # a copy: nothing the run does can reach the course
            shutil.copy2(notebook, self.notebooks / notebook.name)
        for name in COURSE_FILES:
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, self.root / name)
            else:
                shutil.copy2(ROOT / name, self.root / name)
        self.lab_dirs = workdir / "lab"
        write_settings(self.lab_dirs / "settings")
        write_server_config(self.lab_dirs / "config")
        self.token = os.urandom(16).hex()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "jupyterlab.log"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        """The README's ``jupyter lab`` (by this Python), with what a test needs added."""
        command = [
            sys.executable, "-m", *readme_command(),
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--LabApp.user_settings_dir={self.lab_dirs / 'settings'}",
            f"--LabApp.workspaces_dir={self.lab_dirs / 'workspaces'}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # CI runs as root; Jupyter refuses it otherwise
        return command

    def start(self, timeout: float = 60) -> None:
        """Start the server and wait until its API answers."""
        with open(self.log_path, "wb") as log:
            # A session of its own: a Ctrl-C in pytest's terminal stops pytest, which stops
            # the server through its fixture, instead of asking the server a question on stdin.
            self.process = subprocess.Popen(
                self.command(), cwd=self.root, env=kernel_environment(self.lab_dirs),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited early:\n{self.log()}")
            try:
                self.api("GET", "/api/status", timeout=2)
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.25)
        raise RuntimeError(f"jupyter lab did not answer in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        """The server's output so far, for a failure message."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def api(self, method: str, path: str, timeout: float = 30) -> object:
        """Call the server's REST API with the token; return the decoded JSON, if any."""
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def notebook_url(self, name: str) -> str:
        """The address that opens one notebook of notebooks/ in a workspace of its own.

        A fresh workspace per notebook: JupyterLab would otherwise reopen, and start kernels
        for, the notebooks opened before it.
        """
        workspace = re.sub(r"\W", "-", Path(name).stem)
        return f"{self.url}/lab/workspaces/{workspace}/tree/notebooks/{name}?token={self.token}"

    def shut_down_kernels(self) -> None:
        """End every kernel (deleting its session); returns once they are gone."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def stop(self, timeout: float = 20) -> None:
        """End the kernels and the server, politely then by force; bounded by ``timeout``.

        Kernels run in sessions of their own (jupyter_client starts them so), so killing the
        server would orphan them: they are shut down through the API first. One left behind
        anyway ends itself when it sees its parent gone (ipykernel watches it).
        """
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.shut_down_kernels()
            self.api("POST", "/api/shutdown", timeout=5)
            self.process.wait(timeout)
        except (OSError, urllib.error.URLError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout)


# -- one notebook in a browser page ---------------------------------------------------------

# The notebook's state, read in one go: the kernel's as the notebook toolbar shows it, and the
# input prompts ("[*]:" queued or running, "[ ]:" not run, "[7]:" run; "" when collapsed).
STATE_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const kernel = panel.querySelector('.jp-KernelName');
  return {
    cells: panel.querySelectorAll('.jp-Notebook .jp-Cell').length,
    status: indicator ? indicator.getAttribute('data-status') : null,
    kernel: kernel ? kernel.textContent.trim() : '',
    prompts: [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
      .map(prompt => prompt.textContent.trim()),
    errors: [...panel.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
      .filter(output => /Traceback \\(most recent call last\\)|^\\s*Cell In\\[\\d+\\], line \\d+/m
        .test(output.textContent)).length,
    dialog: [...document.querySelectorAll('.jp-Dialog')].map(d => d.innerText).join(' / '),
  };
}"""

# What each cell shows, in notebook order. Widget views carry no mime type in the page: an
# output holding a rendered widget has a .jupyter-widgets child; a failed one says so.
CELLS_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  return [...panel.querySelectorAll('.jp-Notebook .jp-Cell')].map(cell => {
    const outputs = [...cell.querySelectorAll('.jp-OutputArea-output')];
    return {
      code: cell.classList.contains('jp-CodeCell'),
      prompt: (cell.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim(),
      stderr: outputs
        .filter(o => o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr')
        .map(o => o.textContent),
      images: outputs
        .filter(o => o.getAttribute('data-mime-type') === 'image/png')
        .flatMap(o => [...o.querySelectorAll('img')])
        .filter(img => img.complete && img.naturalWidth > 0).length,
      widgets: outputs.filter(o => o.querySelector(':scope > .jupyter-widgets')).length,
      widgetTexts: outputs
        .filter(o => o.classList.contains('jupyter-widgets')
                     || o.querySelector('.jupyter-widgets, .jupyter-widgets-error-widget'))
        .map(o => (o.querySelector('.jupyter-widgets-error-widget') ? 'error widget: ' : '')
                  + o.textContent.slice(0, 200)),
    };
  });
}"""


@dataclass
class Seen:
    """What the browser showed for one notebook after Run All."""

    cells: int = 0
    code_cells: int = 0
    images: int = 0  # image/png outputs whose picture loaded
    widgets: int = 0  # outputs holding a rendered widget view
    errors: dict[int, str] = field(default_factory=dict)  # cell index -> last traceback line
    failed_widgets: list[str] = field(default_factory=list)
    not_run: list[int] = field(default_factory=list)  # indexes of code cells left unexecuted
    reruns: list[str] = field(default_factory=list)  # each Experiment's status after "Run"
    problem: str = ""  # why the run could not be completed (a timeout, a dialog), if so
    run_seconds: float = 0.0  # from Run All to the kernel being idle for good
    seconds: float = 0.0  # for the whole notebook, opening and screenshot included


def state(page: Page) -> dict | None:
    """The notebook's state (see :data:`STATE_JS`), or None before its panel exists."""
    return page.evaluate(STATE_JS)


def poll(page: Page, done, timeout: float, what: str, polls: int = 1, every: float = 0.25) -> dict:
    """Read :func:`state` until ``done(state)`` holds ``polls`` times in a row.

    Raises TimeoutError naming ``what`` and the last state (with any dialog's text).
    """
    deadline, in_a_row, last = time.monotonic() + timeout, 0, None
    while time.monotonic() < deadline:
        last = state(page)
        in_a_row = in_a_row + 1 if last and done(last) else 0
        if in_a_row >= polls:
            return last
        time.sleep(every)
    raise TimeoutError(f"{what} not within {timeout:.0f} s; last seen: {last}")


def kernel_ready(cells: int):
    """Done-test: every cell is on the page and the notebook's kernel is started and idle.

    The indicator also says "idle" before any kernel exists, hence the kernel's name.
    """
    return lambda s: (
        s["cells"] == cells and s["status"] == "idle" and s["kernel"] not in ("", "No Kernel")
    )


def run_finished(s: dict) -> bool:
    """Done-test for Run All, true several polls in a row when the kernel is done.

    The status bar is no sign (it flickers to Idle between queued cells): no prompt may show
    "[*]" and the indicator must say idle. And the run must have happened, not be about to:
    every prompt is numbered, or an error stopped Run All (cells after it stay "[ ]").
    """
    if s["status"] != "idle" or "[*]:" in s["prompts"]:
        return False
    return "[ ]:" not in s["prompts"] or s["errors"] > 0


def menu(page: Page, title: str, command: str) -> None:
    """Choose a menu item, as a learner does: the menu by its title, the item by its command."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(f"^{title}$")).click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').click()


def hide_file_browser(page: Page) -> None:
    """Click the open side-bar tab (the file browser) to close it: room for the notebook."""
    open_tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if open_tab.count():
        open_tab.first.click()


def rerun_experiments(page: Page, timeout: float) -> list[str]:
    """Click every Experiment's "Run" button and return its status label once it settles.

    ``procsync_teach.course.widgets.Experiment`` disables the button while it runs and sets the
    label beside it to "done" or "failed: ..."; an exception in a widget callback is seen
    nowhere else (nbval and nbclient never click).
    """
    buttons = page.locator(".jp-OutputArea-output button.jupyter-button", has_text="Run")
    statuses = []
    for index in range(buttons.count()):
        button = buttons.nth(index)
        label = button.locator("xpath=following-sibling::*[contains(@class, 'widget-label')]")
        button.click()
        deadline = time.monotonic() + timeout
        text = label.inner_text().strip()
        while not (text == "done" or text.startswith("failed")):
            if time.monotonic() > deadline:
                text = f"no answer in {timeout:.0f} s (status {text!r})"
                break
            time.sleep(0.2)
            text = label.inner_text().strip()
        statuses.append(text)
    return statuses


def read_cells(page: Page, seen: Seen) -> None:
    """Fill ``seen`` with what the cells show (see :data:`CELLS_JS`)."""
    cells = page.evaluate(CELLS_JS)
    seen.cells = len(cells)
    for index, cell in enumerate(cells):
        seen.code_cells += cell["code"]
        seen.images += cell["images"]
        seen.widgets += cell["widgets"]
        if cell["code"] and cell["prompt"] == "[ ]:":
            seen.not_run.append(index)
        for text in cell["stderr"]:
            if TRACEBACK.search(text):
                seen.errors[index] = last_line(text)
        seen.failed_widgets += [t for t in cell["widgetTexts"] if failed_widget(t)]


def last_line(text: str) -> str:
    """The last non-blank line of a traceback: "ValueError: bad value"."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def failed_widget(text: str) -> bool:
    """Whether a widget output's text says it was not rendered."""
    return text.startswith("error widget") or bool(FAILED_WIDGET.search(text))


def screenshot(page: Page, path: Path, max_height: int = 30_000) -> None:
    """Save the whole notebook as one picture.

    JupyterLab never scrolls the page, only the notebook inside it, so a "full page" shot
    shows one screen: make the window as tall as the notebook first, then scroll it to the top.
    """
    height = page.evaluate(
        "() => document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)"
        " .jp-WindowedPanel-outer').scrollHeight"
    )
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(height + 200, max_height)})
    page.evaluate(
        "() => document.querySelectorAll('.jp-WindowedPanel-outer')"
        ".forEach(outer => { outer.scrollTop = 0; })"
    )
    page.wait_for_timeout(500)  # one relayout and paint
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def run_notebook(page: Page, lab: JupyterLab, name: str, cells: int, shot: Path,
                 timeout: float = 180) -> Seen:
    """Open one notebook, Run All, wait until done, try its widgets, read and photograph it.

    ``cells`` is how many cells the notebook has (to know it is fully on the page). All
    waits together stay within about ``timeout`` seconds; a notebook that does not finish
    is reported in ``Seen.problem``, with whatever it showed by then.
    """
    seen, start = Seen(), time.monotonic()
    deadline = start + timeout

    def left() -> float:
        return max(deadline - time.monotonic(), 1)

    page.set_default_timeout(15_000)  # for each click; the waits for the kernel are longer
    try:
        page.goto(lab.notebook_url(name), timeout=60_000)
        poll(page, kernel_ready(cells), min(60, left()), "kernel ready", polls=2)
        hide_file_browser(page)
        # Cleared first, so that every output checked below comes from this run.
        menu(page, "Edit", "editmenu:clear-all")
        menu(page, "Run", "runmenu:run-all")
        run_start = time.monotonic()
        poll(page, run_finished, left(), "Run All finished", polls=4)
        seen.run_seconds = time.monotonic() - run_start
        seen.reruns = rerun_experiments(page, min(60, left()))
    except Exception as error:  # reported, with what the page shows by now
        seen.problem = f"{type(error).__name__}: {error}"
    try:
        read_cells(page, seen)
        screenshot(page, shot)
    except Exception as error:  # a crashed page: the next notebook gets a new one
        seen.problem += f" / page unreadable: {type(error).__name__}: {error}"
    seen.seconds = time.monotonic() - start
    return seen


# -- links --------------------------------------------------------------------------------

# The links of the notebook's rendered markdown (not the "¶" beside each heading), as the page
# has them: JupyterLab turns a link to a file into its address under /files/.
LINKS_JS = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) '
    + '.jp-RenderedMarkdown a[href]:not(.jp-InternalAnchorLink)')]
  .map(a => ({text: a.textContent.trim(), href: a.getAttribute('href')}))"""
# Each markdown link of a file: [text](target).
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def page_links(page: Page, lab: JupyterLab, name: str, cells: int,
               timeout: float = 60) -> list[dict]:
    """Open notebook ``name`` and return its links, each as ``{"text": ..., "href": ...}``.

    JupyterLab renders the markdown, then gives each link its address, a moment later: the
    links are read once two readings half a second apart agree.
    """
    page.goto(lab.notebook_url(name), timeout=60_000)
    poll(page, kernel_ready(cells), timeout, f"{name} open", polls=2)
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        links = page.evaluate(LINKS_JS)
        if links and links == last:
            return links
        last = links
        time.sleep(0.5)
    raise TimeoutError(f"the links of {name} not settled within {timeout:.0f} s: {last}")


def served_path(lab: JupyterLab, href: str) -> str | None:
    """The file a link of a page opens, as a path from the server's root; None if the link
    does not go to a file of the server."""
    prefix = f"{lab.url}/files/"
    if not href.startswith(prefix):
        return None
    return urllib.parse.unquote(urllib.parse.urlsplit(href).path.removeprefix("/files/"))


def open_answer(lab: JupyterLab, path: str) -> str:
    """"ok" if the server opens the file at ``path`` (from its root), else its HTTP error,
    such as "404 Not Found" for a file outside the folder it serves."""
    try:
        lab.api("GET", f"/api/contents/{urllib.parse.quote(path)}?content=0")
    except urllib.error.HTTPError as error:
        return f"{error.code} {error.reason}"
    return "ok"


def click_opens_a_tab(page: Page, home: str, text: str, title: str, timeout: float = 30) -> str:
    """In the tab ``home``, click the link ``text`` as a learner does; "ok" once a tab named
    ``title`` is open, else what JupyterLab said instead (its error dialog) or that nothing
    opened."""
    page.locator(".lm-DockPanel .lm-TabBar-tab", has_text=home).first.click()
    page.locator(".jp-RenderedMarkdown a", has_text=text).first.click()
    tabs = page.locator(".lm-DockPanel .lm-TabBar-tab", has_text=title)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tabs.count():
            return "ok"
        dialog = (state(page) or {}).get("dialog")
        if dialog:
            return f"dialog: {dialog[:200]}"
        time.sleep(0.25)
    return f"no tab {title!r} within {timeout:.0f} s"


def missing_tools() -> str | None:
    """Why the browser test cannot run here (no Playwright, no Chromium), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install playwright)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (Debian/Ubuntu: apt-get install chromium)"
    return None
