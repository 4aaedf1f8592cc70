"""One clock that every process on the machine reads alike.

Timelines in the course put the parent's events (a task submitted) next to the
workers' (a task started, a lock acquired). That only works if every process reads
the same clock. ``time.perf_counter()`` is such a clock on the platforms we support:
CLOCK_MONOTONIC on Linux, ``mach_absolute_time`` on macOS and QueryPerformanceCounter
on Windows are all system-wide, so a reading taken in a worker can be compared with
one taken in the parent. (``time.time()`` is shared too, but it jumps when the
system clock is adjusted; a timeline must never run backwards.)
"""

from __future__ import annotations

import time

#: Seconds on the shared clock. Only differences between two readings mean anything.
now = time.perf_counter
