"""Off the reading path (skip it at first): how the pool takes back jobs lined up in a
worker's pipe, so that none waits behind a long job while another worker is idle.

Jobs lined up behind a quick one (see :data:`procsync_teach.pool.LINE_UP_JOBS`) wait in
the worker's pipe. If the job the worker runs turns out long, they would wait behind it
while another worker has run out of work: a map whose items alternate slow and quick
would put every slow one on one worker. So the pool takes them back. A job in a pipe
cannot be pulled out of it; instead the worker, before it starts each job, asks whether
it still may, and skips (without a reply) a job the pool has taken back.

Both sides number the jobs of one worker the same way: the pool counts those it sends
(1, 2, 3, ...), the worker those it reads. The worker writes down the number of each job
it starts; the pool marks the numbers it takes back, and learns which job was started
last. Both happen under one lock, so each job is either started by this worker or taken
back by the pool, never both, never neither.
"""

from __future__ import annotations

from multiprocessing.context import BaseContext

_STARTED, _FIRST, _LAST = 0, 1, 2  # places in TakeBack._numbers

#: Seconds the pool waits for the lock, which a worker holds for a microsecond: held
#: longer, its worker was killed holding it (or stopped), and the pool takes nothing back.
LOCK_WAIT = 0.1


class TakeBack:
    """Shared by the pool and one worker: which of the jobs sent to the worker it may start.

    Args:
        context: the pool's multiprocessing context, to make the shared lock and numbers.
    """

    def __init__(self, context: BaseContext):
        self._lock = context.Lock()
        # Guarded by _lock: [the number of the job the worker started last, the first
        # and the last number taken back], e.g. [40, 41, 48]; all 0 at first.
        self._numbers = context.RawArray("q", 3)

    def may_start(self, number: int) -> bool:
        """Called by the worker before it starts the job numbered ``number``: False if the
        pool took it back (then the worker skips it, without a reply)."""
        with self._lock:
            if self._numbers[_FIRST] <= number <= self._numbers[_LAST]:
                return False
            self._numbers[_STARTED] = number
            return True

    def take_back(self, last: int) -> int:
        """Called by the pool: take back every job up to number ``last`` that the worker
        has not started, and return the number of the first one taken back (``last + 1``
        if none: every job started, or the lock is stuck).

        Every job numbered from it to ``last`` is taken back: those the pool still counts
        as the worker's, and any it took back before that the worker has not yet skipped.
        """
        if not self._lock.acquire(timeout=LOCK_WAIT):
            return last + 1  # the pool learns of the worker's death from its sentinel
        try:
            first = self._numbers[_STARTED] + 1
            self._numbers[_FIRST], self._numbers[_LAST] = first, last
            return first
        finally:
            self._lock.release()
