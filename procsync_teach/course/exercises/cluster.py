"""Checks for the exercises of notebook 13, "Beyond one machine".

* :func:`check_task_size`: from the cluster's measured overhead per task, the learner
  works out the shortest task whose overhead is under a tenth of its time.
* :func:`check_dask_translation`: the learner rewrites ``pool.map(square, numbers)`` in
  Dask's own API; the check runs it on a cluster, with a client that counts the tasks
  sent through it, to tell squares computed there from squares computed here.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from . import Verdict, correct, does_nothing, hint, not_a_function, not_answered

#: The overhead's largest acceptable share of a task's time, in the first exercise.
OVERHEAD_SHARE = 0.10

#: How close an answer must be to the exact task size (a relative tolerance).
TOLERANCE = 0.02


def smallest_task_for(overhead: float, share: float = OVERHEAD_SHARE) -> float:
    """The shortest task (seconds) whose time on the cluster is at most ``share`` overhead.

    A task of ``t`` seconds costs ``t + overhead`` in all, so the overhead's share is
    ``overhead / (t + overhead)``; it is ``share`` when ``t = overhead * (1 - share) / share``:
    nine times the overhead for 10 %.
    """
    return overhead * (1 - share) / share


def check_task_size(smallest_task: float, overhead: float) -> Verdict:
    """Check the shortest task (in seconds) whose cluster overhead is under 10 % of its time.

    Args:
        smallest_task: your answer, in seconds.
        overhead: the cluster's overhead per task, in seconds, as measured in the notebook.
    """
    if smallest_task is ...:
        return not_answered()
    if isinstance(smallest_task, bool) or not isinstance(smallest_task, (int, float)) or (
            not smallest_task > 0):
        return hint(f"the answer is a duration in seconds, above 0, not {smallest_task!r}.")
    expected = smallest_task_for(overhead)
    if math.isclose(smallest_task, expected, rel_tol=TOLERANCE):
        return correct("nine times the overhead: then the overhead is one part in ten of "
                       "the task's time. Tasks shorter than that spend more on the trip "
                       "than on the work.")
    if math.isclose(smallest_task, overhead / OVERHEAD_SHARE, rel_tol=TOLERANCE):
        return hint("close! That makes the overhead 10 % of the task, but a task's time "
                    "on the cluster is the task *plus* the overhead: solve "
                    "overhead / (task + overhead) = 0.1 for the task.")
    if smallest_task > 100 * overhead or smallest_task < overhead:
        return hint("check the units and the size: the answer is in seconds, like the "
                    "measured overhead, and somewhere between 1 and 100 times it.")
    share = overhead / (smallest_task + overhead)
    side = "more" if share > OVERHEAD_SHARE else "less"
    return hint(f"with your task size the overhead is {side} than a tenth of the time; "
                "solve overhead / (task + overhead) = 0.1 for the task.")


class _WatchedClient:
    """The client handed to the learner's function: the real one, which also counts the
    tasks sent through it, so the check can tell work sent to the cluster from work done
    here."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.tasks_sent = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.tasks_sent += 1
        return self._client.submit(*args, **kwargs)

    def map(self, *args: Any, **kwargs: Any) -> Any:
        futures = self._client.map(*args, **kwargs)
        self.tasks_sent += len(futures)
        return futures

    def __getattr__(self, name: str) -> Any:  # gather, as_completed's loop, ...
        return getattr(self._client, name)


def check_dask_translation(squares_on_cluster: Callable[[Any, list[int]], Any],
                           client: Any, square: Callable[[int], int]) -> Verdict:
    """Check ``squares_on_cluster(client, numbers)``: ``[square(n) for n in numbers]``,
    computed on the cluster with Dask's own API.

    Args:
        squares_on_cluster: your function.
        client: a ``distributed.Client`` of the cluster to run it on.
        square: the function to map, as the notebook defines it.
    """
    verdict = not_a_function(squares_on_cluster, "check_dask_translation(squares_on_cluster, "
                                                 "client, square_number)")
    if verdict is not None:
        return verdict
    if does_nothing(squares_on_cluster):
        return not_answered()
    numbers = random.sample(range(1000), 12)
    watched = _WatchedClient(client)
    try:
        answer = squares_on_cluster(watched, numbers)
    except Exception as error:
        return hint(f"squares_on_cluster(client, numbers) raised {error!r}.")
    if answer is None:
        return hint("your function returned None: does it end with `return`?")
    answer = list(answer) if isinstance(answer, (tuple, list)) else answer
    if isinstance(answer, list) and any(type(item).__name__ == "Future" for item in answer):
        return hint("these are futures, the tickets for results still on the cluster: "
                    "one call of the client fetches them all, in one round trip (see the "
                    "translation table).")
    if answer != [square(n) for n in numbers]:
        return hint(f"for 12 numbers the answer should be their 12 squares, in order; "
                    f"yours was {type(answer).__name__} {str(answer)[:60]}.")
    if watched.tasks_sent < len(numbers):
        return hint("right squares, but the `client` your function was given sent "
                    f"{watched.tasks_sent} task(s) for {len(numbers)} numbers: the rest were "
                    "computed here. Which method of the client sends one function over many "
                    "items?")
    return correct("`map` becomes `client.map` and `get` becomes `client.gather`: the "
                   "futures travel one way, the results come back in one go.")
