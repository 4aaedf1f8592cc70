"""Checks for the exercises of notebook 10, "Queues and shared state".

* :func:`check_count_safely`: the learner's ``count_safely(counter, n)`` adds 1 to a shared
  ``Value`` n times without losing updates. Lost updates are a matter of luck, so the check
  does not rely on seeing one: it first runs the function on a watched counter, in this
  process, and notes whether each read and write of ``counter.value`` happened while
  ``counter.get_lock()`` was held; then it runs the function in two real processes and
  counts.
* :func:`check_which_channel`: the learner picks ``Queue``, ``Pipe``, ``Value``,
  ``shared_memory`` or ``Manager`` for five scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...context import get_context
from ...process import Process
from . import Verdict, check_choices, correct, hint, not_answered

#: How many increments each of the check's two processes makes.
INCREMENTS = 2_000

#: The channels a learner picks from in the second exercise.
CHANNELS = ("Queue", "Pipe", "Value", "shared_memory", "Manager")

#: For each scenario of the second exercise: the right channel, and what the scenario is
#: like (the hint for a wrong pick, which never names the right one).
RIGHT_CHANNELS = {
    "A": ({"queue"}, "has many senders and one receiver, with items of any kind, taken in "
          "the order they were sent"),
    "B": ({"pipe"}, "has exactly two ends that talk both ways"),
    "C": ({"value"}, "is one number that every process updates"),
    "D": ({"shared_memory"}, "is a big block of data that every process reads in place, "
          "never pickled or copied"),
    "E": ({"manager"}, "is a dict whose keys nobody knows in advance, updated only now and "
          "then"),
}

_LOCK_RULE = ("the read and the write of counter.value are two steps, and another process can "
              "come between them: do both inside `with counter.get_lock():`.")


class _WatchedLock:
    """A stand-in for a Value's lock that knows whether it is held."""

    def __init__(self):
        self.held = 0

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        self.held += 1
        return True

    def release(self) -> None:
        self.held -= 1

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class _WatchedCounter:
    """A stand-in for ``Value("i", 0)`` that notes reads and writes made without its lock."""

    def __init__(self):
        self._value = 0
        self._lock = _WatchedLock()
        self.unlocked_uses = 0

    def get_lock(self) -> _WatchedLock:
        return self._lock

    @property
    def value(self) -> int:
        self.unlocked_uses += not self._lock.held
        return self._value

    @value.setter
    def value(self, new: int) -> None:
        self.unlocked_uses += not self._lock.held
        self._value = new


def check_count_safely(count_safely: Callable[[Any, int], object]) -> Verdict:
    """Check ``count_safely(counter, n)``: add 1 to ``counter.value`` n times, each time
    under ``counter.get_lock()``, so that processes running it at once lose no update."""
    watched = _WatchedCounter()
    try:
        count_safely(watched, 5)
    except Exception as error:  # shown to the learner as a hint, not a traceback
        return hint(f"count_safely(counter, 5) raised {error!r}. Try its steps one by one.")
    if watched._value == 0 and watched.unlocked_uses == 0:
        return not_answered()
    if watched.unlocked_uses:
        return hint(_LOCK_RULE)
    if watched._value != 5:
        return hint(f"count_safely(counter, 5) should add 5 to counter.value; it added "
                    f"{watched._value}.")
    counter = get_context().Value("i", 0)
    processes = [Process(target=count_safely, args=(counter, INCREMENTS)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    if any(process.exitcode != 0 for process in processes):
        return hint("a process running your function failed; run count_safely(counter, 5) "
                    "in a cell to see why.")
    if counter.value != 2 * INCREMENTS:
        return hint(f"two processes made {INCREMENTS:,} increments each, and the counter says "
                    f"{counter.value:,}. " + _LOCK_RULE)
    return correct(f"two processes, {INCREMENTS:,} increments each, and the counter says "
                   f"{2 * INCREMENTS:,}: no update lost.")


def check_which_channel(choices: dict[str, Any]) -> Verdict:
    """Check the channel chosen for each scenario: a dict such as ``{"A": "Queue", ...}``."""
    return check_choices(choices, RIGHT_CHANNELS, CHANNELS, "scenario",
                         "each scenario has the channel that fits it.")
