"""Run a few processes to their end, and stop those that do not end: for the checks and demos.

An exercise check or a terminal demo that starts processes must never hang, whatever the
learner's code does or the machine's load: every process gets a deadline, and those still
running at it are killed, then joined, so that none is left behind as a zombie.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from multiprocessing.process import BaseProcess

from ..clock import now

#: Seconds to wait for a killed process to be gone (it takes milliseconds).
STOP_WAIT = 5.0


def run_to_the_end(
    processes: Sequence[BaseProcess],
    timeout: float,
    after_start: Callable[[], object] | None = None,
    starting: AbstractContextManager | None = None,
) -> list[BaseProcess]:
    """Start ``processes``, wait at most ``timeout`` seconds for all of them, kill the rest.

    Args:
        processes: processes not started yet.
        timeout: seconds for all of them together, counted once ``after_start`` returned.
        after_start: called once all are started, e.g. to release them from a barrier.
        starting: a context manager to start them in (the demos block Ctrl-C there).

    Returns:
        The processes still running at the deadline, which have been killed since.
    """
    started: list[BaseProcess] = []
    try:
        with starting or nullcontext():
            for process in processes:
                process.start()
                started.append(process)
        if after_start is not None:
            after_start()
        deadline = now() + timeout
        for process in started:
            process.join(max(deadline - now(), 0.0))
    finally:  # also after an error or Ctrl-C: leave no process behind
        stuck = [process for process in started if process.is_alive()]
        for process in stuck:
            process.kill()
        for process in stuck:
            process.join(STOP_WAIT)
    return stuck
