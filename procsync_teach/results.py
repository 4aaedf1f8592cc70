"""Where a task's result waits for its caller: AsyncResult and the imap iterators.

Every ``*_async`` method returns at once with an :class:`AsyncResult`, a placeholder
that the pool fills in later. The caller decides when to wait: ``get()`` waits and
returns the value (or raises the task's error), ``wait()`` only waits, ``ready()``
never waits. ``imap`` returns an iterator instead, which hands out results one by
one as they arrive.

The pool fills these in from its dispatcher thread through one method, ``_settle_job``,
called once per job (a job is one call for ``apply``, one chunk for ``map``).
"""

from __future__ import annotations

import threading
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
    """

    def __init__(
        self,
        items: int,
        jobs: int,
        single: bool,
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ):
        self._values: list[Any] = [None] * items
        self._jobs_left = jobs  # e.g. 8: chunks of a map still to come back
        self._single = single  # True for apply: get() returns the value, not a list
        self._callback = callback
        self._error_callback = error_callback
        self._error: BaseException | None = None
        self._done = threading.Event()
        if jobs == 0:  # map over nothing: done before it began
            self._finish()

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

    # -- called by the pool's dispatcher thread ----------------------------------

    def _settle_job(self, first: int, count: int, ok: bool, value: Any) -> None:
        """Record one job's outcome: ``count`` values from index ``first``, or its error."""
        if self.ready():  # an earlier chunk failed: the result is already settled
            return
        if not ok:
            self._error = value
            self._finish()
            return
        self._values[first : first + len(value)] = value
        self._jobs_left -= 1
        if self._jobs_left == 0:
            self._finish()

    def _finish(self) -> None:
        # The callback runs before waiters wake up, as in the standard library, so
        # a callback's side effects are visible to whoever get() returns to.
        try:
            if self._error is None and self._callback is not None:
                self._callback(self._values[0] if self._single else self._values)
            elif self._error is not None and self._error_callback is not None:
                self._error_callback(self._error)
        finally:
            self._done.set()


class IMapIterator:
    """The iterator ``imap`` and ``imap_unordered`` return: results as they arrive.

    ``imap`` hands them out in the order of the inputs, waiting for the next one
    in line; ``imap_unordered`` in the order they finish. ``next(timeout=...)``
    raises :class:`procsync_teach.TimeoutError` if nothing comes in time.
    """

    def __init__(self, ordered: bool):
        self._ordered = ordered
        self._length: int | None = None  # e.g. 100: known once the input has ended
        self._arrived: dict[int, tuple[bool, Any]] = {}  # index -> (ok, value or error)
        self._order: list[int] = []  # indices in the order they arrived
        self._yielded = 0
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
        """
        with self._changed:
            if not self._changed.wait_for(self._next_is_known, timeout):
                raise TimeoutError(f"no result within {timeout} s; the tasks are still running")
            if self._yielded == self._length:
                raise StopIteration
            index = self._yielded if self._ordered else self._order[self._yielded]
            ok, value = self._arrived.pop(index)
            self._yielded += 1
        if not ok:
            raise value
        return value

    def _next_is_known(self) -> bool:
        """Is the next result here, or is it known that there is none?"""
        if self._yielded == self._length:
            return True
        if self._ordered:
            return self._yielded in self._arrived
        return len(self._order) > self._yielded

    def _settle_job(self, first: int, count: int, ok: bool, value: Any) -> None:
        with self._changed:
            for offset in range(count):
                self._arrived[first + offset] = (True, value[offset]) if ok else (False, value)
                self._order.append(first + offset)
            self._changed.notify_all()

    def _set_length(self, length: int) -> None:
        """The input has ended: there will be ``length`` results in all."""
        with self._changed:
            self._length = length
            self._changed.notify_all()
