"""The methods of ``multiprocessing.Pool`` that are made of other methods.

``multiprocessing.Pool`` has eight ways to submit work, but only three of them do
the work: ``apply_async`` (one call), ``_map_async`` (many calls, cut into chunks)
and ``_imap`` (many calls, read from the input as it comes). The other five wait
for an ``_async`` result, or choose a kind of map:

=================  ============================================
``apply``          ``apply_async(...).get()``
``map``            ``map_async(...).get()``
``map_async``      ``_map_async(..., "map", ...)``
``starmap``        ``starmap_async(...).get()``
``starmap_async``  ``_map_async(..., "starmap", ...)``
``imap``           ``_imap(..., ordered=True)``
``imap_unordered`` ``_imap(..., ordered=False)``
=================  ============================================

:class:`PoolInterface` writes them once; a pool that inherits it writes only the
three that do the work (:class:`procsync_teach.Pool` and
:class:`procsync_teach.cluster.Pool` do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .results import AsyncResult


def check_pool_arguments(processes: int | None, initializer: Callable[..., object] | None,
                         maxtasksperchild: int | None) -> None:
    """Refuse what ``multiprocessing.Pool()`` refuses, with its exception types and words."""
    if processes is not None and processes < 1:
        raise ValueError("Number of processes must be at least 1")
    if initializer is not None and not callable(initializer):
        raise TypeError("initializer must be a callable")
    if maxtasksperchild is not None and (
        not isinstance(maxtasksperchild, int) or maxtasksperchild < 1
    ):
        raise ValueError("maxtasksperchild must be a positive int or None")


class PoolInterface:
    """The blocking and the iterator methods of a Pool, in terms of its ``_async`` ones.

    A subclass provides ``apply_async``, ``_map_async(func, iterable, kind, chunksize,
    callback, error_callback)`` with ``kind`` "map" or "starmap", and
    ``_imap(func, iterable, chunksize, ordered)``.
    """

    def apply(self, func: Callable[..., Any], args: Iterable[Any] = (), kwds: dict | None = None):
        """Call ``func(*args, **kwds)`` in a worker and wait for its result.

        The call blocks: nothing else happens in your program until the result is back.
        """
        return self.apply_async(func, args, kwds).get()

    def map(self, func: Callable[[Any], Any], iterable: Iterable[Any],
            chunksize: int | None = None) -> list:
        """Return ``[func(x) for x in iterable]``, computed by the workers in parallel.

        The items are cut into chunks of ``chunksize`` items, one job per chunk; by
        default about four chunks per worker, as ``multiprocessing`` does. Blocks until
        every result is back. If tasks fail, the first error to come back (not the first
        in the order of the items) is raised once every chunk has finished (as in
        ``multiprocessing`` since Python 3.8), so that no chunk is still running when
        your ``with`` block terminates the pool.
        """
        return self.map_async(func, iterable, chunksize).get()

    def map_async(
        self,
        func: Callable[[Any], Any],
        iterable: Iterable[Any],
        chunksize: int | None = None,
        callback: Callable[[list], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> AsyncResult:
        """Like :meth:`map`, but return at once with an AsyncResult holding the list.

        A map over nothing is ready at once and, as in ``multiprocessing``, calls no
        callback.
        """
        return self._map_async(func, iterable, "map", chunksize, callback, error_callback)

    def starmap(self, func: Callable[..., Any], iterable: Iterable[Iterable[Any]],
                chunksize: int | None = None) -> list:
        """Like :meth:`map`, but each item is a tuple of arguments: ``func(*item)``."""
        return self.starmap_async(func, iterable, chunksize).get()

    def starmap_async(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
        callback: Callable[[list], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> AsyncResult:
        """Like :meth:`starmap`, but return at once with an AsyncResult holding the list."""
        return self._map_async(func, iterable, "starmap", chunksize, callback, error_callback)

    def imap(self, func: Callable[[Any], Any], iterable: Iterable[Any],
             chunksize: int = 1) -> Iterator[Any]:
        """Like :meth:`map`, but return an iterator that yields the results in order.

        It returns at once, and reads ``iterable`` in a thread of its own while the
        workers compute: results can come before the input has ended (it may be endless).
        How far it reads ahead of the results you have taken is the pool's choice:
        ``procsync_teach.Pool`` bounds it (see its ``_imap``).
        """
        return self._imap(func, iterable, chunksize, ordered=True)

    def imap_unordered(self, func: Callable[[Any], Any], iterable: Iterable[Any],
                       chunksize: int = 1) -> Iterator[Any]:
        """Like :meth:`imap`, but yield each result as soon as it is ready, in any order."""
        return self._imap(func, iterable, chunksize, ordered=False)
