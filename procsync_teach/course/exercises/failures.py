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
from . import Verdict, check_choices, correct, hint, not_done

#: The numbers the check hands to ``results_or_errors``: ``1 / 0`` fails, twice.
NUMBERS = (1, 0, 2, 0, 4)

#: The right tool for each scenario of the second exercise.
RIGHT_TOOLS = {
    "A": "imap",
    "B": "imap_unordered",
    "C": "starmap",
    "D": "initializer",
    "E": "maxtasksperchild",
    "F": "error_callback",
}

# Why each tool fits its scenario: the hint for a wrong choice.
_WHY = {
    "A": "the input never ends, so nothing that makes a list first can work; and the "
    "results must come in the order of the lines.",
    "B": "each result is wanted as soon as it is ready, and the order does not matter.",
    "C": "each item is a pair of arguments for a function of two parameters.",
    "D": "the set-up must run once in each worker, before its first task, not once per task.",
    "E": "a worker that has run a number of tasks should make way for a fresh process, "
    "which gives the leaked memory back.",
    "F": "something must run the moment a task fails, without a caller waiting in get().",
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
        return not_done()
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
    return check_choices(choices, RIGHT_TOOLS, _WHY,
                         "six scenarios, six tools, each in its place.")
