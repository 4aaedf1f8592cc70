"""How a map's items are cut into chunks: one message (or one task) per chunk.

Sending each item of a map on its own costs a round trip per item, which for tiny
tasks costs far more than the work. So ``map`` sends the items in chunks. The rule
for the default size is the standard library's: about four chunks per worker, so
that the workers share the load evenly and a slow chunk does not hold up the end.
``imap`` cuts its input the same way, but as the input comes: :func:`feed_chunks`.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for the type hints only
    from .results import IMapIterator


def choose_chunksize(items: int, workers: int, chunksize: int | None) -> int:
    """Check a chunksize, or choose one: about four chunks per worker, like the stdlib.

    Args:
        items: how many items the map has (0 if unknown, as for ``imap``).
        workers: how many workers share them.
        chunksize: the caller's choice, or None for the default.

    Raises:
        ValueError: ``chunksize`` below 1.
    """
    if chunksize is None:
        chunksize, extra = divmod(items, 4 * workers)
        return max(chunksize + bool(extra), 1)
    if operator.index(chunksize) < 1:
        raise ValueError(f"Chunksize must be 1+, not {chunksize}")
    return chunksize


def feed_chunks(items: Iterator[Any], chunksize: int, result: IMapIterator,
                submit: Callable[[list[Any], int], bool]) -> None:
    """Cut an ``imap``'s input into chunks as it comes, and ``submit(chunk, first)`` each.

    Run by a feeder thread of the pool's. It reads no further ahead than ``result`` has
    room for. When the input ends, ``result`` learns how many results there are. An error
    raised by the input, or by ``submit`` (an argument that cannot be pickled, say),
    becomes the result at its position, and the input ends there. When the pool ends
    first (``result`` is stopped, or ``submit`` returns False), the feeder just stops: the
    input has not ended, and ``result`` raises the pool's error after the results it has.
    """
    count = 0
    try:
        while result._wait_for_room(count):
            chunk = list(itertools.islice(items, chunksize))
            if not chunk:
                result._set_length(count)
                return
            if not submit(chunk, count):
                return
            count += len(chunk)
    except BaseException as error:  # that position raises it
        result._settle_job(count, 1, False, error)
        result._set_length(count + 1)
