"""Another platform's defaults, simulated on Linux: code that sets them up in a Python process.

Each profile is a piece of Python run first in a process. tests/test_platforms.py runs parts
of the suite after one (its ``prelude``); run as a program, this module runs a whole command
under a profile, in every Python process that command starts (the test run, the children its
pools spawn, the scripts and benchmarks it runs), through a ``sitecustomize`` module put first
on ``PYTHONPATH``:

    python -m tests.platform_profiles macos -- python -m pytest tests -m "not browser"

Profiles:

* ``spawn_only`` (Windows, and macOS here): ``multiprocessing`` offers spawn alone, and it is
  the default; asking for fork or forkserver raises ``ValueError``, as on Windows;
* ``few_descriptors`` (macOS): a soft limit of 256 open files, the hard limit unchanged;
* ``no_proc`` (macOS, Windows): every path under /proc is missing, except to psutil, which
  reads the same facts another way on those systems;
* ``macos``: the three together, macOS's defaults as the tests meet them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SPAWN_ONLY = '''
import multiprocessing, multiprocessing.context
multiprocessing.get_all_start_methods = lambda: ["spawn"]
multiprocessing.context.DefaultContext.get_all_start_methods = lambda self: ["spawn"]
for _method in ("fork", "forkserver"):  # get_context(_method) now raises ValueError
    multiprocessing.context._concrete_contexts.pop(_method, None)
multiprocessing.set_start_method("spawn", force=True)
'''

# macOS's shell gives a soft limit of 256 and a hard limit far above it
FEW_DESCRIPTORS = '''
import resource
resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
'''

NO_PROC = '''
import builtins, os, os.path, sys

def _hidden(path):
    if isinstance(path, int) or not str(os.fspath(path)).startswith("/proc"):
        return False
    # psutil reads /proc on Linux only: on macOS and Windows it asks the kernel directly.
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("psutil"):
            return False
        frame = frame.f_back
    return True

def _refuse(function):
    def refused(path, *args, **kwargs):
        if _hidden(path):
            raise FileNotFoundError(2, "No such file or directory (simulated)", str(path))
        return function(path, *args, **kwargs)
    return refused

builtins.open = _refuse(builtins.open)
for _name in ("listdir", "scandir", "stat", "lstat"):
    setattr(os, _name, _refuse(getattr(os, _name)))
for _name in ("exists", "isdir", "isfile"):
    setattr(os.path, _name, lambda path, _real=getattr(os.path, _name):
            not _hidden(path) and _real(path))
'''

#: The library's start method, and the start methods tests/conftest.py parametrizes over.
SPAWN_ALONE = {"PROCSYNC_START_METHOD": "spawn", "PROCSYNC_SIMULATE_START_METHODS": "spawn"}

PROFILES = {
    "spawn_only": SPAWN_ONLY,
    "few_descriptors": FEW_DESCRIPTORS,
    "no_proc": NO_PROC,
    "macos": SPAWN_ONLY + FEW_DESCRIPTORS + NO_PROC,
}


@contextmanager
def environment_under(profile: str) -> Iterator[dict[str, str]]:
    """Inside the block, an environment in which every Python process starts by setting up
    ``profile``: give it to the processes to run under the profile."""
    with tempfile.TemporaryDirectory(prefix=f"procsync-{profile}-") as folder:
        Path(folder, "sitecustomize.py").write_text(PROFILES[profile], encoding="utf-8")
        python_path = [folder, *filter(None, [os.environ.get("PYTHONPATH")])]
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(python_path)}
        if SPAWN_ONLY in PROFILES[profile]:
            environment.update(SPAWN_ALONE)
        yield environment


def main(arguments: list[str]) -> int:
    """``PROFILE -- COMMAND...``: run the command under the profile."""
    if len(arguments) < 3 or arguments[0] not in PROFILES or arguments[1] != "--":
        print(f"usage: python -m tests.platform_profiles {{{','.join(PROFILES)}}} -- COMMAND...",
              file=sys.stderr)
        return 2
    with environment_under(arguments[0]) as environment:
        return subprocess.run(arguments[2:], env=environment).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
