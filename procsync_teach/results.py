"""Where a task's result waits for its caller: AsyncResult and the imap iterators.

Every ``*_async`` method returns at once with an :class:`AsyncResult`, a placeholder
that the pool fills in later. The caller decides when to wait: ``get()`` waits and
returns the value (or raises the task's error), ``wait()`` only waits, ``ready()``
never waits. ``imap`` returns an iterator instead, which hands out results one by
one as they arrive.

The pool fills these in from its dispatcher thread through one method, ``_settle_job``,
called once per job (a job is one call for ``apply``, one chunk for ``map``). An
:class:`AsyncResult` whose last job is in is then finished by ``_finish``: on the pool's
callback thread if it has a callback, so that a slow callback never idles the workers.
"""

from __future__ import annotations

import queue
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from .errors import TimeoutError


class AsyncResult:
    """The result of an ``apply_async``, ``map_async`` or ``starmap_async``, for later.

    Like a ticket at a cloakroom: you get it at once, and swap it for your coat
    (the value) when the coat is ready. ``get(timeout=...)`` waits at most that long;
    if the task is not done it raises :class:`procsync_teach.TimeoutError`, and the
    task keeps running: you can ask again later.

    Unlike the standard library's, a result always settles: if the worker running the
    task dies, or the pool is terminated, ``get()`` raises an error that says so
    instead of waiting forever.

    A result holds its pool until it is in, as the standard library's does:
    ``Pool(2).map_async(f, xs).get()`` works although nothing else keeps that pool.
    """

    def __init__(
        self,
        *,
        items: int,
        jobs: int,
        single: bool,
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
        pool: object = None,
    ):
        self._pool = pool  # kept alive until this result is in: see "Threads" in pool.py
        self._values: list[Any] = [None] * items
        self._jobs_left = jobs  # e.g. 8: chunks of a map still to come back
        self._single = single  # True for apply: get() returns the value, not a list
        self._callback = callback
        self._error_callback = error_callback
        self._error: BaseException | None = None
        self._done = threading.Event()
        if jobs == 0:  # map over nothing: done before it began, without a callback (as the stdlib)
            self._done.set()

    def __repr__(self) -> str:
        if not self.ready():
            state = f"pending, {self._jobs_left} job{'s' * (self._jobs_left != 1)} left"
        else:
            state = "succeeded" if self._error is None else f"failed: {self._error!r}"
        return f"<procsync_teach.AsyncResult {state}>"

    def ready(self) -> bool:
        """True once the result is in (a value or an error). Never waits."""
        return self._done.is_set()

    def successful(self) -> bool:
        """True if the task finished without raising.

        Raises:
            ValueError: the result is not ready yet (the same rule as the stdlib's).
        """
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        return self._error is None

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the result is ready, or ``timeout`` seconds have passed."""
        self._done.wait(timeout)

    def get(self, timeout: float | None = None) -> Any:
        """Wait for the result and return it, or raise the error the task raised.

        Args:
            timeout: seconds to wait at most; None waits until the result is in.

        Raises:
            procsync_teach.TimeoutError: not ready within ``timeout`` seconds
                (also a ``multiprocessing.TimeoutError``).
            Exception: whatever the task raised, with the worker's traceback text
                as its ``__cause__``; :class:`~procsync_teach.WorkerDied` or
                :class:`~procsync_teach.PoolTerminated` if the pool lost the task.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"no result within {timeout} s; the task is still running")
        if self._error is not None:
            raise self._error
        return self._values[0] if self._single else self._values

    # -- called by the pool's dispatcher thread, then its callback thread -----------

    def _settle_job(self, first: int, count: int, ok: bool, value: Any) -> bool:
        """Record one job's outcome: ``count`` values from index ``first``, or its error.

        Returns True when that was the last job: the result is then to be finished.
        As in the standard library (3.8+), a map whose chunk failed is finished only when
        every chunk is in, so that no chunk is still running when ``get()`` raises; the
        first error is the one raised.
        """
        if ok:
            self._values[first : first + len(value)] = value
        elif self._error is None:
            self._error = value
        self._jobs_left -= 1
        return self._jobs_left == 0

    def _has_callbacks(self) -> bool:
        return self._callback is not None or self._error_callback is not None

    def _finish(self) -> None:
        """Run the callback, then wake the waiters."""
        # The callback runs before waiters wake up, as in the standard library, so
        # a callback's side effects are visible to whoever get() returns to.
        try:
            if self._error is None and self._callback is not None:
                self._callback(self._values[0] if self._single else self._values)
            elif self._error is not None and self._error_callback is not None:
                self._error_callback(self._error)
        finally:
            self._done.set()
            self._pool = None  # as the stdlib's: a result that is in no longer holds its pool


def run_callbacks(finished: queue.SimpleQueue[tuple[int, AsyncResult] | None],
                  give_up: Callable[[str, BaseException], object]) -> None:
    """A pool's callback thread: finish each ``(job_id, result)`` that comes, in turn,
    until None comes."""
    while (item := finished.get()) is not None:
        finish_reporting(*item, give_up)


def finish_reporting(job_id: int, result: AsyncResult,
                     give_up: Callable[[str, BaseException], object]) -> None:
    """Finish ``result``, running its callback. A callback that raises is reported and
    the pool goes on; one that raises ``SystemExit`` or ``KeyboardInterrupt`` meant to
    stop: ``give_up(why, error)`` tells the pool."""
    try:
        result._finish()
    except Exception:
        print(f"procsync_teach: a callback of task {job_id} raised; the pool goes on:",
              file=sys.stderr)
        traceback.print_exc()
    except BaseException as error:
        give_up(f"a callback of task {job_id} raised {error!r}", error)


class IMapIterator:
    """The iterator ``imap`` and ``imap_unordered`` return: results as they arrive.

    ``imap`` hands them out in the order of the inputs, waiting for the next one
    in line; ``imap_unordered`` in the order they finish. ``next(timeout=...)``
    raises :class:`procsync_teach.TimeoutError` if nothing comes in time.

    A task's error is raised by the ``next()`` whose turn it is. As in the standard
    library, with ``chunksize=1`` the iteration then goes on with the next result;
    with a larger chunksize the failed chunk raises once, and the iteration ends.
    If the pool ends first (``terminate()``, a broken pool), every ``next()`` that has
    no result to give raises the pool's error at once. The iterator holds its pool until
    it has handed out every result (the standard library's, until every result has come
    in): ``for x in Pool(2).imap(f, xs)`` runs to the end.
    """

    def __init__(self, *, ordered: bool, chunksize: int, read_ahead: int, pool: object = None):
        self._pool = pool  # kept alive until the last result is handed out: see pool.py
        self._ordered = ordered
        self._chunksize = chunksize
        self._read_ahead = read_ahead  # e.g. 128: items the input may be read beyond next()
        self._length: int | None = None  # e.g. 100: known once the input (or a chunk) ended it
        self._arrived: dict[int, tuple[bool, Any]] = {}  # index -> (ok, value or error)
        self._order: list[int] = []  # indices in the order they arrived
        self._yielded = 0
        self._stopped: BaseException | None = None  # the pool ended before the results did
        self._changed = threading.Condition()

    def __repr__(self) -> str:
        order = "ordered" if self._ordered else "unordered"
        length = "?" if self._length is None else self._length
        return f"<procsync_teach.IMapIterator {order}, {self._yielded} of {length} yielded>"

    def __iter__(self) -> IMapIterator:
        return self

    def __next__(self) -> Any:
        return self.next()

    def next(self, timeout: float | None = None) -> Any:
        """Return the next result, waiting at most ``timeout`` seconds for it.

        Raises:
            StopIteration: every result has been handed out.
            procsync_teach.TimeoutError: the next result did not come in time.
            Exception: the error of the task whose turn it is.
            procsync_teach.PoolTerminated: the pool was terminated before this result.
        """
        with self._changed:
            if not self._changed.wait_for(self._next_is_known, timeout):
                raise TimeoutError(f"no result within {timeout} s; the tasks are still running")
            if self._yielded == self._length:
                self._pool = None  # the iteration is over: the pool may go if nothing holds it
                raise StopIteration
            if not self._next_has_arrived():
                raise self._stopped
            index = self._yielded if self._ordered else self._order[self._yielded]
            ok, value = self._arrived.pop(index)
            self._yielded += 1
            self._changed.notify_all()  # the feeder may read on
        if not ok:
            raise value
        return value

    def _next_is_known(self) -> bool:
        """Is the next result here, or is it known that there is none?"""
        return (self._yielded == self._length or self._next_has_arrived()
                or self._stopped is not None)

    def _next_has_arrived(self) -> bool:
        if self._ordered:
            return self._yielded in self._arrived
        return len(self._order) > self._yielded

    # -- called by the pool's threads ---------------------------------------------------

    def _settle_job(self, first: int, count: int, ok: bool, value: Any) -> bool:
        """Record one chunk's results, or its error; False: nothing more to finish."""
        with self._changed:
            if ok:
                for offset in range(count):
                    self._arrived[first + offset] = (True, value[offset])
                    self._order.append(first + offset)
            else:
                self._arrived[first] = (False, value)
                self._order.append(first)
                if self._chunksize > 1:  # the standard library's chunked imap ends here
                    self._end_at(first + 1 if self._ordered else len(self._order))
            self._changed.notify_all()
        return False

    def _set_length(self, length: int) -> None:
        """The input has ended: there will be ``length`` results in all."""
        with self._changed:
            self._end_at(length)
            self._changed.notify_all()

    def _end_at(self, length: int) -> None:
        self._length = length if self._length is None else min(self._length, length)

    def _wait_for_room(self, read: int) -> bool:
        """Called by the feeder, which has read ``read`` items: wait until it may read more.

        It may while fewer than ``read_ahead`` of those are still to be handed out.
        False: read no more (the iteration has ended, or the pool did).
        """
        with self._changed:
            self._changed.wait_for(lambda: read - self._yielded < self._read_ahead
                                   or self._length is not None or self._stopped is not None)
            return self._length is None and self._stopped is None

    def _read_all(self) -> None:
        """The pool was closed: ``join()`` waits for the input to be read, so read it all."""
        with self._changed:
            self._read_ahead = float("inf")
            self._changed.notify_all()

    def _stop(self, error: BaseException) -> None:
        """The pool ended: every ``next()`` with no result to give raises ``error``."""
        with self._changed:
            self._stopped = error
            self._changed.notify_all()
