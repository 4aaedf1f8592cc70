"""Checks for the exercises of notebook 04, "Timeouts and the life of a pool".

* :func:`check_get_or_default`: the learner's ``get_or_default(result, timeout, default)``
  returns the result if it comes within ``timeout`` seconds, else ``default``. The check
  first tries it on stand-in results that only pretend to wait (so a mistake costs no
  time and gives the same hint every run), then once on a real pool.
* :func:`check_shutdown_order`: the learner orders the steps "submit", "get", "close",
  "join" (and perhaps "terminate"); the check performs them in that order on a real
  pool and says what went wrong, if anything did.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

from procsync_teach.course.exercises import Verdict, correct, hint, method_name, not_answered
from procsync_teach.course.exercises.pools import _after_pause
from procsync_teach.errors import PoolTerminated, TimeoutError
from procsync_teach.pool import Pool

#: The steps the second exercise may use.
STEPS = ("submit", "get", "close", "join", "terminate")

#: How many tasks "submit" starts, and how long each runs (seconds).
TASKS, TASK_SECONDS = 4, 0.1


class _PretendResult:
    """Behaves like an AsyncResult whose task takes ``takes`` seconds, without waiting.

    Time only passes when the learner's code waits (``get``, ``wait``), and only on
    paper, so the check is instant and gives the same verdict on every run.
    """

    def __init__(self, value: Any = None, takes: float = 0.0, error: Exception | None = None):
        self._value = value
        self._takes = takes  # e.g. 10.0: seconds until the pretend task is done
        self._error = error
        self.waited = 0.0  # pretend seconds the caller has waited so far
        self.timeouts: list[float | None] = []  # the timeout of every get() call

    def ready(self) -> bool:
        return self.waited >= self._takes

    def wait(self, timeout: float | None = None) -> None:
        self.waited = min(self._takes, self.waited + (math.inf if timeout is None else timeout))

    def successful(self) -> bool:
        if not self.ready():
            raise ValueError("result not ready")
        return self._error is None

    def get(self, timeout: float | None = None) -> Any:
        self.timeouts.append(timeout)
        self.wait(timeout)
        if not self.ready():
            raise TimeoutError(f"no result within {timeout} s; the task is still running")
        if self._error is not None:
            raise self._error
        return self._value


def _try(get_or_default, result, timeout, default) -> tuple[str, Any]:
    """Run the learner's function; ("value", what it returned) or ("raised", the error)."""
    try:
        return "value", get_or_default(result, timeout, default)
    except Exception as error:  # the verdict explains it
        return "raised", error


def check_get_or_default(get_or_default: Callable[[Any, float, Any], Any]) -> Verdict:
    """Check ``get_or_default(result, timeout, default)``.

    It should return ``result.get(timeout=timeout)`` when the result comes in time,
    ``default`` when ``get`` raises TimeoutError, and let any other error through.
    """
    in_time = _PretendResult("value", takes=0.5)
    kind, got = _try(get_or_default, in_time, 1.0, "default")
    if kind == "value" and (got is None or got is Ellipsis):
        return not_answered()
    if kind == "raised":
        return hint(f"a task that finishes in time made your function raise {got!r}.")
    if got == "default":
        return hint("a task that needs 0.5 of the 1.0 seconds allowed got the default: "
                    "don't only ask ready(), which never waits; call get(timeout=timeout).")
    if got != "value":
        return hint(f"return what get() returns; your function returned {got!r}.")

    too_slow = _PretendResult("value", takes=10.0)
    kind, got = _try(get_or_default, too_slow, 0.1, "default")
    if kind == "raised" and isinstance(got, TimeoutError):
        return hint("the TimeoutError got out of your function. Catch it with "
                    "`except TimeoutError:` where TimeoutError comes from procsync_teach "
                    "(or multiprocessing): Python's built-in TimeoutError is another class.")
    if kind == "raised":
        return hint(f"a task that is too slow made your function raise {got!r}.")
    if None in too_slow.timeouts:
        return hint("get() without a timeout waits until the task ends, however long: "
                    "pass timeout=timeout.")
    if got != "default":
        return hint(f"a task that needs 10 seconds, with 0.1 allowed, should give the "
                    f"default; your function returned {got!r}.")

    failing = _PretendResult(takes=0.0, error=ValueError("the task failed"))
    kind, got = _try(get_or_default, failing, 1.0, "default")
    if kind != "raised" or not isinstance(got, ValueError):
        return hint("a task that failed with ValueError gave the default: catch only "
                    "TimeoutError, so that real errors still reach the caller.")

    # The same, once for real: a task that takes 1 s, asked with 0.1 s to spare.
    with Pool(2) as pool:
        quick = pool.apply_async(str, ("quick",))
        slow = pool.apply_async(functools.partial(_after_pause, 1.0, str), ("slow",))
        answers = [_try(get_or_default, ticket, timeout, "default")
                   for ticket, timeout in ((quick, 5.0), (slow, 0.1))]
    if answers != [("value", "quick"), ("value", "default")]:
        return hint(f"on a real pool, a quick task and a 1-second task asked with a 0.1-second "
                    f"timeout gave {answers}; expected the value, then the default.")
    return correct("the value if it comes in time, the default if not, and real errors "
                   "still raise. The slow task kept running after you gave up.")


def check_shutdown_order(steps: Sequence[Any]) -> Verdict:
    """Check an order of steps that collects every result and leaves no worker running.

    The steps are performed, in your order, on a real pool of 2 workers:
    "submit" starts 4 tasks of 0.1 s each, "get" collects their results, "close",
    "join" and "terminate" call the pool's methods of the same names.
    """
    if steps is Ellipsis or steps is None:
        return not_answered()
    if isinstance(steps, str) or not isinstance(steps, Sequence):
        return hint('give a list of step names, e.g. ["submit", ...].')
    names = [method_name(step) for step in steps]
    unknown = [name for name in names if name not in STEPS]
    if unknown:
        return hint(f"{unknown[0]!r} is not a step; use {', '.join(map(repr, STEPS))}.")
    if "submit" not in names:
        return hint('start with "submit": there is nothing to collect otherwise.')

    tickets: list[Any] = []
    collected: list[Any] = []
    joined = False
    with Pool(2) as pool:
        for name in names:
            try:
                if name == "submit":
                    task = functools.partial(_after_pause, TASK_SECONDS, abs)
                    tickets = [pool.apply_async(task, (-n,)) for n in range(TASKS)]
                elif name == "get":
                    collected = [ticket.get(timeout=5) for ticket in tickets]
                elif name == "join":
                    pool.join()
                    joined = True
                else:
                    getattr(pool, name)()
            except ValueError as error:
                return _hint_for_value_error(name, error)
            except PoolTerminated:
                return hint('"get" came after "terminate": terminate() stops the workers '
                            "at once and every unfinished task fails with PoolTerminated. "
                            "Collect first, or use close(), which lets queued work finish.")
            except TimeoutError:
                return hint("a get() waited 5 seconds in vain; that should not happen with "
                            "these steps. Try again, and tell your teacher if it persists.")
    if not collected:
        return hint('add a "get" after "submit": results are only yours once collected.')
    if collected != list(range(TASKS)):
        return hint(f"the results collected were {collected}, not {list(range(TASKS))}.")
    if not joined:
        return hint('end with "join": it waits until every worker has exited, so none is '
                    "left behind (and it needs close() or terminate() before it).")
    return correct("every result collected, every worker gone. close() lets the queued "
                   "work finish; join() waits for the workers to exit.")


def _hint_for_value_error(step: str, error: ValueError) -> Verdict:
    if step == "join":
        return hint(f'"join" raised ValueError("{error}"): join() waits for the workers to '
                    "exit, and they only exit after close() or terminate(). Put one of "
                    "them before join.")
    if step == "submit":
        return hint(f'"submit" raised ValueError("{error}"): a closed or terminated pool '
                    "accepts no more work. Submit first.")
    return hint(f'"{step}" raised ValueError("{error}").')
