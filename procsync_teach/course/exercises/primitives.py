"""Checks for the exercises of notebook 11, "The other primitives".

* :func:`check_polite_fetch` runs the learner's ``polite_fetch(seats, log, who)`` in
  :data:`FETCHERS` processes at once, sharing one ``Semaphore(SEATS)``, and counts from the
  recorded spans how many fetched at the same moment: never more than :data:`SEATS`, and
  (since each fetch lasts :data:`FETCH_TIME`, long enough for a second process to get in)
  more than one.
* :func:`check_primitives` reads which primitive the learner picks for each of
  :data:`SITUATIONS`, and says which situation is not right yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ...context import get_context
from ..spans import SpanLog, most_at_once
from . import Verdict, check_choices, correct, does_nothing, hint, not_answered
from .locks import _run_together

SEATS = 2  # how many processes may fetch at once
FETCHERS = 4  # how many processes run the learner's polite_fetch together
FETCH_TIME = 0.3  # seconds one fetch lasts: long enough that two always overlap


def fetch_one(log: SpanLog, who: int) -> None:
    """Fetch one page (here: wait :data:`FETCH_TIME` seconds), recorded in ``log`` as a
    span of ``who``."""
    with log.span(who):
        time.sleep(FETCH_TIME)


def check_polite_fetch(polite_fetch: Callable[..., Any]) -> Verdict:
    """Check ``polite_fetch(seats, log, who)``: it calls ``fetch_one(log, who)`` once, with
    never more than ``SEATS`` processes fetching at once.

    ``seats`` is a ``Semaphore(SEATS)`` shared by all the check's processes.
    """
    if does_nothing(polite_fetch):
        return not_answered()
    seats = get_context().Semaphore(SEATS)
    log = SpanLog()
    trouble = _run_together(polite_fetch, [(seats, log, who) for who in range(FETCHERS)])
    if trouble is not None:
        return trouble
    spans = log.spans()
    if sorted(span.who for span in spans) != list(range(FETCHERS)):
        return hint(
            f"each call must call fetch_one(log, who) exactly once, but the {FETCHERS} calls "
            f"fetched {len(spans)} times in all."
        )
    most = most_at_once(spans)
    if most > SEATS:
        return hint(
            f"{most} processes fetched at the same moment, but only {SEATS} may. Hold a seat "
            "of `seats` (`with seats:`) around the fetch; a Semaphore made inside your "
            "function would hold back nobody else."
        )
    if most < SEATS:
        return hint(
            f"the processes fetched one at a time, but {SEATS} may fetch at once. Use the "
            "`seats` you were given, not a Lock, and take one seat per fetch."
        )
    return correct(
        f"{FETCHERS} processes fetched, {SEATS} at a time: the semaphore handed out its "
        f"{SEATS} seats and made the others wait for one."
    )


#: The situations of the second exercise: the names accepted, and what each one needs.
SITUATIONS = {
    "a": ({"semaphore", "boundedsemaphore"},
          "needs a count of free places: up to 3 processes in, the 4th waits"),
    "b": ({"event"}, "needs a signal that stays on once given, which any number of processes "
                     "can wait for"),
    "c": ({"barrier"}, "needs a meeting point: nobody goes on until all have arrived"),
    "d": ({"rlock"}, "needs a lock that the process holding it may take again without "
                     "waiting for itself"),
    "e": ({"condition"}, "needs to sleep until a test on shared data comes true, woken by "
                         "whoever changes the data"),
}
PRIMITIVES = ("Lock", "RLock", "Semaphore", "BoundedSemaphore", "Event", "Condition", "Barrier")


def check_primitives(answers: Any) -> Verdict:
    """Check ``answers``, a dict from each situation's letter to the primitive it needs:
    a name such as ``"Lock"`` or the class itself."""
    return check_choices(
        answers, SITUATIONS, PRIMITIVES, "situation",
        "each situation has its primitive: a Semaphore limits, an Event signals, a Barrier "
        "gathers, an RLock can be taken again, a Condition waits for a test to come true.",
    )
