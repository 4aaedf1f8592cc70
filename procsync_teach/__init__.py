"""procsync_teach: a Lock and a Pool for processes, written to be read.

The same interface as ``multiprocessing``'s ``Lock`` and ``Pool``, small enough to read
top to bottom, and better behaved in a notebook: functions defined in a cell work
under every start method, a dead worker or a terminated pool never leaves a caller
waiting forever, and every task leaves a record the course can draw.

Start with :class:`Lock` (``lock.py``) and :class:`Pool` (``pool.py``); :func:`Process`
and :func:`capture_output` run and watch single processes. ``procsync_teach.cluster.Pool``
(``cluster.py``) is the same Pool on a Dask cluster; import it from there, so that Dask is
loaded only by the programs that use it.
"""

from .capture import Capture, capture_output
from .clock import now
from .context import get_context, start_method
from .errors import (
    PoolBroken,
    PoolError,
    PoolTerminated,
    RemoteTraceback,
    TimeoutError,
    WorkerDied,
)
from .lock import Lock, LockHold
from .pool import Pool, PoolStatistics
from .process import Process
from .results import AsyncResult, IMapIterator
from .trace import TaskRecord

__all__ = [
    "AsyncResult",
    "Capture",
    "IMapIterator",
    "Lock",
    "LockHold",
    "Pool",
    "PoolBroken",
    "PoolError",
    "PoolStatistics",
    "PoolTerminated",
    "Process",
    "RemoteTraceback",
    "TaskRecord",
    "TimeoutError",
    "WorkerDied",
    "capture_output",
    "get_context",
    "now",
    "start_method",
]
