"""The course's experiments as terminal demos, for a teacher without Jupyter.

    python -m procsync_teach demo garbled      # processes print at once; then with a Lock
    python -m procsync_teach demo sync-async   # apply vs apply_async, map vs map_async
    python -m procsync_teach demo timeout      # get(timeout=...) gives up; the task goes on
    python -m procsync_teach demo crash        # a worker killed mid-task; the pool goes on
    python -m procsync_teach demo lost-updates # a shared counter without and with a Lock
    python -m procsync_teach demo deadlock     # two locks taken in opposite orders; the fix

Each demo says what happens as it happens, in sections (``--step`` waits for Enter before
each, so a teacher can talk), and the pool demos draw a timeline in the terminal: one
lane per worker, in the worker's colour from :mod:`procsync_teach.course.colours` (the colours
of the notebooks' plots), built from ``pool.records()``. The demos use only the library's
public interface, so each ``demo_*`` function reads like a notebook cell.

One idea a module:

- :mod:`.synchronisation`: garbled, lost-updates, deadlock (the first half of the course);
- :mod:`.pools`: sync-async, timeout, crash (the second half);
- :mod:`.basics`: what every demo is built from (its options, its limit on waiting);
- :mod:`.text_timeline`: the timelines, drawn from ``pool.records()``;
- :mod:`.terminal`: how a terminal is written to (colours, lines that fit its width, a
  progress bar that never mixes with the demo's lines, ``--step``'s waiting);
- here: the list of demos, which ``python -m procsync_teach`` reads.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NamedTuple

from .basics import Options
from .pools import demo_crash, demo_sync_async, demo_timeout
from .synchronisation import demo_deadlock, demo_garbled, demo_lost_updates
from .terminal import Terminal


class Demo(NamedTuple):
    """A demo: what it shows, in a line, the function that runs it, and its options."""

    summary: str
    run: Callable[[Options, Terminal], int]
    defaults: dict[str, int | float]  # the options it reads, with their defaults


DEMOS: dict[str, Demo] = {
    "garbled": Demo(
        "processes printing word by word at once garble the lines; a Lock keeps them whole",
        demo_garbled, {"procs": 3, "tasks": 1, "duration": 0.02},
    ),
    "sync-async": Demo(
        "apply and map block the caller; apply_async and map_async return at once",
        demo_sync_async, {"procs": 2, "tasks": 4, "duration": 0.2},
    ),
    "timeout": Demo(
        "get(timeout=...) raises TimeoutError while the task runs on; a later get() collects it",
        demo_timeout, {"duration": 1.5},
    ),
    "crash": Demo(
        "a worker killed with SIGKILL mid-task: WorkerDied at once, the pool goes on (not Windows)",
        demo_crash, {"procs": 2, "tasks": 4, "duration": 3.0},
    ),
    "lost-updates": Demo(
        "processes add 1 to a shared counter: updates lost without a lock, none with one",
        demo_lost_updates, {"procs": 4, "tasks": 20, "duration": 0.002},
    ),
    "deadlock": Demo(
        "two processes take two locks in opposite orders and wait for each other; the fix",
        demo_deadlock, {"duration": 1.0},
    ),
}

#: What each option means to the demos that read it, for --help.
OPTION_MEANINGS = {
    "procs": "garbled: printing processes; sync-async, crash: workers; lost-updates: "
             "processes adding",
    "tasks": "garbled: lines per process; sync-async: tasks; crash: tasks after the crash; "
             "lost-updates: additions per process",
    "duration": "garbled: pause after each word; sync-async, timeout: a task's length; "
                "crash: the length of the task that gets killed; lost-updates: the pause "
                "between read and write; deadlock: how long each waits for its second lock",
}


def run(name: str, options: Options, colour: bool | None = None, step: bool = False) -> int:
    """Run the demo called ``name``; return the exit code.

    ``colour=None`` decides by itself; ``step`` waits for Enter (on stdin) between sections.
    """
    return DEMOS[name].run(options, Terminal.for_streams(colour, step_input=sys.stdin if step
                                                         else None))
