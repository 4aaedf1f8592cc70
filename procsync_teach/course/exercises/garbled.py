"""Checks for the exercises of notebook 01, "Processes and garbled output".

1. :func:`check_report`: make a two-line report come out whole when several processes
   print theirs at once. The check runs the learner's function in processes with a
   traced :class:`~procsync_teach.Lock`, so the verdict does not depend on luck: it
   looks at *when* each word was written and *when* its process held the lock.
2. :func:`check_possible_outputs`: which screens can the locked example print?
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from multiprocessing.synchronize import Barrier

from ...capture import Capture, capture_output
from ...context import get_context
from ...lock import Lock, LockHold
from ...process import Process
from ..running import run_to_the_end
from . import (
    Verdict,
    correct,
    hint,
    letters,
    not_a_choice,
    not_a_function,
    not_answered,
    still_has_placeholder,
)

#: How many processes the report check starts.
REPORTERS = 3

_JOIN_TIMEOUT = 10.0


def report_lines(n: int) -> list[str]:
    """The two lines that process ``n`` prints in the exercise, in order."""
    return [f"Report from process {n}:", f"process {n} is doing fine"]


def check_report(print_report: Callable[[int, Lock, Barrier], object]) -> Verdict:
    """Check that each process's two-line report comes out whole, with no one cutting in.

    The check starts 3 processes that run ``print_report(n, lock, start)``, where ``start``
    is a barrier that lets them go on together, with a lock that records when each process
    held it. It is correct when every
    process wrote all of its report during one single hold of the lock.

    Args:
        print_report: your function itself (not a call to it).
    """
    if (verdict := not_a_function(print_report, "check_report(print_report)")) is not None:
        return verdict
    verdict = _judge_report(print_report)
    # The exercise gives the two print lines: run untouched, they fail, and the hint would
    # say how to fix them. A learner who has not tried yet gets no hint.
    if not verdict and still_has_placeholder(print_report):
        return not_answered()
    return verdict


def _judge_report(print_report: Callable[[int, Lock, Barrier], object]) -> Verdict:
    """Run the reporters and say whether each report came out whole, or what went wrong."""
    lock = Lock(trace=True)
    screen, processes, stuck = _run_reporters(print_report, lock)
    if stuck:
        return hint(
            "a process was still running after 10 s. Does it wait for a lock it already "
            "holds, or forget to release it? `with lock:` releases it for you."
        )
    failed = [p for p in processes if p.exitcode != 0]
    if failed:
        return hint(f"process {failed[0].name} failed with {_last_error(screen)}")
    if not screen.records():
        return not_answered()
    if any(_own_lines(screen, f"P{n}") != report_lines(n) for n in range(REPORTERS)):
        return hint(
            "each process should print its two report lines once each: keep the two "
            "print_slowly(...) calls of the exercise as they are."
        )
    return _judge_holds(screen, {p.name: p.pid for p in processes}, lock.holds())


def _run_reporters(print_report: Callable, lock: Lock) -> tuple[Capture, list, list]:
    """Run the reporters together; return the capture, the processes, those still running.

    They meet at a barrier, whatever each one's start took (a spawned child on a slow
    machine can take seconds), and go on from there at once.
    """
    start = get_context().Barrier(REPORTERS)
    with capture_output() as screen:
        processes = [
            Process(target=print_report, args=(n, lock, start), name=f"P{n}")
            for n in range(REPORTERS)
        ]
        stuck = run_to_the_end(processes, _JOIN_TIMEOUT)
    return screen, processes, stuck


def _judge_holds(screen: Capture, pids: dict[str, int], holds: list[LockHold]) -> Verdict:
    """Correct if each process wrote everything inside one of its own holds of the lock."""
    if not holds:
        return hint(
            "no process took the lock, so the reports can still mix. Put both "
            "print_slowly(...) calls inside one `with lock:` block."
        )
    for name, pid in pids.items():
        mine = [hold for hold in holds if hold.pid == pid]
        used = {_hold_at(record.time, mine) for record in screen.records() if record.who == name}
        if None in used:
            return hint(
                "some words were printed while their process did not hold the lock, and "
                "another process can cut in there. Put both print_slowly(...) calls inside "
                "the `with lock:` block."
            )
        if len(used) > 1:
            return hint(
                "a report was printed in two holds of the lock: between them another "
                "process can take the lock and print between your two lines. Take the lock "
                "once, around both lines."
            )
    return correct(
        "each report was printed during one hold of the lock, so its two lines stay "
        "together, whatever order the processes take the lock in."
    )


def _own_lines(screen: Capture, name: str) -> list[str]:
    """The lines one process printed, put back together from its own writes alone.

    (Counting words on the shared screen would not do: two words written back to back
    by two processes glue into one, such as "ReportReport".)
    """
    return [line.strip() for line in screen.text_of(name).splitlines()]


def _hold_at(time: float, holds: list[LockHold]) -> int | None:
    """The index of the hold during which ``time`` falls, or None."""
    for index, hold in enumerate(holds):
        if hold.acquired <= time <= hold.released:
            return index
    return None


def _last_error(screen: Capture) -> str:
    """The last line of the traceback a failed process printed, e.g. "NameError: ..."."""
    lines = [line.strip() for line in screen.lines() if line.strip()]
    return f"{lines[-1]}" if lines else "an error it did not print"


#: The screens offered in the second exercise; see :func:`check_possible_outputs`.
SCREENS = {
    "A": "Process 0 is running\nProcess 1 is running\nProcess 2 is running",
    "B": "Process 2 is running\nProcess 0 is running\nProcess 1 is running",
    "C": "Process 0 Process 1 is running\nis running\nProcess 2 is running",
    "D": "Process 0 is running\nProcess 2 is running",
}


def check_possible_outputs(answer: Iterable[str]) -> Verdict:
    """Check which screens the locked example (three processes, one Lock) can print.

    Args:
        answer: the letters of every possible screen, e.g. ``{"A", "C"}``.
    """
    if (verdict := not_a_choice(answer, SCREENS, "screens")) is not None:
        return verdict
    chosen = letters(answer)
    if "C" in chosen:
        return hint(
            "in C, words of two lines are mixed. While one process holds the lock, no other "
            "can print, so a line is never cut into."
        )
    if "D" in chosen:
        return hint(
            "in D a line is missing. A lock makes processes wait their turn; it never skips "
            "one, so every process prints its line."
        )
    if "A" not in chosen:
        return hint(
            "the processes were started in the order 0, 1, 2: can they take the lock in that order?"
        )
    if "B" not in chosen:
        return hint(
            "is the order fixed? The lock lets one process in at a time, but which one goes "
            "first is decided by the operating system's scheduler, not by the lock."
        )
    return correct(
        "a Lock keeps each line whole (never C) and loses nothing (never D), but it does not "
        "choose the order: A and B are both possible, like the four other orders."
    )
