"""What every demo is built from: its options, its limit on waiting, its first line, and
processes started so that a Ctrl-C reaches only the demo.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import resource_tracker
from typing import TYPE_CHECKING

from ...context import get_context

if TYPE_CHECKING:
    from .terminal import Terminal

#: Seconds to wait, beyond what the work should take, before deciding something is wrong.
#: Every wait in the demos has a limit, so a demo can fail but never hang.
SPARE_SECONDS = 10.0


@dataclass(frozen=True)
class Options:
    """The settings a demo runs with: the command line's, or the demo's defaults."""

    procs: int  # e.g. 2: worker processes (or, for garbled, printing processes)
    tasks: int  # e.g. 4: how many tasks (for garbled, lines each process prints)
    duration: float  # e.g. 0.2: seconds of work (see each demo for what it times)
    start_method: str | None  # "fork", "spawn", "forkserver", or None for the course's default


@contextmanager
def ctrl_c_for_this_process_only(start_method: str | None) -> Iterator[None]:
    """Start processes in this block, so that a Ctrl-C reaches only this one.

    Ctrl-C in a terminal signals every process of the group, and a child that is still
    starting (importing modules, under spawn) would print a traceback of its own. A signal
    blocked here is blocked in every process and thread started meanwhile, since the mask
    survives fork and exec; here it only waits, and arrives when the block ends.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows has no signal masks
        yield
        return
    if get_context(start_method).get_start_method() != "fork":
        # spawn and forkserver start multiprocessing's resource tracker on first use, and
        # starting it unblocks SIGINT: start it now, before the block.
        resource_tracker.ensure_running()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def header(term: Terminal, name: str, what: str, options: Options) -> None:
    """The demo's first line: what it shows, and under which start method."""
    method = get_context(options.start_method).get_start_method()
    term.say(term.bold(f"{name}: {what}") + f"  (start method: {method})")


def milliseconds(seconds: float) -> str:
    """0.0042 -> "4.2 ms": how long a call took that returned at once."""
    return f"{seconds * 1000:.1f} ms"
