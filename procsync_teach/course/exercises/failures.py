"""Checks for the exercises of notebook 08, "When tasks fail, and the rest of Pool".

* :func:`check_results_or_errors`: the learner's function runs one ``apply_async`` per
  number and returns, in order, each result or, for a task that failed, its exception.
  The check runs it on a real pool, with numbers of which some make the task fail.
* :func:`check_pool_tools`: the learner picks ``imap``, ``imap_unordered``, ``starmap``,
  ``initializer``, ``maxtasksperchild`` or ``error_callback`` for six scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...pool import Pool
from . import Verdict, check_choices, correct, hint, not_answered

#: The numbers the check hands to ``results_or_errors``: ``1 / 0`` fails, twice.
NUMBERS = (1, 0, 2, 0, 4)

#: The tools a learner picks from in the second exercise.
TOOLS = ("imap", "imap_unordered", "starmap", "initializer", "maxtasksperchild", "error_callback")

#: For each scenario of the second exercise: the right tool, and what the scenario is like
#: (the hint for a wrong pick, which never names the right one).
RIGHT_TOOLS = {
    "A": ({"imap"}, "reads an input that never ends, so nothing may make a list of it "
          "first, and it wants the results in the order of the lines"),
    "B": ({"imap_unordered"}, "wants each result as soon as it is ready, in whatever order"),
    "C": ({"starmap"}, "has a function of two parameters and a list of pairs"),
    "D": ({"initializer"}, "needs a set-up once in each worker, before its first task, not "
          "once per task"),
    "E": ({"maxtasksperchild"}, "needs each worker to make way for a fresh process now and "
          "then, which gives the leaked memory back"),
    "F": ({"error_callback"}, "must act the moment a task fails, with no caller waiting in get()"),
}


def _expected(number: float) -> float | type[BaseException]:
    """What ``results_or_errors`` should hold for a number: 1 / number, or the error type."""
    return 1 / number if number else ZeroDivisionError


def check_results_or_errors(results_or_errors: Callable[[Any, list[int]], list]) -> Verdict:
    """Check ``results_or_errors(pool, numbers)``: ``invert`` on each number, in a pool.

    It must return one entry per number, in the order of the numbers: ``1 / n``, or the
    ``ZeroDivisionError`` that the task raised for ``n == 0``, so that one failing task
    neither stops the others nor loses their results.
    """
    with Pool(2) as pool:
        try:
            returned = results_or_errors(pool, list(NUMBERS))
        except ZeroDivisionError:
            return hint("a task's ZeroDivisionError came out of your function: get() raises "
                        "the task's exception, so catch it around each get() and put the "
                        "exception in the list where the value would be.")
        except Exception as error:  # shown to the learner as a hint, not a traceback
            return hint(f"your function raised {error!r}. Try its steps one by one in a cell.")
    if returned is None or returned is Ellipsis:
        return not_answered()
    if not isinstance(returned, list) or len(returned) != len(NUMBERS):
        size = len(returned) if isinstance(returned, list) else type(returned).__name__
        return hint(f"return a list with one entry per number ({len(NUMBERS)} for "
                    f"{list(NUMBERS)}), a failed task's entry included; yours: {size}.")
    for index, (number, entry) in enumerate(zip(NUMBERS, returned, strict=True)):
        wanted = _expected(number)
        if isinstance(wanted, float) and entry != wanted:
            return hint(f"entry {index} (number {number}) should be its result, {wanted}; "
                        f"yours is {entry!r}. Keep the entries in the order of the numbers.")
        if wanted is ZeroDivisionError and not isinstance(entry, ZeroDivisionError):
            return hint(f"entry {index} (number {number}) should be the exception the task "
                        f"raised, the ZeroDivisionError object itself; yours is {entry!r}.")
    return correct("every task ran, and each failure kept its own place in the list.")


def check_pool_tools(choices: dict[str, Any]) -> Verdict:
    """Check the tool chosen for each scenario: a dict such as ``{"A": "imap", ...}``."""
    return check_choices(choices, RIGHT_TOOLS, TOOLS, "scenario",
                         "six scenarios, six tools, each in its place.")
