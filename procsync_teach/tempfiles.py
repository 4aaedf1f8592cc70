"""The library's temporary files: one folder per process, and nothing left behind.

A ``Lock`` is a file; a traced ``Lock`` keeps its holds in a second one, and
``capture_output`` collects what children print in files too. Every such file goes in
one folder that belongs to the process that made it, ``procsync-run-<pid>-<random>`` in
the system's temp folder, made on first use. Three rules keep the temp folder clean:

1. **A file goes when its object goes**, in the process that made it
   (:func:`remove_when_dropped`). Copies of the object in other processes, pickled or
   inherited through ``fork``, leave it alone. A ``Lock``'s copies must keep working
   after the maker dropped its own: its files wait for the children forked while it
   was alive to end, and stay until the process ends once a copy was pickled
   (:class:`FilesOf`).
2. **A folder goes when its process ends normally.** In the main process that is at
   interpreter exit. A child of ``multiprocessing`` started by fork or forkserver ends
   through ``os._exit``, which skips ``atexit``; ``multiprocessing`` runs its own exit
   hooks first, so the folder is removed there (after the child's own children ended).
3. **A killed process cannot clean up**, so the next process that makes a folder sweeps
   the folders whose owner no longer runs. A process says it runs by holding a lock on
   the file ``alive`` in its folder (one descriptor, open as long as it lives), and its
   forked children, which may use its files, by holding the ``alive-fork-*`` file of
   their fork; the kernel drops these locks when a process ends, however it ends. A
   pid would not do: a program in another container, sharing the temp folder, has pids
   that this one cannot see.

On Windows a file cannot be removed while another process has it open: removing is
tried a few times, then left to the next sweep; it never raises.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
import time
import weakref
from collections.abc import Callable
from multiprocessing import util
from typing import TypeVar

T = TypeVar("T")

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

_FOLDER_PREFIX = "procsync-run-"
#: The file in every process's folder that its process keeps locked while it runs.
ALIVE = "alive"

_folder: str | None = None  # this process's folder, once made
_folder_pid = 0  # the process that made it: a forked child makes its own
_alive_fd: int | None = None  # this process's open ``alive`` file, locked while it runs


def new_file(prefix: str, suffix: str = "") -> str:
    """Make an empty file in this process's folder and return its path."""
    fd, path = _in_this_process_folder(tempfile.mkstemp, prefix=prefix, suffix=suffix)
    os.close(fd)
    return path


def new_folder(prefix: str) -> str:
    """Make an empty folder in this process's folder and return its path."""
    return _in_this_process_folder(tempfile.mkdtemp, prefix=prefix)


def _in_this_process_folder(make: Callable[..., T], **names: str) -> T:
    try:
        return make(dir=this_process_folder(), **names)
    except FileNotFoundError:  # the folder was removed from outside: make a new one
        _forget_this_process_folder()
        return make(dir=this_process_folder(), **names)


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


class FilesOf:
    """The files of an object that other processes may use through copies of it.

    When the object is dropped, its files go as soon as no copy can be in use:

    - a copy **pickled** may be anywhere, for any time: waiting in a pipe, not yet
      read, while the object itself is long gone. Once the object has been pickled,
      its files stay until this process ends, with its folder.
    - a copy **inherited through fork** is in use while the child lives (and its own
      forked children). Each fork leaves the children a mark that the kernel keeps
      locked while any of them runs (see :func:`_before_fork`); the files of an object
      alive at a fork wait until that mark is free.

    Args:
        owner: the object; only the process that made it removes anything.
        paths: its files or folders; None is skipped.
    """

    def __init__(self, owner: object, *paths: str | None):
        self._forks_before = _forks  # e.g. 2: forks of this process before the owner was made
        self._pickled = False
        weakref.finalize(owner, self._dropped, os.getpid(), paths)
        _remove_what_no_child_uses()

    def shared(self) -> None:
        """Note that a copy of the owner is leaving this process (it is being pickled)."""
        self._pickled = True

    def _dropped(self, maker_pid: int, paths: tuple[str | None, ...]) -> None:
        if os.getpid() != maker_pid or self._pickled:
            return
        _waiting_for_children.append((self._forks_before, paths))
        _remove_what_no_child_uses()


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
        _folder = _make_a_folder_that_says_its_process_runs()
        _folder_pid = os.getpid()
        # A negative priority: multiprocessing runs this last, after joining the
        # children that may still be using the files.
        util.Finalize(None, _remove_this_process_folder, args=(_folder_pid, _folder),
                      exitpriority=-100)
    return _folder


def _make_a_folder_that_says_its_process_runs() -> str:
    global _alive_fd
    from .lock import _wait_lock_file  # imported here: lock.py imports this module

    while True:
        folder = tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-")
        alive = os.path.join(folder, ALIVE)
        fd = os.open(alive, os.O_RDWR | os.O_CREAT | O_BINARY)
        # Blocking: a sweeper that locked the file first is removing the folder, and
        # lets go once it is gone.
        _wait_lock_file(fd)
        if os.path.exists(alive):
            _alive_fd = fd
            return folder
        os.close(fd)


def _forget_this_process_folder() -> None:
    global _folder, _alive_fd
    if _alive_fd is not None:
        os.close(_alive_fd)
    _folder = _alive_fd = None


def _remove_this_process_folder(maker_pid: int, folder: str) -> None:
    if os.getpid() == maker_pid and folder == _folder:
        _forget_this_process_folder()  # Windows removes no file that is open
        remove(folder)


def _remove_if_made_here(maker_pid: int, paths: tuple[str | None, ...]) -> None:
    if os.getpid() == maker_pid:
        for path in paths:
            if path:
                remove(path)


def _sweep_folders_of_ended_processes() -> None:
    temp = tempfile.gettempdir()
    for name in os.listdir(temp):
        if name.startswith(_FOLDER_PREFIX):
            _remove_if_its_process_ended(os.path.join(temp, name))


def _remove_if_its_process_ended(folder: str) -> None:
    from .lock import _try_lock_file  # imported here: lock.py imports this module

    try:
        fd = os.open(os.path.join(folder, ALIVE), os.O_RDWR | O_BINARY)
    except OSError:  # no "alive" yet: its process is making it now
        return
    try:
        # Its process has ended, and so have the children it forked, which may use its
        # files. The lock on "alive" is kept while removing, so that a process making
        # this folder sees it go.
        if _try_lock_file(fd) and not any(map(_is_locked, _fork_marks_in(folder))):
            remove(folder)
    finally:
        os.close(fd)


def _fork_marks_in(folder: str) -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError:  # removed meanwhile
        return []
    return [os.path.join(folder, name) for name in names if name.startswith(f"{ALIVE}-fork-")]


# -- forked children, and the files they may use --------------------------------------------

_forks = 0  # how many times this process has forked
# The forks whose children may still run, by number, each with its mark: a file that
# those children keep locked while they run.
_fork_marks: dict[int, str] = {}  # e.g. {3: "/tmp/procsync-run-4811-x1/alive-fork-9k2"}
# The files of dropped objects that children forked meanwhile may be using:
# (index of the first fork mark that counts, paths).
_waiting_for_children: list[tuple[int, tuple[str | None, ...]]] = []
_mark_fd: int | None = None  # the mark of the fork under way, open in the parent


def _before_fork() -> None:
    # The parent locks a new file, and closes its descriptor once the child exists: the
    # lock then lives on in the child's copy of the descriptor, until the child ends.
    # (A kernel file lock belongs to the open file, which fork shares.)
    global _forks, _mark_fd
    fork, _forks = _forks, _forks + 1
    if _folder is None or _folder_pid != os.getpid():
        return  # no files here that a child could use
    from .lock import _try_lock_file  # imported here: lock.py imports this module

    for earlier in list(_fork_marks):  # so that marks are as few as running children
        _children_may_run(earlier)
    try:
        fd, path = tempfile.mkstemp(prefix=f"{ALIVE}-fork-", dir=_folder)
        _try_lock_file(fd)  # a new file: nobody else has it
    except OSError:
        _fork_marks[fork] = _FOREVER
        return
    _fork_marks[fork] = path
    _mark_fd = fd


def _after_fork_in_parent() -> None:
    global _mark_fd
    if _mark_fd is not None:
        os.close(_mark_fd)
        _mark_fd = None


def _in_forked_child() -> None:
    # The child keeps the fork's mark open until it ends; the parent's "alive" lock must
    # not outlive the parent in the child, which makes a folder of its own when needed.
    global _alive_fd, _mark_fd
    if _alive_fd is not None:
        os.close(_alive_fd)
    _alive_fd = _mark_fd = None
    _fork_marks.clear()
    _waiting_for_children.clear()


_FOREVER = ""  # a fork whose mark could not be made: its children count as running


def _remove_what_no_child_uses() -> None:
    # Entries are taken off one at a time and put back if still in use: a finalizer
    # that runs this again in the middle (the collector may run it anywhere) then
    # works on other entries.
    running_since = functools.cache(_children_may_run_since)
    for _ in range(len(_waiting_for_children)):
        try:
            first_fork, paths = _waiting_for_children.pop(0)
        except IndexError:
            return
        if running_since(first_fork):
            _waiting_for_children.append((first_fork, paths))
        else:
            _remove_if_made_here(os.getpid(), paths)


def _children_may_run_since(first_fork: int) -> bool:
    """May a child of one of this process's forks from ``first_fork`` on still run?"""
    return any(_children_may_run(fork) for fork in list(_fork_marks) if fork >= first_fork)


def _children_may_run(fork: int) -> bool:
    mark = _fork_marks.get(fork)
    if mark is None:
        return False
    if mark == _FOREVER or _is_locked(mark):
        return True
    _fork_marks.pop(fork, None)  # free for good: none of those children runs any more
    remove(mark)
    return False


def _is_locked(path: str) -> bool:
    from .lock import _try_lock_file  # imported here: lock.py imports this module

    try:
        fd = os.open(path, os.O_RDWR | O_BINARY)
    except FileNotFoundError:  # the folder was removed from outside
        return False
    try:
        return not _try_lock_file(fd)
    finally:
        os.close(fd)


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_in_forked_child
    )
