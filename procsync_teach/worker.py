"""What a worker process does: wait for a job, run it, send back the reply. Repeat.

This is the whole life of a pool's worker; it runs in the child process.
It reads jobs from its own pipe, one at a time, and answers each with exactly one
:class:`~procsync_teach.messages.Reply`, so the pool always knows which job a
worker is busy with, and which job was lost if the worker dies.

Three details keep a worker well-behaved:

* It ignores Ctrl-C (SIGINT). Pressing Ctrl-C in a terminal signals every process
  of the group; the *parent* should get the KeyboardInterrupt and shut the pool
  down, not every worker print a traceback of its own.
* It exits by itself when its parent is gone, so a crashed notebook kernel leaves
  no orphaned workers behind.
* Whatever a task raises, even ``SystemExit``, becomes that task's error reply;
  the worker goes on to the next job.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from multiprocessing.pool import MaybeEncodingError

from .clock import now
from .messages import STOP, Job, Reply, dumps, loads

#: How often a worker checks that its parent is still alive, in seconds.
PARENT_CHECK_INTERVAL = 0.5


def run_worker(connection: Connection, setup: bytes, max_jobs: int | None) -> None:
    """The main function of a worker process.

    Args:
        connection: this worker's end of its pipe to the pool.
        setup: the pickled ``(initializer, initargs)`` pair; the initializer may be None.
        max_jobs: exit after this many jobs (``maxtasksperchild``), or None to serve forever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent()
    initializer, initargs = loads(setup)
    if initializer is not None:
        try:
            initializer(*initargs)
        except BaseException as error:  # reported to the pool, which cannot go on
            connection.send_bytes(dumps(Reply(False, _describe(error), now(), now())))
            return
    functions = _FunctionCache()
    jobs_done = 0
    while max_jobs is None or jobs_done < max_jobs:
        try:
            message = connection.recv_bytes()
        except (EOFError, OSError):  # the pool is gone
            return
        if message == STOP:
            return
        connection.send_bytes(_run_job(message, functions))
        jobs_done += 1


def _run_job(message: bytes, functions: _FunctionCache) -> bytes:
    """Run one job and return its pickled reply; never raises."""
    started = now()
    try:
        job: Job = loads(message)
        function = functions.get(job.function)
        results = [function(*arguments, **job.keywords) for arguments in job.calls]
        reply = Reply(True, results, started, now())
    except BaseException as error:  # SystemExit and KeyboardInterrupt included
        reply = Reply(False, _describe(error), started, now())
    try:
        return dumps(reply)
    except Exception as error:  # a result or exception that cannot be pickled
        unsendable = MaybeEncodingError(error, reply.value)
        return dumps(Reply(False, (unsendable, ""), reply.started, reply.finished))


def _describe(error: BaseException) -> tuple[BaseException, str]:
    """An exception and its traceback text: the traceback itself cannot cross processes."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return error, text


class _FunctionCache:
    """Remembers the last function unpickled: a map sends the same one with every chunk."""

    def __init__(self) -> None:
        self._pickled = b""
        self._function = None

    def get(self, pickled: bytes):
        if pickled != self._pickled:
            self._function = loads(pickled)
            self._pickled = pickled
        return self._function


def _watch_parent() -> None:
    """Start a thread that ends this process soon after its parent dies."""
    threading.Thread(target=_exit_when_parent_dies, name="parent-watch", daemon=True).start()


def _exit_when_parent_dies() -> None:
    if sys.platform == "win32":  # pragma: no cover - Windows: wait on the parent's handle
        from multiprocessing import parent_process
        from multiprocessing.connection import wait

        wait([parent_process().sentinel])
    else:
        # On POSIX an orphan is adopted by another process, so its parent id changes.
        # (Under forkserver the parent is the fork server, which exits with the pool's
        # process; the worker follows within one more interval.)
        parent = os.getppid()
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_INTERVAL)
    os._exit(1)
