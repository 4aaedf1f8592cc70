"""A lock that processes share: one file, locked by the operating system.

How it works
------------
A ``Lock`` is the name of a small file. To acquire it, a process asks the kernel for
an exclusive lock on that file (``flock`` on Linux and macOS, ``msvcrt.locking`` on
Windows); the kernel makes every other process that asks wait until the holder lets
go. Three properties follow, and they are why this primitive was chosen:

1. **A dead holder cannot block anyone.** The kernel drops a process's file locks
   when the process ends, however it ends (``kill -9`` and the out-of-memory killer
   included). ``multiprocessing.Lock`` is a semaphore with no owner: a holder that dies
   leaves it locked forever.
2. **It travels as a name.** Pickling a ``Lock`` sends the file's path, so it can be an
   ordinary argument to a pool task, which ``multiprocessing.Lock`` refuses.
3. **Each process opens the file itself.** A file lock belongs to an *open file*, not
   to a path; a descriptor inherited through ``fork`` is the same open file as the
   parent's, and two holders of the same open file do not exclude each other. So every
   process (and every unpickled copy) opens its own descriptor, on first use; a hook
   that runs in every forked child resets the copies it inherited.

The cost: two system calls per acquire and release, where ``multiprocessing.Lock``
usually needs none: measured on a 2-core Linux machine, about 3 µs per pair against
0.2 µs, more than half of it the bare ``flock`` calls. With two processes taking
turns, the gap narrows to about 2×: both locks then spend their time on the other
process.
``benchmarks/compare.py`` measures both.

Threads in one process share the process's file locks, so a ``threading.Lock``
inside each copy keeps two threads of one process apart as well.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
import threading
import time
import weakref
from typing import NamedTuple

from .clock import now

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock_file(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    _wait_lock_file = None  # msvcrt's blocking mode gives up after 10 s: poll instead

    def _unlock_file(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock_file(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _wait_lock_file(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock_file(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class LockHold(NamedTuple):
    """One interval during which a process held a traced :class:`Lock`.

    Times are seconds on the shared clock (:mod:`procsync_teach.clock`).
    """

    pid: int  # e.g. 48213
    acquired: float  # e.g. 5120.004571
    released: float  # e.g. 5120.004812


#: How many times ``acquire`` asks for a held lock without waiting, before it sleeps.
#: Two processes taking turns at a short hold spend about a fifth less time this way
#: than asking once (``benchmarks/compare.py``, the contended workload).
QUICK_TRIES = 16

# A hold is written as one fixed-size record; appends this small are atomic,
# so processes releasing at the same moment never mix their records.
_HOLD_RECORD = struct.Struct("<qdd")


class Lock:
    """A lock for processes: one holder at a time; the others wait their turn.

    Think of the key to a single bathroom: whoever has the key goes in, everyone
    else queues at the door. ``acquire()`` takes the key (waiting if needed),
    ``release()`` hangs it back. Use it in a ``with`` block so the key is returned
    even if the work inside raises::

        lock = Lock()
        with lock:
            print("only one process at a time prints this line")

    It has the interface and the meaning of ``multiprocessing.Lock``, and three things
    that one lacks: it can be passed to pool tasks as an ordinary argument; if its
    holder dies, the operating system releases it; and with ``trace=True`` it records
    who held it and when (see :meth:`holds`), for the course's timelines.

    Args:
        trace: record every hold, readable from any process with :meth:`holds`.
    """

    def __init__(self, *, trace: bool = False):
        fd, self._path = tempfile.mkstemp(prefix="procsync-lock-", suffix=".lock")
        os.close(fd)
        self._trace_path = self._path + ".trace" if trace else None
        if trace:
            open(self._trace_path, "wb").close()
        # Only the creator removes the files, when its Lock is dropped or it exits.
        weakref.finalize(self, _remove_files, os.getpid(), self._path, self._trace_path)
        self._start_in_this_process()

    def _start_in_this_process(self) -> None:
        """Set up the state that is private to one process: descriptor, thread lock.

        Called when the Lock is made or unpickled, and in a child just after a fork
        (see :func:`_start_again_in_forked_child`).
        """
        self._fd: int | None = None  # opened on first use, closed when dropped
        self._threads = threading.Lock()  # keeps threads of this process apart
        self._held = False  # does this process hold the lock now?
        self._acquired_at = 0.0
        _live_locks.add(self)

    # -- pickling: a Lock travels as the names of its files ---------------------

    def __getstate__(self) -> tuple[str, str | None]:
        return self._path, self._trace_path

    def __setstate__(self, state: tuple[str, str | None]) -> None:
        self._path, self._trace_path = state
        self._start_in_this_process()

    def __repr__(self) -> str:
        state = "held by this process" if self._held else "free here"
        return f"<procsync_teach.Lock {state}{', traced' if self._trace_path else ''}>"

    # -- the operations ------------------------------------------------------------

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Take the lock; return True once held, False if it could not be had in time.

        Args:
            block: False means "only if free right now": never wait.
            timeout: with ``block=True``, the most seconds to wait; None waits as long
                as it takes. Negative counts as zero, like ``multiprocessing.Lock``.

        Returns:
            True if this call took the lock, False if it gave up.
        """
        if not block:
            timeout = 0.0
        if timeout is None:
            deadline = None
            self._threads.acquire()
        else:
            timeout = max(timeout, 0.0)
            deadline = now() + timeout
            if not self._threads.acquire(True, timeout):
                return False
        try:
            got_it = self._lock_file(deadline)
        except BaseException:
            self._threads.release()
            raise
        if not got_it:
            self._threads.release()
            return False
        self._held = True
        if self._trace_path:
            self._acquired_at = now()
        return True

    def release(self) -> None:
        """Let the lock go, so that one waiting process can take it.

        Raises:
            ValueError: this process does not hold the lock (the stdlib raises
                ValueError too when a lock is released more often than acquired).
        """
        if not self._held:
            raise ValueError(
                "release() of a Lock that this process does not hold: "
                "call acquire() first, or use 'with lock:'"
            )
        self._held = False
        if self._trace_path:  # the hold ends before the next holder can begin
            self._record_hold(self._acquired_at, now())
        _unlock_file(self._fd)
        self._threads.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def holds(self) -> list[LockHold]:
        """Every completed hold of a traced lock, by any process, oldest first.

        Raises:
            ValueError: the lock was made without ``trace=True``.
        """
        if not self._trace_path:
            raise ValueError("this Lock records nothing: create it with Lock(trace=True)")
        with open(self._trace_path, "rb") as file:
            data = file.read()
        usable = len(data) - len(data) % _HOLD_RECORD.size
        holds = [LockHold(*fields) for fields in _HOLD_RECORD.iter_unpack(data[:usable])]
        return sorted(holds, key=lambda hold: hold.acquired)

    # -- the mechanism -------------------------------------------------------------

    def _lock_file(self, deadline: float | None) -> bool:
        """Take the file lock, waiting until ``deadline`` (None: for as long as it takes)."""
        fd = self._fd if self._fd is not None else self._open()
        # Most holds last microseconds: asking again a few times without waiting is
        # cheaper than sleeping in the kernel until the holder's release wakes us.
        for _ in range(QUICK_TRIES):
            if _try_lock_file(fd):
                return True
        if deadline is None and _wait_lock_file is not None:
            _wait_lock_file(fd)  # the kernel wakes us when the holder lets go
            return True
        # A kernel wait cannot be given a timeout, so poll, backing off from 50 us
        # to 5 ms: quick to notice a short hold, cheap while a long one lasts.
        pause = 50e-6
        while deadline is None or now() < deadline:
            time.sleep(pause if deadline is None else min(pause, max(deadline - now(), 0)))
            if _try_lock_file(fd):
                return True
            pause = min(pause * 2, 5e-3)
        return False

    def _open(self) -> int:
        try:
            self._fd = os.open(self._path, os.O_RDWR)
        except FileNotFoundError:
            raise RuntimeError(
                f"this Lock's file {self._path} is gone: the process that created the "
                "Lock has exited or dropped it. Keep the Lock alive in the parent while "
                "other processes use it."
            ) from None
        weakref.finalize(self, os.close, self._fd)
        return self._fd

    def _record_hold(self, acquired: float, released: float) -> None:
        record = _HOLD_RECORD.pack(os.getpid(), acquired, released)
        fd = os.open(self._trace_path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, record)
        finally:
            os.close(fd)


# Every Lock in this process, so that a forked child can give each its own descriptor.
_live_locks: weakref.WeakSet[Lock] = weakref.WeakSet()


def _start_again_in_forked_child() -> None:
    # A forked child inherits the parent's Locks with the parent's descriptors: the
    # same open file, which would not exclude the parent (see the module docstring).
    # Each is reset here, and opens a descriptor of its own on first use.
    for lock in list(_live_locks):
        lock._start_in_this_process()


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_start_again_in_forked_child)


def _remove_files(creator_pid: int, *paths: str | None) -> None:
    # A forked child holds a copy of the creator's Lock; when that copy is dropped,
    # the files must stay: the creator is still using them.
    if os.getpid() != creator_pid:
        return
    for path in paths:
        if path:
            try:
                os.remove(path)
            except OSError:
                pass
