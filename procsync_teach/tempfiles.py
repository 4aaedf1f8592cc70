"""The library's temporary files: one folder per process, and nothing left behind.

A ``Lock`` is a file; a traced ``Lock`` keeps its holds in a second one, and
``capture_output`` collects what children print in files too. Every such file goes in
one folder that belongs to the process that made it, ``procsync-run-<pid>-<random>`` in
the system's temp folder, made on first use. Three rules keep the temp folder clean:

1. **A file goes when its object goes**, in the process that made it
   (:func:`remove_when_dropped`). Copies of the object in other processes, pickled or
   inherited through ``fork``, leave it alone: the others may still be using it.
2. **A folder goes when its process ends normally.** In the main process that is at
   interpreter exit. A child of ``multiprocessing`` started by fork or forkserver ends
   through ``os._exit``, which skips ``atexit``; ``multiprocessing`` runs its own exit
   hooks first, so the folder is removed there (after the child's own children ended).
3. **A killed process cannot clean up**, so the next process that makes a folder sweeps
   the folders whose owner, the pid in the name, is no longer running.

On Windows a file cannot be removed while another process has it open: removing is
tried a few times, then left to the next sweep; it never raises.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
import weakref
from multiprocessing import util

#: Added to the flags of every ``os.open`` of a binary file: without it, Windows' C
#: runtime opens the file in text mode and writes every byte 10 as the two bytes 13, 10.
O_BINARY = getattr(os, "O_BINARY", 0)

#: How many times a removal is tried while another process has the file open (Windows).
REMOVE_TRIES = 5
#: Seconds between those tries.
REMOVE_PAUSE = 0.01

# Windows refuses to remove a file that a process has open, for as long as it has it
# open; elsewhere a refusal means "not allowed", which waiting does not change.
_OPEN_FILES_CANNOT_BE_REMOVED = sys.platform == "win32"

_FOLDER_NAME = re.compile(r"procsync-run-(\d+)-")

_folder: str | None = None  # this process's folder, once made
_folder_pid = 0  # the process that made it: a forked child makes its own


def new_file(prefix: str, suffix: str = "") -> str:
    """Make an empty file in this process's folder and return its path."""
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=this_process_folder())
    os.close(fd)
    return path


def new_folder(prefix: str) -> str:
    """Make an empty folder in this process's folder and return its path."""
    return tempfile.mkdtemp(prefix=prefix, dir=this_process_folder())


def open_own_file(folder: str, suffix: str) -> int:
    """Open, for appending, this process's file in ``folder``, which several processes
    write to; make the file if needed. Return its descriptor.

    Each process appends to a file of its own, so no two ever write to one file at
    once: an append on Windows is "seek to the end, then write", and another process
    can come between the two steps and overwrite. A reader merges the files.
    """
    path = os.path.join(folder, f"{os.getpid()}{suffix}")
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | O_BINARY)


def files_in(folder: str) -> list[str]:
    """The paths of the files in ``folder``, in a fixed order."""
    return [os.path.join(folder, name) for name in sorted(os.listdir(folder))]


def remove_when_dropped(owner: object, *paths: str | None) -> None:
    """Remove ``paths`` (files or folders; None is skipped) once ``owner`` is garbage.

    Only in this process: a copy of ``owner`` that another process received, or
    inherited through ``fork``, removes nothing when it is dropped.
    """
    weakref.finalize(owner, _remove_if_made_here, os.getpid(), paths)


def remove(path: str) -> None:
    """Remove a file or a folder with all it holds; say nothing if that cannot be done.

    An error here must never reach the learner: what is left, the next sweep removes.
    """
    for _ in range(REMOVE_TRIES):
        try:
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
            return
        except PermissionError:
            if not _OPEN_FILES_CANNOT_BE_REMOVED:
                return
            time.sleep(REMOVE_PAUSE)  # another process has it open, for now
        except OSError:  # already gone, among others
            return


def this_process_folder() -> str:
    """This process's folder for temporary files, made (and older ones swept) on first use."""
    global _folder, _folder_pid
    if _folder is None or _folder_pid != os.getpid():
        _sweep_folders_of_ended_processes()
        _folder = tempfile.mkdtemp(prefix=f"procsync-run-{os.getpid()}-")
        _folder_pid = os.getpid()
        # A negative priority: multiprocessing runs this last, after joining the
        # children that may still be using the files.
        util.Finalize(None, _remove_if_made_here, args=(_folder_pid, (_folder,)),
                      exitpriority=-100)
    return _folder


def _remove_if_made_here(maker_pid: int, paths: tuple[str | None, ...]) -> None:
    if os.getpid() == maker_pid:
        for path in paths:
            if path:
                remove(path)


def _sweep_folders_of_ended_processes() -> None:
    temp = tempfile.gettempdir()
    for name in os.listdir(temp):
        match = _FOLDER_NAME.match(name)
        if match and not _is_running(int(match.group(1))):
            remove(os.path.join(temp, name))


def _is_running(pid: int) -> bool:
    # A pid can be reused: then a folder waits for that other process to end too.
    import psutil  # made for the job on every platform; only needed here, and rarely

    return psutil.pid_exists(pid)
