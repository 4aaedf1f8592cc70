"""Checks for notebook 07, "Pitfalls".

The notebook runs its scripts with :func:`procsync_teach.course.scripts.run_script`.
The checks:

* :func:`check_needs_guard`: which of four scripts fail under spawn without
  ``if __name__ == "__main__":``;
* :func:`check_squares`: the learner's function collects a pool's results inside the
  ``with`` block, before the pool is terminated, and leaves no worker behind.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable

from ...errors import PoolTerminated
from . import Verdict, correct, hint, letters, not_a_choice, not_answered

# -- exercise 1: which scripts need the guard -------------------------------------------------

#: The scripts of exercise 1 that start a process while being imported.
NEED_GUARD = frozenset({"B", "D"})

_WHY = {
    "A": "A already starts its pool under `if __name__ == \"__main__\":`",
    "B": "B starts a pool at the top level of the script",
    "C": "C's top-level print runs again in each child, which is noisy but starts no process",
    "D": "D calls `main()` at the top level, and `main()` starts a process",
}


def check_needs_guard(answer: set[str]) -> Verdict:
    """Check your set of the scripts (``"A"`` to ``"D"``) that fail under spawn for lack
    of an ``if __name__ == "__main__":`` guard."""
    if (verdict := not_a_choice(answer, _WHY, "scripts")) is not None:
        return verdict
    chosen = letters(answer)
    extra = sorted(chosen - NEED_GUARD)
    if extra:
        return hint(f"{_WHY[extra[0]]}: a child can import it safely.")
    missing = sorted(NEED_GUARD - chosen)
    if missing == ["D"]:
        return hint("look at D again: which line runs when a child imports the script?")
    if missing:
        return hint(
            "which scripts start a process while they are being imported? Follow every "
            "line that is not inside a `def` or an `if __name__ == \"__main__\":` block."
        )
    return correct(
        "B and D start a process while being imported, so each child (which imports the "
        "script again) would try to start one too. In D the call `main()` belongs under "
        "the guard."
    )


# -- exercise 2: collect the results while the pool runs -------------------------------------

#: The inputs the learner's ``squares`` is tried on.
SQUARE_INPUTS = ((1, 2, 3, 4, 5), (7, 0, 3))


def check_squares(squares: Callable[[list[int]], list[int]]) -> Verdict:
    """Check your ``squares(numbers)``: it returns ``[n * n for n in numbers]``, computed in
    a pool whose results are collected before the pool is terminated, and it leaves no
    worker process running."""
    for numbers in SQUARE_INPUTS:
        before = len(multiprocessing.active_children())
        try:
            got = squares(list(numbers))
        except PoolTerminated:
            return hint(
                "a result was asked for after the pool was terminated. Leaving a `with "
                "Pool(...)` block terminates the pool: call every `get()` inside the block."
            )
        except Exception as error:
            return hint(f"squares({list(numbers)}) raised {error!r}.")
        left = len(multiprocessing.active_children()) - before
        if got is None or got is ...:
            return not_answered()
        expected = [n * n for n in numbers]
        if not isinstance(got, list) or got != expected:
            return hint(f"squares({list(numbers)}) returned {got!r}, not {expected!r}.")
        if left > 0:
            return hint(
                f"the results are right, but {left} worker process{'es' * (left != 1)} kept "
                "running after `squares` returned. Use `with Pool(2) as pool:` so that the "
                "pool ends with the block."
            )
    return correct(
        "The results are collected inside the `with` block, while the pool still runs, and "
        "the block then ends the workers."
    )
