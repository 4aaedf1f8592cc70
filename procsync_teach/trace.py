"""Records of who ran what, and when: the raw material of the course's timelines.

A pool keeps one :class:`TaskRecord` per job it finished (``Pool.records()``), and a
traced :class:`~procsync_teach.Lock` keeps one ``LockHold`` per hold (``Lock.holds()``).
Every time in them comes from the one clock all processes share
(:mod:`procsync_teach.clock`), so a worker's "started" can be drawn on the same axis
as the parent's "submitted".

Recording costs the pool two clock readings per job, taken in the worker, and
one small tuple in the parent: cheap enough to be always on. The pool keeps only the
most recent :data:`RECORDS_KEPT` records, so a long-running pool does not grow.
"""

from __future__ import annotations

from typing import NamedTuple

#: How many task records a pool keeps; older ones are dropped first.
RECORDS_KEPT = 10_000


class TaskRecord(NamedTuple):
    """What happened to one job (one ``apply`` call, or one chunk of a ``map``).

    Times are seconds on the shared clock; subtract one record's ``submitted`` from
    another's ``finished`` to get a duration.
    """

    task: int  # e.g. 12: the job's number within its pool
    worker: int  # e.g. 1: the worker's slot, 0 .. processes-1 (a replacement keeps the slot)
    pid: int  # e.g. 48213: the worker process that ran it
    calls: int  # e.g. 25: how many function calls the job held (a map chunk's size)
    submitted: float  # when the caller handed it to the pool
    started: float  # when the worker began it (when it was sent, if the worker died)
    finished: float  # when the worker ended it (when the loss was noticed, if it died)
    outcome: str  # "ok", "error", "worker died" or "terminated"

    @property
    def waited(self) -> float:
        """Seconds between submission and start: time spent queueing."""
        return self.started - self.submitted

    @property
    def ran(self) -> float:
        """Seconds the worker spent on the job."""
        return self.finished - self.started
