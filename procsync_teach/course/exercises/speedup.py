"""Checks for the exercises of notebook 05, "Chunksize and speed-up".

* :func:`check_default_chunksize`: the learner writes ``multiprocessing``'s formula for
  the chunksize ``map`` picks when given none, ``default_chunksize(n_items, workers)``.
* :func:`check_few_messages`: the learner picks the smallest chunksize that sends at most
  ten messages for a thousand items. The check runs a real ``map`` with it and counts
  the messages in the pool's records.
"""

from __future__ import annotations

from collections.abc import Callable

from ...clock import now
from ...pool import Pool
from . import Verdict, correct, hint, not_answered

#: (items, workers) pairs the learner's ``default_chunksize`` is tried on.
CHUNKSIZE_CASES = ((2_000, 2), (100_000, 2), (1_000, 3), (50, 4), (64, 2), (10, 4), (7, 2), (1, 8))

#: The second exercise: this many items, in at most this many messages.
ITEMS = 1_000
MAX_MESSAGES = 10


def reference_chunksize(n_items: int, workers: int) -> int:
    """The chunksize ``multiprocessing.Pool.map`` uses when it is given none (n_items >= 1)."""
    chunksize, extra = divmod(n_items, 4 * workers)
    return chunksize + 1 if extra else chunksize


def messages_for(n_items: int, chunksize: int) -> int:
    """How many messages (chunks) ``map`` sends for ``n_items`` items: n_items / chunksize,
    rounded up."""
    return -(-n_items // chunksize)


def check_default_chunksize(default_chunksize: Callable[[int, int], int]) -> Verdict:
    """Check your ``default_chunksize(n_items, workers)`` against multiprocessing's formula.

    It is called on several numbers of items and workers; each answer must be the
    chunksize ``Pool.map`` would choose by itself.
    """
    answers = {}
    for n_items, workers in CHUNKSIZE_CASES:
        try:
            answers[n_items, workers] = default_chunksize(n_items, workers)
        except Exception as error:
            return hint(f"default_chunksize({n_items}, {workers}) raised {error!r}.")
    if all(answer in (None, ...) for answer in answers.values()):
        return not_answered()
    for (n_items, workers), answer in answers.items():
        if isinstance(answer, float):
            return hint(
                f"default_chunksize({n_items}, {workers}) returned {answer!r}, a float: a chunk "
                "holds a whole number of items. `divmod(a, b)` gives the whole quotient and "
                "the remainder."
            )
    if all(answers[case] == case[0] // (4 * case[1]) for case in CHUNKSIZE_CASES):
        return hint(
            "close! When the division leaves a remainder, multiprocessing adds 1 to the "
            "chunksize, so the leftover items still fit into about four chunks per worker."
        )
    if all(answers[case] == messages_for(case[0], case[1]) for case in CHUNKSIZE_CASES):
        return hint("that is one chunk per worker; multiprocessing aims at four per worker.")
    for (n_items, workers), answer in answers.items():
        expected = reference_chunksize(n_items, workers)
        if answer != expected:
            return hint(
                f"for {n_items:,} items and {workers} workers multiprocessing picks "
                f"chunksize {expected}, your function gave {answer!r}. The formula is "
                "`divmod(n_items, 4 * workers)`, plus 1 if there is a remainder."
            )
    return correct(
        "About four chunks per worker: few messages, yet enough chunks to share the "
        "work if some take longer than others."
    )


def _square(x: int) -> int:
    return x * x


def check_few_messages(chunksize: int, items: int = ITEMS,
                       max_messages: int = MAX_MESSAGES) -> Verdict:
    """Check your chunksize: the smallest one that maps ``items`` items in at most
    ``max_messages`` messages.

    The check runs ``pool.map`` over the items with your chunksize on a real pool and
    counts the messages in ``pool.records()``.
    """
    if chunksize is ...:
        return not_answered()
    if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
        return hint(f"a chunksize is a whole number of items, at least 1, not {chunksize!r}.")
    with Pool(2) as pool:
        since = now()
        results = pool.map(_square, range(items), chunksize=chunksize)
        messages = len(pool.records(since=since))
    if results != [_square(x) for x in range(items)]:  # pragma: no cover - a pool bug
        return hint("the map gave wrong results; this is a bug in the pool, not in your answer.")
    smallest = messages_for(items, max_messages)
    if messages > max_messages:
        return hint(
            f"chunksize {chunksize} cut {items:,} items into {messages:,} messages, more than "
            f"{max_messages}. Bigger chunks mean fewer messages: how many items must each "
            f"message carry so that {max_messages} messages hold them all?"
        )
    if chunksize > smallest:
        return hint(
            f"{messages} messages is within the limit, but a smaller chunksize stays within it "
            "too. Smaller chunks share the work more evenly between the workers: find the "
            f"smallest chunksize that still needs at most {max_messages} messages."
        )
    return correct(
        f"{items:,} items in chunks of {chunksize}: the pool's records show {messages} "
        "messages, and no smaller chunksize would do."
    )
