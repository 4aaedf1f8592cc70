"""What Windows and macOS learners meet, simulated on Linux.

CI runs on Linux only: real Windows and macOS are not run here. These tests catch, on
Linux, the kinds of defect that break the course on the other two:

* **spawn only** (Windows has no fork or forkserver): a representative set of library
  tests runs in a subprocess in which ``multiprocessing`` offers spawn alone, with
  ``-X warn_default_encoding`` and an ``EncodingWarning`` raised by our code made an error,
  so a text file opened without an encoding (read as cp1252 on Windows) fails too;
* **256 file descriptors** (macOS's default limit): lock and pool tests in a subprocess
  whose limit is lowered to 256;
* **small buffers** (macOS): pool tests in a subprocess whose socket pairs have 8 KiB
  buffers and whose pipes 4 KiB, as small as macOS's or smaller;
* **no /proc** (macOS, Windows): tests in a subprocess in which every path under /proc
  is missing;
* **macOS's defaults together** (spawn only, 256 descriptors, no /proc): .ci/run runs the
  whole library suite once under them (``python -m tests.platform_profiles macos -- ...``);
  here, a check that every process of such a run has them;
* **a fake Windows**: every module of ``procsync_teach`` imported in a subprocess where
  the POSIX-only APIs (``os.fork``, ``os.killpg``, ``signal.SIGKILL``, ``fcntl``,
  ``resource``...) are gone and ``sys.platform`` is ``"win32"``; then ``run_script``
  runs a script and kills its process tree there;
* **static checks** over the library, the notebooks' sources and the tools (what runs on a
  learner's machine): POSIX-only calls only behind a platform check,
  ``O_BINARY`` on every ``os.open`` (Windows' C runtime otherwise turns each LF byte
  into CR LF), and an explicit encoding on every text file.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from tests.conftest import ROOT
from tests.platform_profiles import FEW_DESCRIPTORS, NO_PROC, environment_under

ROOT_PATH = Path(ROOT)
PACKAGE = ROOT_PATH / "procsync_teach"
# The notebooks' sources: their code runs on the learner's system, whichever it is.
LESSONS = sorted((ROOT_PATH / "notebooks" / "src").glob("*.py"))
# What runs on a learner's or a teacher's machine: the library, the lessons and the tools.
RUNS_ANYWHERE = sorted([*PACKAGE.rglob("*.py"), *LESSONS, *(ROOT_PATH / "tools").rglob("*.py")])
# The Python files whose text I/O must name an encoding: the above, the tests and benchmarks.
SOURCES = sorted(
    {*RUNS_ANYWHERE,
     *(path for folder in ("tests", "benchmarks") for path in (ROOT_PATH / folder).rglob("*.py"))}
)

pytestmark = pytest.mark.timeout(600)


def run_tests(arguments: list[str], *, prelude: str = "", python_options: tuple = (),
              environment: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run pytest on ``arguments`` in a new Python, after the code ``prelude`` has set up
    the simulated platform; nbval and the cache are off, skips are reported with reasons."""
    pytest_arguments = ["-q", "-rs", "-p", "no:cacheprovider", "-o", "addopts=", *arguments]
    code = f"{prelude}\nimport sys, pytest\nsys.exit(pytest.main({pytest_arguments!r}))"
    env = {**os.environ, **(environment or {})}
    env.pop("PYTEST_CURRENT_TEST", None)
    return subprocess.run([sys.executable, *python_options, "-c", code], cwd=ROOT,
                          env=env, capture_output=True, text=True, encoding="utf-8",
                          timeout=540)


def passed(run: subprocess.CompletedProcess) -> bool:
    """Whether a pytest run ended with tests passed and none failed."""
    last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    return run.returncode == 0 and "passed" in last and "failed" not in last


# -- Windows: spawn only, and text read as the platform's encoding --------------------------

SPAWN_ONLY_TESTS = [
    "tests/test_lock.py", "tests/test_capture.py", "tests/test_trace.py",
    "tests/test_pool_scheduling.py", "tests/test_exercises_pitfalls.py", "tests/test_scripts.py",
    "tests/test_child_output.py",
]


@pytest.mark.simulated_platforms
def test_library_tests_pass_with_spawn_alone_and_explicit_encodings():
    run = run_tests(
        SPAWN_ONLY_TESTS,
        # Our code's warnings become errors; third-party packages' are not ours to fix.
        prelude=("import warnings\nwarnings.filterwarnings('error', category=EncodingWarning, "
                 "module=r'(procsync_teach|tests)(\\.|$)')"),
        python_options=("-X", "warn_default_encoding"),
        environment={"PROCSYNC_SIMULATE_START_METHODS": "spawn",
                     "PROCSYNC_START_METHOD": "spawn"},
    )
    assert passed(run), run.stdout[-4000:] + run.stderr[-2000:]
    # Tests that need fork are skipped, with the reason, never failed.
    assert "no fork start method" in run.stdout, run.stdout[-2000:]


def test_the_library_refuses_fork_where_the_platform_lacks_it():
    code = ("import multiprocessing\n"
            "multiprocessing.get_all_start_methods = lambda: ['spawn']\n"
            "from procsync_teach import Pool\n"
            "try:\n    Pool(1, context='fork')\n"
            "except ValueError as error:\n    print(type(error).__name__, error)\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, encoding="utf-8", timeout=60)
    assert run.stdout.startswith("ValueError") and "'fork'" in run.stdout, run.stderr


def lesson_cell(notebook: str, containing: str) -> str:
    """The code of the one cell of ``notebooks/src/<notebook>.py`` that contains a text."""
    source = (ROOT_PATH / "notebooks" / "src" / f"{notebook}.py").read_text(encoding="utf-8")
    cells = [cell for cell in re.split(r"^# %%.*$", source, flags=re.MULTILINE)
             if containing in cell]
    assert len(cells) == 1, f"{len(cells)} cells of {notebook} contain {containing!r}"
    return cells[0]


def test_notebook_07s_start_method_cell_prints_the_same_where_spawn_is_alone():
    # Its committed output comes from Linux, where nbval compares it; a learner on Windows
    # (spawn alone) must see the same lines, not one line of three.
    cell = lesson_cell("07_pitfalls", "def look_in_main(")
    printed = []
    for prelude in ("", "multiprocessing.get_all_start_methods = lambda: ['spawn']\n"):
        code = f"import multiprocessing\n{prelude}from procsync_teach import Pool\n{cell}"
        run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, encoding="utf-8", timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        printed.append(run.stdout)
    linux, windows = printed
    assert linux == windows
    assert "(not there)" in linux and linux.rstrip().endswith("True")


# -- macOS: 256 file descriptors -------------------------------------------------------------

@pytest.mark.simulated_platforms
@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no descriptor limit to lower")
def test_lock_and_pool_tests_pass_with_256_file_descriptors():
    run = run_tests(
        ["tests/test_lock.py", "tests/test_faults.py", "tests/test_trace.py"],
        prelude=FEW_DESCRIPTORS,
    )
    assert passed(run), run.stdout[-4000:] + run.stderr[-2000:]


# -- macOS, Windows: no /proc ----------------------------------------------------------------



@pytest.mark.simulated_platforms
def test_library_tests_pass_without_proc():
    run = run_tests(["tests/test_lock.py", "tests/test_trace.py", "tests/test_capture.py"],
                    prelude=NO_PROC)
    assert passed(run), run.stdout[-4000:] + run.stderr[-2000:]


def test_the_no_proc_simulation_hides_proc():
    code = NO_PROC + "\nprint(os.path.isdir('/proc'))\nopen('/proc/self/status')\n"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         encoding="utf-8", timeout=60)
    assert run.stdout == "False\n" and "FileNotFoundError" in run.stderr


# -- macOS's defaults together, in every process of a command ------------------------------

MACOS_PROBE = """
import multiprocessing, os, resource, subprocess, sys
import psutil
print(multiprocessing.get_all_start_methods(), multiprocessing.get_start_method(),
      resource.getrlimit(resource.RLIMIT_NOFILE)[0], os.path.isdir("/proc"),
      psutil.Process().num_fds() > 0, os.environ["PROCSYNC_START_METHOD"], flush=True)
if len(sys.argv) < 2:  # and once more in a child of this process
    subprocess.run([sys.executable, "-c", PROBE, "child"], timeout=60)
"""


@pytest.mark.skipif(fcntl is None, reason="the profile lowers a POSIX descriptor limit")
def test_every_process_of_a_command_run_under_the_macos_profile_has_its_defaults():
    code = f"PROBE = {MACOS_PROBE!r}\n" + MACOS_PROBE
    with environment_under("macos") as environment:
        run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment,
                             capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines() == ["['spawn'] spawn 256 False True spawn"] * 2, run.stdout
    with environment_under("macos") as environment:
        refused = subprocess.run(
            [sys.executable, "-c", "import multiprocessing; multiprocessing.get_context('fork')"],
            env=environment, capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert "ValueError: cannot find context for 'fork'" in refused.stderr


# -- macOS: small socket and pipe buffers ---------------------------------------------------

# macOS gives a local socket 8 KiB of buffer each way and a pipe as little as 16 KiB, where
# Linux gives 200 KiB and 64 KiB. A pool that writes a large job while its worker writes a
# large reply can pass on Linux and hang there. Linux doubles what SO_SNDBUF asks for, and
# no pipe is smaller than a page: 4096 gives 8 KiB sockets and 4 KiB pipes, smaller than
# macOS's. Every pipe multiprocessing makes (Pipe(), duplex or not) gets them.
SMALL_BUFFERS = '''
import fcntl, multiprocessing, os, socket

SMALL = 4096
_socketpair, _pipe = socket.socketpair, os.pipe

def socketpair(*args, **kwargs):
    pair = _socketpair(*args, **kwargs)
    for end in pair:
        end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL)
        end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL)
    return pair

def pipe():
    reader, writer = _pipe()
    fcntl.fcntl(writer, fcntl.F_SETPIPE_SZ, SMALL)
    return reader, writer

socket.socketpair, os.pipe = socketpair, pipe
# The simulation is in effect, or the run stops here.
one, other = multiprocessing.Pipe(duplex=True)
with socket.socket(fileno=os.dup(one.fileno())) as end:
    assert end.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) <= 2 * SMALL
reader, writer = multiprocessing.Pipe(duplex=False)
assert fcntl.fcntl(writer.fileno(), fcntl.F_GETPIPE_SZ) == SMALL
print("buffers: 8 KiB sockets, 4 KiB pipes")
'''

# Tests that send megabytes each way, kill workers with jobs in their pipes, line up many
# quick jobs in one write and read replies in bulk.
SMALL_BUFFER_TESTS = ["tests/test_faults.py", "tests/test_pool_scheduling.py",
                      "tests/test_inbox.py", "tests/test_pool_life.py"]


@pytest.mark.simulated_platforms
@pytest.mark.skipif(not hasattr(fcntl, "F_SETPIPE_SZ"), reason="pipe sizes are set on Linux only")
def test_pool_tests_pass_with_small_socket_and_pipe_buffers():
    run = run_tests(SMALL_BUFFER_TESTS, prelude=SMALL_BUFFERS)
    assert "buffers: 8 KiB sockets, 4 KiB pipes" in run.stdout, run.stdout[-2000:] + run.stderr
    assert passed(run), run.stdout[-4000:] + run.stderr[-2000:]


# -- a fake Windows --------------------------------------------------------------------------

FAKE_WINDOWS = '''
import ast, importlib, multiprocessing, os, pathlib, pkgutil, signal, subprocess, sys, types
import psutil  # chooses its own platform code now, while sys.platform is still the real one

POSIX_ONLY = {"fcntl", "resource", "termios", "pwd", "grp", "pty", "tty"}
# The standard library and third-party modules the package imports are imported now, as
# Linux has them: the simulation is of our code's Windows paths, not of the stdlib's.
for path in pathlib.Path("procsync_teach").rglob("*.py"):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0
                 else [])
        for name in names:
            if name.split(".")[0] not in POSIX_ONLY | {"procsync_teach", "msvcrt"}:
                importlib.import_module(name)

for name in ("fork", "forkpty", "killpg", "getpgid", "setsid", "waitid", "register_at_fork",
             "pread", "pwrite"):
    if hasattr(os, name):
        delattr(os, name)
for name in ("SIGKILL", "SIGQUIT", "SIGHUP", "SIGALRM", "SIGUSR1", "SIGUSR2", "pthread_sigmask",
             "pthread_kill", "setitimer", "alarm", "pause"):
    if hasattr(signal, name):
        delattr(signal, name)
for name in POSIX_ONLY:
    sys.modules[name] = None  # "import fcntl" now raises ImportError, as on Windows
msvcrt = types.ModuleType("msvcrt")
msvcrt.LK_NBLCK, msvcrt.LK_UNLCK = 2, 0
msvcrt.locking = lambda fd, mode, size: None
sys.modules["msvcrt"] = msvcrt
multiprocessing.get_all_start_methods = lambda: ["spawn"]
sys.platform = "win32"

import procsync_teach
modules = [info.name for info in pkgutil.walk_packages(procsync_teach.__path__, "procsync_teach.")]
for module in modules:
    importlib.import_module(module)
print("imported", len(modules) + 1, "modules")
'''


def test_every_module_imports_on_a_fake_windows():
    run = subprocess.run([sys.executable, "-c", FAKE_WINDOWS], cwd=ROOT, capture_output=True,
                         text=True, encoding="utf-8", timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    count = len(list(PACKAGE.rglob("*.py")))  # every module, and each package's __init__
    assert run.stdout.strip() == f"imported {count} modules", run.stdout


def test_run_script_runs_and_kills_a_script_tree_on_a_fake_windows():
    source = ("import subprocess, sys, time\\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\\n"
              "print(child.pid, flush=True)\\n"
              "time.sleep(60)\\n")
    code = FAKE_WINDOWS + f'''
from procsync_teach.course.scripts import CAN_PRESS_CTRL_C, run_script
# Under the fake, Popen.kill() and psutil's kill() are still Linux's, which send SIGKILL:
# give it back to them. Our code chose its Windows path at import, without killpg.
signal.SIGKILL = 9
print("can press Ctrl-C:", CAN_PRESS_CTRL_C)
print(run_script("print('hello')", timeout=30))
run = run_script("{source}", timeout=3)
child = int(run.stdout)
print("timed out:", run.timed_out)

def gone(pid):
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # dead, not yet reaped
    except psutil.NoSuchProcess:
        return True

import time
deadline = time.monotonic() + 10
while not gone(child) and time.monotonic() < deadline:
    time.sleep(0.05)
print("child gone:", gone(child))
'''
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, encoding="utf-8", timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines()[1:] == [
        "can press Ctrl-C: False",
        "ScriptRun(exit_code=0, stdout='hello\\n', stderr='')",
        "timed out: True",
        "child gone: True",
    ], run.stdout


# -- static checks ---------------------------------------------------------------------------

# Calls and names that only POSIX systems have, and text that only Linux understands.
POSIX_ATTRIBUTES = {"SIGKILL", "killpg", "fork", "forkpty"}


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _is_platform_check(test: ast.expr) -> bool:
    text = ast.unparse(test)
    return any(word in text for word in ("sys.platform", "os.name", "hasattr("))


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether ``node`` runs only after a platform check: inside an ``if`` that checks the
    platform, or after an ``if <check>: return/raise`` earlier in its function."""
    parent = parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.If | ast.IfExp | ast.While) and _is_platform_check(parent.test):
            return True
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
            for statement in parent.body:
                if statement.lineno >= node.lineno:
                    break
                if (isinstance(statement, ast.If) and _is_platform_check(statement.test)
                        and isinstance(statement.body[-1], ast.Return | ast.Raise)):
                    return True
        parent = parents.get(parent)
    return False


def _posix_only_uses(tree: ast.AST) -> list[ast.AST]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in POSIX_ATTRIBUTES:
            if node.attr != "fork" or ast.unparse(node.value) == "os":
                found.append(node)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and node.value.startswith("/proc")):
            found.append(node)
        elif (isinstance(node, ast.List | ast.Tuple) and node.elts
              and isinstance(node.elts[0], ast.Constant) and node.elts[0].value == "ps"):
            found.append(node)
    return found


def _parse(path: Path) -> ast.AST:
    """The syntax tree of a Python file; in a notebook source, IPython's ``%magic`` and
    ``!command`` lines count as comments (the code under ``%%writefile`` is still read)."""
    text = path.read_text(encoding="utf-8")
    if path in LESSONS:
        text = re.sub(r"^[%!]", "#", text, flags=re.MULTILINE)
    return ast.parse(text, filename=str(path))


def test_notebook_sources_are_read_with_their_magics_as_comments():
    tree = _parse(ROOT_PATH / "notebooks" / "src" / "03_pool_sync_vs_async.py")
    assert any(isinstance(node, ast.FunctionDef) for node in ast.walk(tree))


def test_posix_only_calls_in_the_library_lessons_and_tools_are_behind_a_platform_check():
    unguarded = []
    for path in RUNS_ANYWHERE:
        tree = _parse(path)
        parents = _parents(tree)
        unguarded += [f"{path.relative_to(ROOT_PATH)}:{node.lineno}: {ast.unparse(node)}"
                      for node in _posix_only_uses(tree) if not _guarded(node, parents)]
    assert not unguarded, "POSIX only, without a platform check:\n" + "\n".join(unguarded)


def test_the_posix_check_finds_what_it_looks_for():
    tree = ast.parse("import os, signal\n"
                     "os.kill(1, signal.SIGKILL)\n"
                     "if hasattr(os, 'killpg'):\n    os.killpg(1, 9)\n"
                     "def f():\n    if sys.platform == 'win32':\n        return\n    os.fork()\n"
                     "open('/proc/self/fd')\nrun(['ps', '-p', '1'])\n")
    parents = _parents(tree)
    unguarded = [ast.unparse(node) for node in _posix_only_uses(tree)
                 if not _guarded(node, parents)]
    assert unguarded == ["signal.SIGKILL", "'/proc/self/fd'", "['ps', '-p', '1']"]


def _os_open_calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "os.open"]


def test_every_os_open_in_the_library_lessons_and_tools_opens_in_binary_mode():
    # Windows' C runtime opens in text mode unless O_BINARY is given: every LF written
    # becomes CR LF, which corrupts fixed-size records. getattr(os, "O_BINARY", 0) is 0 elsewhere.
    text_mode = [
        f"{path.relative_to(ROOT_PATH)}:{call.lineno}: {ast.unparse(call)}"
        for path in RUNS_ANYWHERE
        for call in _os_open_calls(_parse(path))
        if "O_BINARY" not in ast.unparse(call.args[1] if len(call.args) > 1 else call)
    ]
    assert not text_mode, "os.open without O_BINARY:\n" + "\n".join(text_mode)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _text_without_encoding(call: ast.Call) -> bool:
    """Whether ``call`` opens, reads or writes text with the platform's default encoding."""
    function = ast.unparse(call.func)
    name = function.rsplit(".", 1)[-1]
    if _keyword(call, "encoding") is not None:
        return False
    if name in ("read_text", "write_text"):
        return True
    if function == "open" or (name == "open" and isinstance(call.func, ast.Attribute)
                              and function not in ("os.open", "webbrowser.open")):
        position = 1 if function == "open" else 0  # the mode: open(path, mode), path.open(mode)
        mode = _keyword(call, "mode") or (call.args[position] if len(call.args) > position
                                          else ast.Constant("r"))
        if function != "open" and not isinstance(mode, ast.Constant):
            return False  # thing.open(x): another kind of opening, not Path.open("w")
        return not (isinstance(mode, ast.Constant) and "b" in str(mode.value))
    if function.startswith("subprocess.") and name in ("run", "Popen", "check_output"):
        text = _keyword(call, "text") or _keyword(call, "universal_newlines")
        return isinstance(text, ast.Constant) and text.value is True
    return False


def test_text_files_are_read_and_written_with_an_explicit_encoding():
    # Windows reads and writes text as cp1252 unless told otherwise: "✅" is then garbage.
    implicit = [
        f"{path.relative_to(ROOT_PATH)}:{node.lineno}: {ast.unparse(node)[:90]}"
        for path in SOURCES
        for node in ast.walk(_parse(path))
        if isinstance(node, ast.Call) and _text_without_encoding(node)
    ]
    assert not implicit, "text without an explicit encoding:\n" + "\n".join(implicit)


def test_the_encoding_check_finds_what_it_looks_for():
    calls = [node for node in ast.walk(ast.parse(
        "open(p)\nopen(p, 'rb')\nopen(p, 'w', encoding='utf-8')\npath.read_text()\n"
        "path.open('w')\nsubprocess.run(c, text=True)\nos.open(p, 0)\n"
    )) if isinstance(node, ast.Call)]
    assert [ast.unparse(c) for c in calls if _text_without_encoding(c)] == [
        "open(p)", "path.read_text()", "path.open('w')", "subprocess.run(c, text=True)"
    ]


# -- warnings: nothing hides Python 3.12's warning about fork with threads -------------------

def test_no_blanket_filter_hides_deprecation_warnings():
    places = [ROOT_PATH / "pyproject.toml",
              *(path for path in SOURCES if path.name != "test_platforms.py")]  # not its own words
    hiding = [
        f"{path.relative_to(ROOT_PATH)}: {line.strip()}"
        for path in places
        for line in path.read_text(encoding="utf-8").splitlines()
        if ("ignore::DeprecationWarning" in line or 'simplefilter("ignore"' in line
            or "PYTHONWARNINGS" in line)
    ]
    assert not hiding, "\n".join(hiding)
