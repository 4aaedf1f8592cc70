"""Checks for the exercises of notebook 09, "The executor".

* :func:`check_in_finishing_order`: the learner's function submits one nap per number to
  a ``ProcessPoolExecutor`` and returns the results in the order the tasks finished. The
  check hands it a real executor that notes, for each future, when it finished, and
  compares: no timing decides the verdict, only the order the executor saw.
* :func:`check_pool_or_executor`: the learner picks ``Pool`` or the executor for six
  scenarios.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

from ...context import get_context
from . import Verdict, check_choices, correct, hint, not_answered

#: The naps the check hands to ``in_finishing_order``: far apart, so they finish in the
#: order 0.0, 0.3, 0.6, whatever the order the workers started in.
NAPS = (0.6, 0.0, 0.3)

#: What a learner picks from in the second exercise.
PICKS = ("Pool", "executor")

#: For each scenario of the second exercise: the right pick, and what the scenario is like
#: (the hint for a wrong pick, which never names the right one).
RIGHT_PICKS = {
    "A": ({"executor"}, "waits for tasks submitted from several places together, and handles "
          "each as it finishes"),
    "B": ({"executor"}, "must be awaited from asyncio's loop, through loop.run_in_executor"),
    "C": ({"pool"}, "maps a tiny function over a million items, and needs a chunksize chosen "
          "for it"),
    "D": ({"executor"}, "must switch to threads by changing one class name, nothing else"),
    "E": ({"pool"}, "needs a limit of tasks per worker on Python 3.10"),
    "F": ({"executor"}, "must withdraw tasks that have not started yet"),
}


class _WatchedExecutor(Executor):
    """Passes tasks on to a real executor and notes the order in which futures finish.

    ``map``, inherited from ``Executor``, submits through :meth:`submit` too.
    """

    def __init__(self, executor: ProcessPoolExecutor):
        self._executor = executor
        self._lock = threading.Lock()  # guards finished: done-callbacks run in other threads
        self.finished: list[Future] = []  # the futures, in the order they finished
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future = self._executor.submit(fn, *args, **kwargs)
        self.submitted += 1
        future.add_done_callback(self._note)
        return future

    def _note(self, future: Future) -> None:
        with self._lock:
            self.finished.append(future)


def check_in_finishing_order(in_finishing_order: Callable[[Any, list[float]], list]) -> Verdict:
    """Check ``in_finishing_order(executor, naps)``: one ``tasks.nap_or_fail`` per nap,
    submitted to the executor, the results returned in the order the tasks finished."""
    with ProcessPoolExecutor(len(NAPS), mp_context=get_context()) as executor:
        watched = _WatchedExecutor(executor)
        try:
            returned = in_finishing_order(watched, list(NAPS))
        except Exception as error:  # shown to the learner as a hint, not a traceback
            return hint(f"your function raised {error!r}. Try its steps one by one in a cell.")
        with watched._lock:
            in_order_finished = [future.result() for future in watched.finished]
    if returned is None or returned is Ellipsis:
        return not_answered()
    if watched.submitted != len(NAPS):
        return hint(f"submit one task per nap, {len(NAPS)} in all: executor.submit("
                    f"tasks.nap_or_fail, seconds). Your function submitted {watched.submitted}.")
    if not isinstance(returned, list) or sorted(returned) != sorted(NAPS):
        return hint(f"return a list of the {len(NAPS)} results (each nap returns its seconds); "
                    f"yours was {returned!r}.")
    if returned == list(NAPS):
        return hint("those are the results in the order of the naps you submitted. Loop over "
                    "as_completed(futures, timeout=5) instead: it hands out each future as it "
                    "finishes.")
    if returned != in_order_finished:
        return hint(f"the tasks finished in the order {in_order_finished}; your list is "
                    f"{returned}. Append future.result() as as_completed hands out each future.")
    return correct("each result came in the order its task finished: the shortest nap first.")


def check_pool_or_executor(choices: dict[str, Any]) -> Verdict:
    """Check the pick for each scenario: a dict such as ``{"A": "Pool", ...}``."""
    return check_choices(choices, RIGHT_PICKS, PICKS, "scenario", "every pick fits its scenario.")
