"""How a map's items are cut into chunks: one message (or one task) per chunk.

Sending each item of a map on its own costs a round trip per item, which for tiny
tasks costs far more than the work. So ``map`` sends the items in chunks. The rule
for the default size is the standard library's: about four chunks per worker, so
that the workers share the load evenly and a slow chunk does not hold up the end.
"""

from __future__ import annotations

import operator


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
