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
   process (and every unpickled copy) opens its own descriptor when it acquires.

Two consequences need care. A child forked while its parent holds the lock inherits
the parent's open file, and with it the kernel's lock: were the child to keep it, the
lock would outlive a parent killed with ``kill -9``. So a hook that runs in every
forked child closes the descriptors it inherited (closing is not unlocking: the
parent still holds the lock). And a process may open only so many files (often 1,024;
256 on macOS), while a program may well make thousands of Locks: so at most
:data:`SPARE_DESCRIPTORS` Locks that are not in use keep their file open; the one
opened longest ago closes it when another opens (see :class:`_OpenFiles`).

Only the process that acquired a Lock can release it: the kernel's lock belongs to the
holder's open file, which no other process has. ``multiprocessing.Lock``, a semaphore,
lets any process release it.

How long the file lives
-----------------------
A Lock works as long as its file is there, so the file must stay while any process
may use a copy, however briefly the maker kept its own: ``Pool(initializer=init,
initargs=(Lock(),))`` is the classic case, and nothing but the pool refers to that
Lock. The files live in a folder of the process that made the Lock (see
:mod:`procsync_teach.tempfiles`), and go at the latest when that process ends. When
the maker drops its Lock:

- if no copy ever left the process, the file goes at once, so a notebook that makes
  and drops thousands of Locks keeps none of their files;
- if copies were inherited through ``fork``, the file goes once the children forked
  while the Lock was alive have ended (each fork leaves its children a file that the
  kernel keeps locked while any of them runs);
- if a copy was pickled (to a pool task, an initializer, a spawned ``Process``), the
  file stays until the maker ends: a pickled copy may wait in a pipe, not yet read,
  when no Lock object is left anywhere, and nobody can count those. It costs an
  empty file, and no descriptor.

Under spawn and forkserver, ``multiprocessing.Lock`` removes its semaphore's name when
the maker drops it, so an inline Lock given to a ``Process`` can be gone before the
child opens it (``FileNotFoundError`` in the child; ``tests/test_lock_lifetime.py``
shows both).

The cost: two system calls per acquire and release, where ``multiprocessing.Lock``
usually needs none: measured on a 2-core Linux machine, about 3 µs per pair against
0.2 µs, more than half of it the bare ``flock`` calls. With two processes taking
turns, the gap narrows to about 2×: both locks then spend their time on the other
process.
``benchmarks/compare.py`` measures both.

The kernel cannot be told how long to wait for a file lock. A timed ``acquire`` does
not ask again and again instead (a waiter asleep between two asks misses the moments
the lock is free, and a holder that takes it back at once would starve it): it waits
in the kernel as a blocking one does, in a thread of its own, and stops watching at
its deadline (see :class:`_WaitInAThread`).

The kernel's lock belongs to an open file, and the threads of one process use the
same copy's descriptor: to the kernel they are one holder, and a second thread's
request on that descriptor would be granted at once. So a ``threading.Lock`` inside
each copy keeps two threads of one process apart; it also guards the descriptor.
"""

from __future__ import annotations

import errno
import os
import struct
import sys
import threading
import time
import weakref
from collections import OrderedDict
from typing import NamedTuple

from .clock import now
from .tempfiles import (
    O_BINARY,
    FilesOf,
    files_in,
    new_file,
    new_folder,
    open_own_file,
)

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock_file(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _wait_lock_file(fd: int) -> None:
        # msvcrt's own blocking mode gives up after 10 s: ask again and again instead,
        # backing off from 50 us to 5 ms, quick to notice a short hold, cheap in a long one.
        pause = 50e-6
        while not _try_lock_file(fd):
            time.sleep(pause)
            pause = min(pause * 2, 5e-3)

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

#: How many Locks that are not in use may keep their file open in one process. Opening
#: and closing the file costs three times the lock itself (measured on a 2-core Linux
#: machine: 2.8 µs against 0.9 µs for a bare flock pair), so a few keep it; a program
#: with thousands of Locks still has only these open, and the Locks it holds.
SPARE_DESCRIPTORS = 32


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
    who held it and when (see :meth:`holds`), for the course's timelines. One thing
    ``multiprocessing.Lock`` allows, ours does not: only the process that acquired it
    can release it.

    Args:
        trace: record every hold, readable from any process with :meth:`holds`.
    """

    def __init__(self, *, trace: bool = False):
        self._path = new_file("lock-", ".lock")
        self._trace_path = new_hold_record() if trace else None
        # Removed when dropped, unless a copy has left this process (see the header).
        self._files: FilesOf | None = FilesOf(self, self._path, self._trace_path)
        self._start_in_this_process()

    def _start_in_this_process(self) -> None:
        """Set up the state that is private to one process: descriptor, thread lock.

        Called when the Lock is made or unpickled, and in a child just after a fork
        (see :func:`_start_again_in_forked_child`).
        """
        self._fd: int | None = None  # opened on first acquire; see _OpenFiles for when closed
        self._close_fd: weakref.finalize | None = None  # closes _fd, now or when dropped
        self._threads = threading.Lock()  # keeps threads of this process apart; its
        # holder alone may use _fd, and _OpenFiles closes _fd only after taking it
        self._held = False  # does this process hold the lock now?
        self._waiting: _WaitInAThread | None = None  # a timed acquire's wait, still queued
        self._acquired_at = 0.0
        _live_locks.add(self)

    # -- pickling: a Lock travels as the names of its files ---------------------

    def __getstate__(self) -> tuple[str, str | None]:
        if self._files is not None:  # the maker's own Lock: its files must now stay
            self._files.shared()
        return self._path, self._trace_path

    def __setstate__(self, state: tuple[str, str | None]) -> None:
        self._path, self._trace_path = state
        self._files = None  # a copy: the files belong to the process that made them
        self._start_in_this_process()

    def __repr__(self) -> str:
        state = "held by this process" if self._held else "free here"
        return f"<procsync_teach.Lock {state}{', traced' if self._trace_path else ''}>"

    # -- the operations ------------------------------------------------------------

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Take the lock; return True once held, False if it could not be had in time.

        Args:
            block: False means "only if free right now": never wait.
            timeout: with ``block=True``, the most seconds to wait; None, ``math.inf``
                or more than ``threading.TIMEOUT_MAX`` wait as long as it takes.
                Negative counts as zero, like ``multiprocessing.Lock``.

        Returns:
            True if this call took the lock, False if it gave up.

        Raises:
            OSError: ``timeout`` is nan and the lock is held (``multiprocessing.Lock``
                raises the same ``EINVAL``).
        """
        if not block:
            timeout = 0.0
        if timeout is not None and timeout != timeout:  # nan is the one float unequal to itself
            return self._acquire_with_nan_timeout()
        if timeout is None or timeout >= threading.TIMEOUT_MAX:
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

    def _acquire_with_nan_timeout(self) -> bool:
        # multiprocessing.Lock takes a free lock whatever the timeout, and passes nan on
        # to sem_timedwait, which refuses it. The same here.
        if self.acquire(False):
            return True
        raise OSError(
            errno.EINVAL,
            "Invalid argument: timeout=nan is no number of seconds. Pass a number, "
            "or None to wait as long as it takes",
        )

    def release(self) -> None:
        """Let the lock go, so that one waiting process can take it.

        Only the process that acquired the lock can release it (any thread of it).
        ``multiprocessing.Lock`` lets any process release it; ours cannot, because the
        kernel's lock belongs to the holder's open file, which no other process has.

        Raises:
            ValueError: this process does not hold the lock (the stdlib raises
                ValueError too when a lock is released more often than acquired).
        """
        if not self._held:
            raise ValueError(
                "release() of a Lock that this process does not hold: call acquire() "
                "first, or use 'with lock:'. Unlike multiprocessing.Lock, this Lock can "
                "be released only by the process that acquired it."
            )
        self._held = False
        try:
            if self._trace_path:  # the hold ends before the next holder can begin
                record_hold(self._trace_path, self._acquired_at, now())
        finally:  # a record that could not be written must not keep the lock held
            try:
                _unlock_file(self._fd)
            finally:
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
        return read_holds(self._trace_path)

    # -- the mechanism -------------------------------------------------------------

    def _lock_file(self, deadline: float | None) -> bool:
        """Take the file lock, waiting until ``deadline`` (None: for as long as it takes)."""
        fd = self._fd if self._fd is not None else _open_files.open(self)
        # Most holds last microseconds: asking again a few times without waiting is
        # cheaper than sleeping in the kernel until the holder's release wakes us.
        for _ in range(QUICK_TRIES):
            if _try_lock_file(fd):
                return True
        if deadline is None:
            _wait_lock_file(fd)  # the kernel wakes us when the holder lets go
            return True
        return self._wait_in_a_thread(deadline)

    def _wait_in_a_thread(self, deadline: float) -> bool:
        """Wait in the kernel as a blocking acquire does, but only until ``deadline``."""
        waiting = self._waiting
        if waiting is None or not waiting.take_over():  # none left by an earlier call
            waiting = self._waiting = _WaitInAThread(self._path)
        if not waiting.got_it_by(deadline):
            return False  # the wait goes on, for the next timed acquire to take over
        self._waiting = None
        _open_files.hand_over(self, waiting.fd)
        return True


class _WaitInAThread:
    """A thread that waits in the kernel for a Lock's file, on a descriptor of its own.

    The kernel cannot be told how long to wait for a file lock. Asking again and again
    instead loses to a holder that takes the lock back the moment it lets go: the
    kernel wakes the waiters it has, not a process that is asleep between two asks.
    So a timed ``acquire`` waits as a blocking one does, in a thread, and stops
    watching at its deadline. The thread's descriptor is a separate open file, so the
    kernel's lock, once it has it, is the thread's alone until it is handed over: then
    the Lock keeps that descriptor (see :meth:`_OpenFiles.hand_over`).

    A caller that gave up leaves the wait queued in the kernel: the next timed
    ``acquire`` of the same Lock in this process takes it over, so one Lock has at most
    one such thread per process. If the thread gets the lock when nobody wants it any
    more, it closes its descriptor, which lets the lock go at once.

    The price, paid only when the lock is held elsewhere: a thread and a descriptor per
    wait. Two processes taking turns 5,000 times each with ``acquire(timeout=10)`` took
    about 0.1 s here, against 0.03 s when they polled (and 0.03 s blocking).
    """

    def __init__(self, path: str):
        self.fd = _open_files.open_for_waiting(path, self)
        self._state = threading.Condition()  # guards the four fields below
        self._wanted = True  # is a caller waiting for the lock now?
        self._got_it = False  # the thread has the lock, for that caller to take
        self._ended = False  # the thread ended without the lock; its descriptor is closed
        self._error: BaseException | None = None  # why the kernel's wait failed, if it did
        threading.Thread(target=self._wait, name="procsync_teach.Lock wait", daemon=True).start()

    def _wait(self) -> None:
        error = None
        try:
            _wait_lock_file(self.fd)
        except BaseException as failure:  # handed to the caller, which is waiting for news
            error = failure
        with self._state:
            if error is None and self._wanted:
                self._got_it = True
            else:
                self._ended, self._error = True, error
                _open_files.close_waiting(self)  # closing the descriptor lets the lock go
            self._state.notify_all()

    def take_over(self) -> bool:
        """Make a new caller the one waiting; False if this wait has already ended."""
        with self._state:
            self._wanted = not self._ended
            return self._wanted

    def got_it_by(self, deadline: float) -> bool:
        """Wait until the thread has the lock (True) or ``deadline`` passes (False).

        Raises:
            OSError: the kernel's wait failed (the error it gave).
        """
        with self._state:
            try:
                self._state.wait_for(lambda: self._got_it or self._ended, max(deadline - now(), 0))
            except BaseException:  # Ctrl-C: nobody will take the lock, so let it go
                self._wanted = False
                if self._got_it:
                    self._got_it, self._ended = False, True
                    _open_files.close_waiting(self)
                raise
            if self._error is not None:
                raise self._error
            self._wanted = self._got_it
            return self._got_it


class _OpenFiles:
    """Keeps this process's open lock files few: at most :data:`SPARE_DESCRIPTORS` of
    them belong to Locks that nobody in this process holds or is acquiring.

    A Lock opens its file when it first acquires and keeps the descriptor, since
    opening again costs more than the lock itself. When one more is opened, the Lock
    that opened longest ago gives its descriptor up, unless a thread of this process
    holds it or is acquiring it (then the next oldest does). Each copy of a Lock opens
    its own, so that two copies in one process exclude each other as two processes do.
    A thread that waits for a lock for a timed ``acquire`` has a descriptor of its own
    too (see :class:`_WaitInAThread`), listed apart until the Lock takes it over.
    """

    def __init__(self) -> None:
        # Guards the table, and is held across fork (see register_at_fork below), so
        # that a forked child never copies a descriptor not yet in its Lock.
        # Reentrant: the finalizer of a dropped Lock may run while it is held.
        self.guard = threading.RLock()
        self._opened: OrderedDict[int, weakref.ref[Lock]] = OrderedDict()  # oldest first
        # The descriptors of threads waiting for a lock, which no Lock owns yet.
        self._waiting: dict[int, _WaitInAThread] = {}  # e.g. {7: <_WaitInAThread>}

    def open(self, lock: Lock) -> int:
        """Open ``lock``'s file for it (its caller holds ``lock._threads``)."""
        with self.guard:
            self._keep(lock, _open_lock_file(lock._path))
            return lock._fd

    def hand_over(self, lock: Lock, fd: int) -> None:
        """Make ``fd``, a waiting thread's descriptor that holds the kernel's lock,
        ``lock``'s own (its caller holds ``lock._threads``)."""
        with self.guard:
            self._waiting.pop(fd)
            if lock._close_fd is not None:
                lock._close_fd()  # its own never got the lock: closing it frees nothing
            self._keep(lock, fd)

    def _keep(self, lock: Lock, fd: int) -> None:
        lock._fd = fd
        lock._close_fd = weakref.finalize(lock, self._close, id(lock), fd)
        self._opened[id(lock)] = weakref.ref(lock)
        self._give_up_the_oldest()

    def open_for_waiting(self, path: str, waiting: _WaitInAThread) -> int:
        """Open a Lock's file for a thread that waits for it (see _WaitInAThread)."""
        with self.guard:
            fd = _open_lock_file(path)
            self._waiting[fd] = waiting
            return fd

    def close_waiting(self, waiting: _WaitInAThread) -> None:
        """Close the descriptor of a thread that stopped waiting without the lock."""
        with self.guard:
            del self._waiting[waiting.fd]
            os.close(waiting.fd)

    def _give_up_the_oldest(self) -> None:
        for _ in range(len(self._opened) - SPARE_DESCRIPTORS):
            key, ref = self._opened.popitem(last=False)
            lock = ref()
            if lock is None:  # dropped: its finalizer closes its descriptor
                continue
            if lock._threads.acquire(False):  # nobody here holds it or is acquiring
                lock._close_fd()
                lock._fd = None
                lock._threads.release()
            else:
                self._opened[key] = ref  # in use: it keeps its descriptor for now

    def _close(self, key: int, fd: int) -> None:
        with self.guard:
            self._opened.pop(key, None)
            os.close(fd)  # closing the last descriptor also frees a lock still held

    def close_inherited(self) -> None:
        """In a forked child: close every descriptor, all copies of the parent's.

        Closing a copy does not unlock (the parent still holds what it held), but once
        closed, the child cannot keep the parent's lock held after the parent dies.
        """
        self.guard = threading.RLock()  # the parent's thread that forked held the old one
        for ref in list(self._opened.values()):
            lock = ref()
            if lock is not None and lock._close_fd is not None:
                lock._close_fd()
        self._opened.clear()
        for fd in self._waiting:  # their threads did not come along: only the parent's wait
            os.close(fd)
        self._waiting.clear()


def _open_lock_file(path: str) -> int:
    try:
        return os.open(path, os.O_RDWR | O_BINARY)
    except FileNotFoundError:
        raise RuntimeError(
            f"this Lock's file {path} is gone: the process that created the Lock has "
            "ended, or the file was removed from outside. Keep the process that makes "
            "a Lock running while other processes use it."
        ) from None


_open_files = _OpenFiles()

# Every Lock in this process, so that a forked child can reset each.
_live_locks: weakref.WeakSet[Lock] = weakref.WeakSet()


def _start_again_in_forked_child() -> None:
    # A forked child inherits the parent's Locks with the parent's descriptors: the
    # same open files, which would not exclude the parent (see the module docstring).
    _open_files.close_inherited()
    for lock in list(_live_locks):
        lock._start_in_this_process()


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(
        before=lambda: _open_files.guard.acquire(),
        after_in_parent=lambda: _open_files.guard.release(),
        after_in_child=_start_again_in_forked_child,
    )


# -- the record of holds, shared with the course's PretendLock ----------------------------

# A hold is written as one fixed-size record: pid, acquired, released.
_HOLD_RECORD = struct.Struct("<qdd")


def new_hold_record() -> str:
    """Make a record of holds, empty, in this process's folder; return its path.

    It is a folder in which each process appends its holds to a file of its own, so
    that processes recording at the same moment never overwrite each other.
    """
    return new_folder("holds-")


def record_hold(path: str, acquired: float, released: float) -> None:
    """Add one hold of this process to the record at ``path``."""
    record = _HOLD_RECORD.pack(os.getpid(), acquired, released)
    fd = open_own_file(path, ".holds")
    try:
        os.write(fd, record)
    finally:
        os.close(fd)


def read_holds(path: str) -> list[LockHold]:
    """Every hold in the record at ``path``, by any process, oldest first."""
    holds = []
    for file_path in files_in(path):
        with open(file_path, "rb") as file:
            data = file.read()
        usable = len(data) - len(data) % _HOLD_RECORD.size  # a record being written
        holds += [LockHold(*fields) for fields in _HOLD_RECORD.iter_unpack(data[:usable])]
    return sorted(holds, key=lambda hold: hold.acquired)
