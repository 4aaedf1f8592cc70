"""What a worker process does: wait for a job, run it, send back the reply. Repeat.

This is the whole life of a pool's worker; it runs in the child process.
It reads jobs from its own pipe (a message may hold a few, lined up), runs them in
order, and answers each with exactly one :class:`~procsync_teach.messages.Reply`,
sent the moment the job ends, so the pool always knows which job a worker is busy
with, and which job was lost if the worker dies. (A job lined up that the pool has
taken back for an idle worker, it skips without a reply: see
:mod:`~procsync_teach.takeback`.)

Three details keep a worker well-behaved:

* It ignores Ctrl-C (SIGINT). Pressing Ctrl-C in a terminal signals every process
  of the group; the *parent* should get the KeyboardInterrupt and shut the pool
  down, not every worker print a traceback of its own.
* It exits by itself when its parent is gone, so a crashed notebook kernel leaves
  no orphaned workers behind.
* Whatever a task raises, even ``SystemExit``, becomes that task's error reply;
  the worker goes on to the next job. But a process the task forked (``os.fork()``)
  that comes back into this loop is not the worker: it exits at once, without a
  word on the worker's pipe.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import traceback
import types
from collections.abc import Callable
from multiprocessing import parent_process
from multiprocessing.connection import Connection, wait
from multiprocessing.pool import MaybeEncodingError
from typing import Any

from .clock import now
from .messages import (
    READY,
    STOP,
    InitializerFailed,
    Job,
    Reply,
    dumps,
    loads,
    pack_reply,
    unpack_jobs,
)
from .pickling import note_start_up
from .takeback import TakeBack

#: How often a worker checks that its parent is still alive, in seconds.
PARENT_CHECK_INTERVAL = 0.5


def run_worker(connection: Connection, setup: bytes, max_jobs: int | None,
               take_back: TakeBack) -> None:
    """The main function of a worker process.

    Args:
        connection: this worker's end of its pipe to the pool.
        setup: the pickled ``(initializer, initargs)`` pair; the initializer may be None.
        max_jobs: exit after this many jobs (``maxtasksperchild``), or None to serve forever.
        take_back: tells which of the jobs lined up in the pipe the pool has taken back,
            to give them to an idle worker (see :mod:`~procsync_teach.takeback`).
    """
    _watch_parent(os.getppid())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    note_start_up()  # before the initializer: what it assigns is the worker's own
    try:
        initializer, initargs = loads(setup)  # fails if it went by name and is not found here
        if initializer is not None:
            initializer(*initargs)
    except BaseException as error:  # reported to the pool, which cannot go on
        connection.send_bytes(dumps(InitializerFailed(*_describe(error))))
        return
    connection.send_bytes(READY)  # from now on the pool may send jobs of any size
    functions = _JobFunction()
    worker_pid = os.getpid()
    jobs_done = 0
    jobs_read = 0  # the pool numbers the jobs it sends to this worker the same way
    while max_jobs is None or jobs_done < max_jobs:
        try:
            message = connection.recv_bytes()
        except (EOFError, OSError):  # the pool is gone
            return
        if message == STOP:
            return
        for job in unpack_jobs(message):  # the pool never sends more than max_jobs
            jobs_read += 1
            if not take_back.may_start(jobs_read):
                continue  # the pool took it back for another worker: no reply
            connection.send_bytes(_run_job(job, functions, worker_pid))
            jobs_done += 1


def run_one_job(job: Job) -> bytes:
    """Run one job that came alone, not down a pool's pipe, and return its pickled reply;
    never raises. A task of :class:`procsync_teach.cluster.Pool` is one such job."""
    return _run_job(job, _JobFunction(), os.getpid())


def _run_job(job: Job, functions: _JobFunction, worker_pid: int) -> bytes:
    """Run one job and return its pickled reply; never raises."""
    started = now()
    try:
        reply = Reply(True, _call(functions.get(job.function), job), started, now())
    except BaseException as error:  # SystemExit and KeyboardInterrupt included
        _exit_if_forked(worker_pid, error)
        reply = Reply(False, _describe(error), started, now())
    _exit_if_forked(worker_pid, None)
    try:
        return pack_reply(reply)
    except Exception as error:  # a result or exception that cannot be pickled
        value = reply.value[0] if job.kind == "apply" and reply.ok else reply.value
        unsendable = MaybeEncodingError(error, value)
        return pack_reply(Reply(False, (unsendable, ""), reply.started, reply.finished))


def _exit_if_forked(worker_pid: int, error: BaseException | None) -> None:
    """In a child the task forked, which has come back here: end it, as the task meant.

    Only the worker may reply on its pipe; a child must not answer for it or take its
    jobs. ``os._exit`` ends the child without running the worker's clean-up (at-exit
    handlers, buffers) a second time. Its exit code is ``sys.exit``'s, else 0 after a
    return and 1 after an exception.
    """
    if os.getpid() == worker_pid:
        return
    if isinstance(error, SystemExit):
        code = error.code if isinstance(error.code, int) else int(error.code is not None)
    else:
        code = int(error is not None)
    os._exit(code)


def _call(function: Callable[..., Any], job: Job) -> list[Any]:
    """Make the job's calls; see :class:`~procsync_teach.messages.Job` for the three kinds."""
    arguments = loads(job.arguments)
    if job.kind == "apply":
        args, kwds = arguments
        return [function(*args, **kwds)]
    if job.kind == "map":
        return list(map(function, arguments))
    return list(itertools.starmap(function, arguments))


def _describe(error: BaseException) -> tuple[BaseException, str]:
    """An exception and its traceback text: the traceback itself cannot cross processes."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return error, text


class _JobFunction:
    """The function of the last job: the pool sends a function only when it changes, and
    a job whose ``function`` is None runs the same one as the job before it.

    A function that arrives by value sets the globals it reads in this worker's
    ``__main__`` as it is unpickled (see :mod:`~procsync_teach.pickling`). Then:

    * a plain function with no closure is unpickled once and kept, as ``multiprocessing``'s
      worker keeps the function it looks up by name: the same object job after job;
    * anything else (a bound method, a callable object, a closure) is kept pickled and
      unpickled afresh for every job, as ``multiprocessing`` pickles it with every task:
      no job sees what an earlier one did to it (the list it pops from, its attributes).
    """

    def __init__(self) -> None:
        self._pickled = b""  # as it came from the pool
        self._kept: Callable[..., Any] | None = None  # a plain function, once unpickled

    def get(self, pickled: bytes | None) -> Callable[..., Any]:
        if pickled is not None:
            self._pickled, self._kept = pickled, None
        if self._kept is not None:
            return self._kept
        function = loads(self._pickled)
        if type(function) is types.FunctionType and function.__closure__ is None:
            self._kept = function
        return function


def _watch_parent(parent: int) -> None:
    """Start a thread that ends this process soon after its parent, pid ``parent``, dies."""
    threading.Thread(target=_exit_when_parent_dies, args=(parent,), name="parent-watch",
                     daemon=True).start()


def _exit_when_parent_dies(parent: int) -> None:
    # The parent's sentinel becomes ready when the parent ends. Under fork, a sibling
    # forked later holds a copy of what makes it ready, so we also check the parent
    # id: on POSIX an orphan is adopted by another process and its parent id changes.
    # (Under forkserver the parent is the fork server, which exits with the pool's process.)
    sentinel = parent_process().sentinel
    while not wait([sentinel], timeout=PARENT_CHECK_INTERVAL):
        if os.getppid() != parent:
            break
    os._exit(1)
