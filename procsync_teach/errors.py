"""The exceptions of procsync_teach, in one place.

Code written for :mod:`multiprocessing` must keep working when it switches to
procsync_teach, so every error here is, or derives from, the type the standard
library would raise in the same situation. What we add is the situations the
standard library never reports at all (a worker that died, a pool that was
terminated under a waiting caller): those get errors of their own, derived from
``RuntimeError`` and carrying a message that says what happened and what to do.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool


class TimeoutError(multiprocessing.TimeoutError):  # noqa: A001 - same name as the stdlib's
    """Raised by ``AsyncResult.get(timeout=...)`` when the result is not ready in time.

    It *is* a ``multiprocessing.TimeoutError``, so ``except multiprocessing.TimeoutError``
    catches it too. The task itself is not cancelled: it keeps running in its worker,
    and a later ``get()`` can still collect the result.
    """


class PoolError(RuntimeError):
    """Base class of the errors a task gets when the pool, not the task, went wrong."""


class WorkerDied(PoolError):
    """The worker process running this task died before it could answer.

    Ours settles that one task with this error and starts a new worker in place of the
    dead one; the pool goes on. Elsewhere: ``multiprocessing.Pool`` leaves that task's
    ``get()`` blocked forever; ``concurrent.futures.ProcessPoolExecutor`` fails every
    pending future with ``BrokenProcessPool`` and can run nothing more; loky (joblib's
    backend) raises ``TerminatedWorkerError`` and starts a fresh executor; Dask's
    distributed scheduler reruns the task on another worker, and gives up with
    ``KilledWorker`` after a few deaths.

    Attributes:
        worker: index of the worker in the pool (0, 1, ...).
        pid: process id of the dead worker.
        exitcode: the process's exit code; negative means killed by that signal
            (-9 is SIGKILL, which is also what the out-of-memory killer sends).
    """

    def __init__(self, message: str, worker: int = -1, pid: int = 0, exitcode: int = 0):
        super().__init__(message)
        self.worker = worker
        self.pid = pid
        self.exitcode = exitcode

    def __reduce__(self):
        return type(self), (str(self), self.worker, self.pid, self.exitcode)


class PoolTerminated(PoolError):
    """The pool was terminated (or its ``with`` block left) before this task finished."""


class PoolBroken(PoolError):
    """The pool cannot run tasks any more, and its message says why.

    A pool breaks when its initializer fails, when its workers keep ending before they are
    ready (a main module that fails when a spawned worker imports it, say), when a callback
    raises ``SystemExit`` or ``KeyboardInterrupt``, or when something goes wrong in the
    pool's own thread (a replacement worker that cannot be started, say: out of file
    descriptors). Every pending result then fails with this error, and so does every later
    call: make a new pool. The original error is its ``__cause__``.
    """


#: Carries the traceback text of an exception raised inside a worker process (in its
#: ``tb`` attribute, and as its ``str``). A traceback cannot cross a process boundary, only
#: its text can. As the standard library does, we attach that text as the ``__cause__`` of
#: the exception the caller gets, so the error report shows both where the caller waited and
#: where the task failed. It is the standard library's own class, not one like it: code (and
#: CPython's own tests) that checks ``type(error.__cause__) is
#: multiprocessing.pool.RemoteTraceback`` works with either pool.
RemoteTraceback = multiprocessing.pool.RemoteTraceback
