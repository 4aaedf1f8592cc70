"""Checks for the exercises of notebook 02, "Locks": lose no update, then avoid a deadlock.

Both checks run the learner's function where it matters: in several processes started
together, with the course's :func:`procsync_teach.Process` (so a function defined in a
notebook cell works under every start method). They make the bad timing certain rather
than lucky, so that a wrong answer fails every time, not once in a hundred runs:

* :func:`check_safe_increment` hands the function a :class:`SlowCounter`, a shared
  counter that pauses a moment on every read: an update that is not protected from the
  read to the write is lost, always.
* :func:`check_transfer` hands it :class:`NappingLock` objects, locks that pause a moment
  after every acquire: two processes that take two locks in opposite orders both hold
  their first lock before they reach for the second, and deadlock, always.

A process that is still running after a few seconds is taken to be stuck; the check
kills it (the kernel releases its ``procsync_teach.Lock``) and says what to look for.

The notebook's demonstrations also use :class:`PretendLock`, a stand-in that records
holds like a traced ``Lock`` but excludes nobody.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ... import Lock, LockHold, Process, get_context, now
from ...capture import capture_output
from ...lock import new_hold_record, read_holds, record_hold
from ...tempfiles import new_folder, remove, remove_when_dropped
from ..running import run_to_the_end
from . import Verdict, correct, does_nothing, hint, not_answered

PROCESSES = 4  # how many processes run the learner's safe_increment together
INCREMENTS = 20  # how many times each of them adds one
READ_PAUSE = 0.0005  # seconds a SlowCounter waits after each read: the race window
NAP = 0.1  # seconds a NappingLock waits after each acquire
STUCK_AFTER = 3.0  # seconds after the start before a process counts as stuck
START_WAIT = 60.0  # seconds to wait for the processes to start (spawn is slow on a busy machine)


class PretendLock:
    """Looks like a traced ``Lock`` and records its "holds", but keeps nobody out.

    ``with pretend:`` never waits: every process walks straight in. On the way out it
    records the hold (process id, entered, left) as ``Lock(trace=True)`` does, with the
    same code, and :meth:`holds` reads them back as :class:`~procsync_teach.LockHold`
    tuples. Drawn next to a real lock's holds, the overlaps show what a lock prevents.

    It lives in a module, not in the notebook, because it travels to other processes as a
    ``Process`` argument, and arguments are sent the standard way: by the *name* of their
    class, which a spawned process can only find in an importable module.
    """

    def __init__(self) -> None:
        self._path = new_hold_record()
        remove_when_dropped(self, self._path)
        self._entered = 0.0

    def __repr__(self) -> str:
        return "<PretendLock: keeps nobody out>"

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Note the time and return True at once, whoever else is inside."""
        self._entered = now()
        return True

    def release(self) -> None:
        """Record the hold that ends now."""
        record_hold(self._path, self._entered, now())

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def holds(self) -> list[LockHold]:
        """Every recorded hold, by any process, oldest first."""
        return read_holds(self._path)


class SlowCounter:
    """A shared integer, like ``Value('i', 0, lock=False)``, that dawdles after each read.

    ``counter.value`` reads the number and then waits :data:`READ_PAUSE` seconds before
    handing it over, which is the moment another process can slip in and read the same
    number. Writing ``counter.value = n`` stores at once. It reaches other processes as a
    ``Process`` argument, like the shared memory inside it.
    """

    def __init__(self, context: Any = None):
        self._shared = get_context(context).Value("i", 0, lock=False)

    def __repr__(self) -> str:
        return f"<SlowCounter value={self._shared.value}>"

    @property
    def value(self) -> int:
        number = self._shared.value
        time.sleep(READ_PAUSE)
        return number

    @value.setter
    def value(self, number: int) -> None:
        self._shared.value = number


class NappingLock:
    """A :class:`procsync_teach.Lock` that naps for :data:`NAP` seconds after each acquire.

    It behaves like the lock inside it (``acquire``, ``release``, ``with``); the nap only
    makes sure that a process holding it is still holding it when the others act.
    """

    def __init__(self, name: str):
        self.name = name  # e.g. "alice": whose account this lock guards
        self._lock = Lock(trace=True)

    def __repr__(self) -> str:
        return f"<NappingLock {self.name!r}>"

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Take the lock like ``Lock.acquire``; once taken, nap before returning True."""
        got_it = self._lock.acquire(block, timeout)
        if got_it:
            time.sleep(NAP)
        return got_it

    def release(self) -> None:
        """Let the lock go, like ``Lock.release``."""
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def holds(self) -> list:
        """Every completed hold, by any process (see ``Lock.holds``)."""
        return self._lock.holds()


def check_safe_increment(safe_increment: Callable[..., Any]) -> Verdict:
    """Check ``safe_increment(counter, lock, n)``: it must add one to ``counter.value``
    ``n`` times, and lose no update when several processes run it at once.

    The check runs it in 4 processes started together, all sharing one counter (a
    :class:`SlowCounter`, which pauses after each read) and one ``procsync_teach.Lock``.
    """
    if does_nothing(safe_increment):
        return not_answered()
    counter = SlowCounter()
    lock = Lock()
    calls = [(counter, lock, INCREMENTS)] * PROCESSES
    trouble = _run_together(safe_increment, calls)
    if trouble is not None:
        return trouble
    expected = PROCESSES * INCREMENTS
    got = counter._shared.value
    if got == 0:
        return not_answered()
    if got < expected:
        return hint(
            f"{PROCESSES} processes added {INCREMENTS} each, so the counter should read "
            f"{expected}, but it reads {got}: {expected - got} updates were lost. Hold the "
            "lock you were given from the read to the write (`with lock:` around both), "
            "so no other process can read the old value in between."
        )
    if got > expected:
        return hint(
            f"the counter reads {got}, more than the {expected} expected: each call must "
            "add exactly 1, n times."
        )
    return correct(
        f"{PROCESSES} processes added {INCREMENTS} each and the counter reads {expected}: "
        "no update lost."
    )


def check_transfer(transfer: Callable[..., Any]) -> Verdict:
    """Check ``transfer(locks, source, target)``: it must hold the locks of both accounts
    at the same time, then let them go, and never deadlock.

    The check runs two processes at once: one calls ``transfer(locks, "alice", "bob")``,
    the other ``transfer(locks, "bob", "alice")``. ``locks`` maps each name to a lock
    that naps after every acquire, so taking the locks in a bad order deadlocks every time.
    """
    if does_nothing(transfer):
        return not_answered()
    locks = {name: NappingLock(name) for name in ("alice", "bob")}
    calls = [(locks, "alice", "bob"), (locks, "bob", "alice")]
    pids: list[int] = []
    trouble = _run_together(transfer, calls, pids)
    if trouble is not None:
        return trouble
    for pid, (_, source, target) in zip(pids, calls, strict=True):
        mine = {name: [h for h in lock.holds() if h.pid == pid] for name, lock in locks.items()}
        if not any(_overlap(a, b) for a in mine["alice"] for b in mine["bob"]):
            return hint(
                f"transfer(locks, {source!r}, {target!r}) never held both locks at the same "
                "time. Take the second lock while still holding the first (a `with` block "
                "inside another), in the same order in every process."
            )
    return correct(
        "both transfers held both locks and finished: taking the locks in one agreed "
        "order means nobody can hold the second lock while waiting for the first."
    )


# -- running the learner's function in processes --------------------------------------------


def _run_together(
    function: Callable[..., Any], calls: Sequence[tuple], pids: list[int] | None = None
) -> Verdict | None:
    """Run ``function(*args)`` for each args in ``calls``, each in its own process, all
    released at once. Return a hint if one raised or got stuck, else None.

    What the processes print is caught and dropped, so it cannot clutter the cell.
    ``pids``, if given, receives the processes' ids, in the order of ``calls``.
    """
    context = get_context()
    start = context.Barrier(len(calls) + 1)
    reports = new_folder("check-")
    target = functools.partial(_start_then_call, function)
    try:
        with capture_output():
            processes = [
                Process(target=target, args=(start, os.path.join(reports, str(index)), *args))
                for index, args in enumerate(calls)
            ]
            ready = []

            def release_them() -> None:
                try:
                    start.wait(START_WAIT)  # returns once every process is ready to go
                    ready.append(True)
                except threading.BrokenBarrierError:
                    pass

            stuck = run_to_the_end(processes, STUCK_AFTER, after_start=release_them)
        if not ready:
            return hint(
                f"the processes were not ready after {START_WAIT:g} seconds; the machine "
                "is very busy. Run the check again."
            )
        if pids is not None:
            pids.extend(process.pid for process in processes)
        errors = sorted(os.listdir(reports))
        if errors:
            with open(os.path.join(reports, errors[0]), encoding="utf-8") as file:
                error = file.read()
            return hint(f"your function raised {error}. Run it once by hand to see the line.")
    finally:
        remove(reports)
    if stuck:
        return hint(
            f"{len(stuck)} of {len(calls)} processes were still waiting after "
            f"{STUCK_AFTER:g} seconds, so the check stopped them. Either two processes each "
            "hold a lock the other needs (a deadlock: take the locks in the same order "
            "everywhere), or a lock is never released (use `with lock:`)."
        )
    return None


def _start_then_call(function: Callable[..., Any], start: Any, report: str, *args: Any) -> None:
    """In a child: wait for the others, run the function, and report an error in a file."""
    start.wait(START_WAIT)
    try:
        function(*args)
    except Exception as error:
        with open(report, "w", encoding="utf-8") as file:
            file.write(f"{type(error).__name__}: {error}")


def _overlap(first: Any, second: Any) -> bool:
    """Whether two lock holds were in force at the same moment."""
    return first.acquired < second.released and second.acquired < first.released
