"""Checks for the exercises of notebook 03, "Pool: waiting or not waiting".

* :func:`check_collect_squares`: the learner's function squares numbers with one
  ``apply_async`` per number and gathers the values through a ``callback``. The check
  runs it on a real pool, watched: it notes which pool methods the function called,
  and slows each task down a little, so a function that returns before the results
  are in is caught.
* :func:`check_method_choices`: the learner picks ``apply``, ``apply_async``, ``map``
  or ``map_async`` for four scenarios.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from procsync_teach.course.exercises import Verdict, correct, hint, method_name, not_answered
from procsync_teach.pool import Pool

#: The numbers the check hands to the learner's ``collect_squares``.
NUMBERS = (1, 2, 3, 4, 5, 6)

#: Seconds each watched task sleeps before it runs: long enough for a function that
#: does not wait to return before the results are in.
TASK_PAUSE = 0.05

#: The right method for each scenario of the second exercise.
RIGHT_METHODS = {"A": "apply", "B": "apply_async", "C": "map", "D": "map_async"}

# Why each method fits its scenario: the hint for a wrong choice.
_WHY = {
    "A": "the next line needs the one result, so the caller has nothing to do but wait: "
    "one call, blocking.",
    "B": "one call, and the caller must stay free (the progress bar keeps moving) and be "
    "told when it is done: think of what takes a callback.",
    "C": "many inputs, one function, and nothing else to do until every result is back.",
    "D": "many inputs, one function, and the caller must keep answering meanwhile: "
    "the non-blocking version of a batch call.",
}


def _after_pause(pause: float, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """In the worker: wait ``pause`` seconds, then run the learner's task."""
    time.sleep(pause)
    return func(*args, **kwargs)


class _WatchedPool:
    """Passes calls on to a real pool and notes them, for the check to look at.

    The real pool starts on first use, so an unanswered exercise costs no processes.
    """

    def __init__(self):
        self._pool: Pool | None = None
        self.methods: list[str] = []  # e.g. ["apply_async", "apply_async", ...]
        self.without_callback = 0  # apply_async calls that had no callback
        self.tickets: list[Any] = []  # the AsyncResults handed to the learner

    def _real(self) -> Pool:
        if self._pool is None:
            self._pool = Pool(2)
        return self._pool

    def apply_async(self, func, args=(), kwds=None, callback=None, error_callback=None):
        self.methods.append("apply_async")
        self.without_callback += callback is None
        slowed = functools.partial(_after_pause, TASK_PAUSE, func)
        ticket = self._real().apply_async(slowed, args, kwds, callback, error_callback)
        self.tickets.append(ticket)
        return ticket

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self.methods.append(name)
        return getattr(self._real(), name)

    def finish(self) -> None:
        """Let every task finish (5 s at most), then terminate the real pool, if any."""
        for ticket in self.tickets:
            ticket.wait(5)
        if self._pool is not None:
            self._pool.terminate()


def check_collect_squares(collect_squares: Callable[[Any, list[int]], list[int]]) -> Verdict:
    """Check ``collect_squares(pool, numbers)``, which should return the list of squares.

    It must call ``pool.apply_async`` once per number with a ``callback`` that adds each
    square to a list, wait until every result is in, and return that list (in any order).
    """
    watched = _WatchedPool()
    try:
        returned = collect_squares(watched, list(NUMBERS))
        all_in_when_returned = all(ticket.ready() for ticket in watched.tickets)
    except Exception as error:  # shown to the learner as a hint, not a traceback
        return hint(f"your function raised {error!r}. Try its steps one by one in a cell.")
    finally:
        watched.finish()
    if returned is None or returned is Ellipsis:
        return not_answered()
    if "apply_async" not in watched.methods:
        used = ", ".join(sorted(set(watched.methods))) or "no pool method"
        return hint(f"your function used {used}. This exercise is about apply_async: one call "
                    "per number, each with callback=squares.append.")
    if watched.without_callback:
        return hint("pass a callback to every apply_async call, e.g. callback=squares.append: "
                    "the pool calls it with the result as soon as the task is done.")
    if not isinstance(returned, list):
        return hint(f"return the list the callback filled, not a {type(returned).__name__}.")
    expected = sorted(n * n for n in NUMBERS)
    if not all_in_when_returned or len(returned) < len(expected):
        return hint("some squares were still on their way when your function returned. "
                    "Keep the AsyncResults that apply_async gives you and call "
                    ".get(timeout=5) on each before returning the list.")
    if sorted(returned) != expected:
        return hint(f"for {list(NUMBERS)} the list should hold {expected} (in any order); "
                    f"yours holds {sorted(returned)}.")
    return correct("every square came back through the callback. Callbacks run in the order "
                   "the tasks finish, so sort the list if the order matters.")


def check_method_choices(choices: dict[str, Any]) -> Verdict:
    """Check the method chosen for each scenario: a dict such as ``{"A": "apply", ...}``."""
    if not isinstance(choices, dict):
        return not_answered() if choices is Ellipsis or choices is None else hint(
            'give a dict that maps each scenario letter to a method, e.g. {"A": "apply", ...}.')
    if any(value is Ellipsis or value is None for value in choices.values()):
        return not_answered()
    missing = sorted(set(RIGHT_METHODS) - set(choices))
    if missing:
        return hint(f"choose a method for scenario {', '.join(missing)} too.")
    for letter, right in RIGHT_METHODS.items():
        chosen = method_name(choices[letter])
        if chosen not in RIGHT_METHODS.values():
            return hint(f"scenario {letter}: {chosen!r} is not one of apply, apply_async, "
                        "map, map_async.")
        if chosen != right:
            return hint(f"scenario {letter}: not {chosen}. {_WHY[letter]}")
    return correct("block (apply, map) when you need the answer before going on; go async "
                   "(apply_async, map_async) when the caller has other work to do.")
