"""A pool of worker processes that run your functions in parallel.

The design, in one picture::

    caller threads               dispatcher thread                 worker processes
    --------------               -----------------                 ----------------
    apply_async(f, args)
      pickle the job     ──►  waiting jobs (a queue)
      wake the dispatcher        │
                                 ▼  send one job to each idle worker
                              pipe 0  ─────────────────────────►  worker 0: run, reply
                              pipe 1  ─────────────────────────►  worker 1: run, reply
                                 │  ◄───── a reply on pipe N (ok, value)
                                 ▼
                              settle the AsyncResult ──► get() returns / callback runs

    and the dispatcher also watches each worker's *sentinel*, which the operating
    system makes ready when the process ends, however it ends.

What happens on ``apply_async(f, (x,))``, step by step:

1. The caller checks the pool is running, pickles ``f`` and ``(x,)`` (so a mistake
   such as an unpicklable argument raises right here, in the caller), puts the job
   on the waiting queue and wakes the dispatcher. It returns an :class:`AsyncResult`.
2. The dispatcher finds an idle worker and sends it the job down that worker's
   own pipe. Each worker answers its jobs in order, one reply per job, and the pool
   writes down which jobs it sent to whom, so it always knows who runs what. (A
   worker that has just run ``f`` quickly also gets a few more jobs for ``f`` lined
   up behind the one it runs: see :data:`LINE_UP_JOBS`.)
3. The worker runs ``f(x)`` and sends back ``(ok, value)`` and the times it started
   and finished.
4. The dispatcher records the task for the course's timelines, settles the
   :class:`AsyncResult` (running your callback), and gives the worker its next job.
5. If instead the worker's sentinel fires, the worker died: the dispatcher settles
   its job with :class:`WorkerDied` and starts a new worker in the same slot.

Compared with ``multiprocessing.Pool``, which shares one task queue and one result
queue between all workers and needs three helper threads, one pipe per worker and a
single dispatcher thread make every worker's state visible in one place, and that is
what lets this pool notice a dead worker, settle every result on ``terminate()``,
and never hang.

The pool's lifecycle is one field, ``_state``: RUN (accepting work), then CLOSE
(``close()``: finish the queued work, accept no more), or TERMINATE (``terminate()``:
stop now). ``join()`` waits for the end of either.
"""

from __future__ import annotations

import atexit
import itertools
import operator
import os
import signal
import sys
import threading
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from .clock import now
from .context import get_context
from .errors import PoolError, PoolTerminated, RemoteTraceback, WorkerDied
from .inbox import Watcher, read_messages
from .messages import (
    STOP,
    FunctionPickles,
    InitializerFailed,
    Job,
    dumps,
    pack_jobs,
    unpack_reply,
)
from .results import AsyncResult, IMapIterator
from .trace import RECORDS_KEPT, TaskRecord
from .worker import run_worker

RUN, CLOSE, TERMINATE = "RUN", "CLOSE", "TERMINATE"

#: Seconds a worker gets to exit after a stop message or SIGTERM before it is killed.
EXIT_GRACE = 2.0

#: How many jobs may wait in a busy worker's pipe, lined up behind the job it runs.
#: A worker with jobs lined up starts the next one the moment it finishes, instead of
#: idling while its reply travels to the dispatcher and a new job travels back: for tiny
#: tasks that round trip costs more than the task. But a job lined up behind one worker
#: cannot go to another that falls idle, so jobs line up only behind a worker that has
#: just run the same function in under :data:`QUICK_JOB` seconds: the chunks of a map of
#: tiny tasks, or a burst of ``apply_async`` calls of a tiny function. Any other job
#: waits in the pool for the first worker that falls idle, never behind a long task.
LINE_UP_JOBS = 32

#: A job that ran for less than this many seconds is quick: see :data:`LINE_UP_JOBS`.
QUICK_JOB = 0.001

#: The most bytes of arguments a worker holds, for chunks to line up behind its job:
#: well below the smallest pipe buffer (8 KiB, on macOS), so that sending them never
#: blocks the dispatcher while the worker is busy.
LINE_UP_BYTES = 4 * 1024


@dataclass
class _WaitingJob:
    """A job on its way: what to send, and where its outcome goes."""

    job_id: int  # e.g. 17
    function: bytes  # the pickled function, shared by all the chunks of a map
    kind: str  # "apply", "map" or "starmap": see messages.Job
    arguments: bytes  # pickled by the caller
    result: AsyncResult | IMapIterator
    first: int  # e.g. 50: index of the job's first call among its result's items
    calls: int  # e.g. 25: how many calls it holds
    submitted: float
    sent: float = 0.0


@dataclass
class _Worker:
    """The pool's view of one worker process."""

    slot: int  # e.g. 1: its lane in the timelines; a replacement takes the same slot
    process: BaseProcess
    pid: int  # e.g. 48213
    connection: Connection  # the pool's end of this worker's pipe
    jobs: deque[_WaitingJob] = field(default_factory=deque)  # sent, not answered; first runs
    jobs_done: int = 0
    bytes_held: int = 0  # the size of the arguments of its jobs
    function: bytes = b""  # the function sent with its last job: later jobs need not repeat it
    quick_for: bytes | None = None  # the function its last job ran, if that job was quick
    pipe_open: bool = True  # False once the pipe reported end-of-file: the worker is dying


class Pool:
    """A fixed number of worker processes that run function calls for you.

    Like a taxi rank: the cars (workers) wait at the rank, each passenger (task) takes
    the next free car, and the rank outlives every ride. Starting a process is slow,
    so reusing a few is far cheaper than one new process per task.

    Use it in a ``with`` block, which terminates the workers on leaving::

        with Pool(4) as pool:
            print(pool.map(square, range(10)))   # [0, 1, 4, ..., 81]

    It has the interface of ``multiprocessing.Pool`` and gives the same results and
    the same errors wherever that pool works. Where that pool hangs or refuses, this
    one answers: functions defined in a notebook work under every start method, a
    worker that dies fails only its own task (:class:`WorkerDied`) and is replaced,
    ``terminate()`` settles every pending result (:class:`PoolTerminated`), and a
    :class:`~procsync_teach.Lock` can be passed to tasks as an ordinary argument.

    Functions from a notebook (``__main__``) travel by value, but share one namespace in
    a worker, its ``__main__``, as in ``multiprocessing``: what your ``initializer`` or a
    task stores with ``global``, the next task reads. A worker keeps the variables it has
    (change one in the notebook and pass it as an argument, or start a new pool), but
    takes a function you redefined in its new version. A function that cannot be pickled
    by value (it uses a thread lock, a queue) goes by name, as in ``multiprocessing``: a
    worker finds it where that pool's would (under fork, if it existed when the pool
    started), or the task fails with an ``AttributeError`` that says why. Each function
    is pickled once, however many calls; what is pickled with it (the object of a bound
    method, a callable object) comes afresh to every job, as in ``multiprocessing``.
    The details: :mod:`procsync_teach.messages`.

    Args:
        processes: how many workers; None means ``os.cpu_count()``.
        initializer: called as ``initializer(*initargs)`` in each worker as it starts.
        initargs: the arguments for ``initializer``.
        maxtasksperchild: replace a worker after it has run this many jobs
            (None: never); a cure for tasks that leak memory.
        context: a start method (``"fork"``, ``"spawn"``, ``"forkserver"``), a
            ``multiprocessing`` context, or None for the course's default
            (see :mod:`procsync_teach.context`).

    Raises:
        ValueError: ``processes`` or ``maxtasksperchild`` below 1, or an unknown start method.
        TypeError: ``initializer`` is not callable.
    """

    def __init__(
        self,
        processes: int | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        maxtasksperchild: int | None = None,
        context: BaseContext | str | None = None,
    ):
        if processes is None:
            processes = os.cpu_count() or 1
        if processes < 1:
            raise ValueError("Number of processes must be at least 1")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        if maxtasksperchild is not None and (
            not isinstance(maxtasksperchild, int) or maxtasksperchild < 1
        ):
            raise ValueError("maxtasksperchild must be a positive int or None")
        self._context = get_context(context)
        self._processes = processes
        self._setup = dumps((initializer, tuple(initargs)))
        self._function_pickles = FunctionPickles()
        self._maxtasksperchild = maxtasksperchild

        self._state = RUN
        self._lock = threading.Lock()  # guards _state, _waiting, _woken, _records
        self._waiting: deque[_WaitingJob] = deque()
        self._job_ids = itertools.count()
        self._records: deque[TaskRecord] = deque(maxlen=RECORDS_KEPT)
        self._broken: BaseException | None = None  # set if an initializer failed
        self._feeders = 0  # imap input threads still running
        self._wakeup_reader, self._wakeup_writer = Pipe(duplex=False)
        self._woken = False  # a wake-up byte is in the pipe, unread
        self._watcher = Watcher()
        # Workers are started before the dispatcher thread: forking a process that
        # runs threads is unsafe (Python 3.12 warns about it).
        self._workers = [self._start_worker(slot) for slot in range(processes)]
        self._dispatcher = threading.Thread(
            target=self._dispatch, name="procsync-dispatcher", daemon=True
        )
        self._dispatcher.start()
        _live_pools.add(self)

    def __repr__(self) -> str:
        busy = len(self._busy_workers())
        return (
            f"<procsync_teach.Pool state={self._state} processes={self._processes} "
            f"busy={busy} waiting={len(self._waiting)}>"
        )

    def __reduce__(self):
        raise NotImplementedError(
            "pool objects cannot be passed between processes or pickled"
        )

    def __enter__(self) -> Pool:
        self._check_running()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.terminate()

    # -- submitting work ---------------------------------------------------------------

    def apply(self, func: Callable[..., Any], args: Iterable[Any] = (), kwds: dict | None = None):
        """Call ``func(*args, **kwds)`` in a worker and wait for its result.

        The call blocks: nothing else happens in your program until the result is back.
        """
        return self.apply_async(func, args, kwds).get()

    def apply_async(
        self,
        func: Callable[..., Any],
        args: Iterable[Any] = (),
        kwds: dict | None = None,
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> AsyncResult:
        """Start ``func(*args, **kwds)`` in a worker and return at once with an AsyncResult.

        Args:
            callback: called with the result when it arrives (in the pool's thread:
                keep it short).
            error_callback: called with the exception instead, if the call fails.

        Raises:
            ValueError: the pool is not running (after ``close()`` or ``terminate()``).
            TypeError: ``func`` is not callable.
            pickle.PicklingError (or the error pickling raised): an argument cannot be
                sent to another process.
        """
        self._check_running()
        result = AsyncResult(1, 1, True, callback, error_callback)
        function = self._pickle_function(func)
        self._queue([self._job(function, "apply", tuple(args), dict(kwds or {}), result, 0, 1)])
        return result

    def map(self, func: Callable[[Any], Any], iterable: Iterable[Any],
            chunksize: int | None = None) -> list:
        """Return ``[func(x) for x in iterable]``, computed by the workers in parallel.

        The items are cut into chunks of ``chunksize`` items, one message per chunk;
        by default about four chunks per worker, as ``multiprocessing`` does. Blocks
        until every result is back; the first task error is raised.
        """
        return self.map_async(func, iterable, chunksize).get()

    def map_async(
        self,
        func: Callable[[Any], Any],
        iterable: Iterable[Any],
        chunksize: int | None = None,
        callback: Callable[[list], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> AsyncResult:
        """Like :meth:`map`, but return at once with an AsyncResult holding the list."""
        return self._map_async(func, iterable, "map", chunksize, callback, error_callback)

    def starmap(self, func: Callable[..., Any], iterable: Iterable[Iterable[Any]],
                chunksize: int | None = None) -> list:
        """Like :meth:`map`, but each item is a tuple of arguments: ``func(*item)``."""
        return self.starmap_async(func, iterable, chunksize).get()

    def starmap_async(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
        callback: Callable[[list], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> AsyncResult:
        """Like :meth:`starmap`, but return at once with an AsyncResult holding the list."""
        return self._map_async(func, iterable, "starmap", chunksize, callback, error_callback)

    def imap(self, func: Callable[[Any], Any], iterable: Iterable[Any],
             chunksize: int = 1) -> Iterator[Any]:
        """Like :meth:`map`, but return an iterator that yields the results in order.

        It returns at once, and reads ``iterable`` in a thread of its own while the
        workers compute: results can come before the input has ended (it may be endless).
        """
        return self._imap(func, iterable, chunksize, ordered=True)

    def imap_unordered(self, func: Callable[[Any], Any], iterable: Iterable[Any],
                       chunksize: int = 1) -> Iterator[Any]:
        """Like :meth:`imap`, but yield each result as soon as it is ready, in any order."""
        return self._imap(func, iterable, chunksize, ordered=False)

    def _map_async(self, func, iterable, kind: str, chunksize, callback,
                   error_callback) -> AsyncResult:
        self._check_running()
        items = list(iterable)
        chunksize = self._chunksize(len(items), chunksize)
        starts = range(0, len(items), chunksize)
        result = AsyncResult(len(items), len(starts), False, callback, error_callback)
        function = self._pickle_function(func)
        self._queue([self._job(function, kind, items[first : first + chunksize], {}, result,
                               first, len(items[first : first + chunksize])) for first in starts])
        return result

    def _imap(self, func, iterable, chunksize: int, ordered: bool) -> IMapIterator:
        self._check_running()
        chunksize = self._chunksize(0, chunksize)
        function = self._pickle_function(func)
        result = IMapIterator(ordered)
        with self._lock:
            self._check_running()
            self._feeders += 1
        threading.Thread(target=self._feed, args=(function, iter(iterable), chunksize, result),
                         name="procsync-imap-feeder", daemon=True).start()
        return result

    def _feed(self, function: bytes, items: Iterator[Any], chunksize: int,
              result: IMapIterator) -> None:
        """In a thread of its own: turn imap's input into jobs as the input comes."""
        count = 0
        try:
            while chunk := list(itertools.islice(items, chunksize)):
                job = self._job(function, "map", chunk, {}, result, count, len(chunk))
                with self._lock:  # close() does not stop an imap already begun; terminate() does
                    if self._state == TERMINATE:
                        raise PoolTerminated("the pool was terminated before this task was sent")
                    self._waiting.append(job)
                self._wake_dispatcher()
                count += len(chunk)
        except BaseException as error:  # the input or pickling failed: that position raises it
            result._settle_job(count, 1, False, error)
            count += 1
        finally:
            result._set_length(count)
            with self._lock:
                self._feeders -= 1
            self._wake_dispatcher()

    def _chunksize(self, items: int, chunksize: int | None) -> int:
        """Check a chunksize, or choose one: about four chunks per worker, like the stdlib."""
        if chunksize is None:
            chunksize, extra = divmod(items, 4 * self._processes)
            return max(chunksize + bool(extra), 1)
        if operator.index(chunksize) < 1:
            raise ValueError(f"Chunksize must be 1+, not {chunksize}")
        return chunksize

    def _pickle_function(self, func: Callable[..., Any]) -> bytes:
        """Pickle the function for all its jobs (once for all calls of the same function:
        see :class:`~procsync_teach.messages.FunctionPickles`); mistakes surface here."""
        if not callable(func):
            raise TypeError(f"{func!r} is not callable: pass the function itself, not its result")
        return self._function_pickles.get(func)

    def _job(self, function: bytes, kind: str, arguments: Any, keywords: dict,
             result: AsyncResult | IMapIterator, first: int, calls: int) -> _WaitingJob:
        """Pickle one job's arguments (here, in the caller: an unpicklable one raises here)."""
        pickled = dumps((arguments, keywords) if kind == "apply" else arguments)
        return _WaitingJob(next(self._job_ids), function, kind, pickled, result, first, calls,
                           now())

    def _queue(self, jobs: list[_WaitingJob]) -> None:
        """Put jobs on the waiting queue and wake the dispatcher."""
        with self._lock:
            self._check_running()  # again: close() may have come while we pickled
            self._waiting.extend(jobs)
        self._wake_dispatcher()

    # -- the lifecycle ------------------------------------------------------------------

    def close(self) -> None:
        """Accept no more work; the workers finish what is queued, then exit."""
        with self._lock:
            if self._state == RUN:
                self._state = CLOSE
        self._wake_dispatcher()

    def terminate(self) -> None:
        """Stop the workers now. Every result not yet settled fails with PoolTerminated."""
        with self._lock:
            self._state = TERMINATE
        self._wake_dispatcher()
        if threading.current_thread() is not self._dispatcher:
            self._dispatcher.join(EXIT_GRACE)
            if self._dispatcher.is_alive():
                # It is stuck sending a large job to a worker that does not read (one
                # still in its initializer, say). A dead reader makes that send fail.
                self._kill_workers()
                self._dispatcher.join()

    def join(self) -> None:
        """Wait until the workers have exited; call ``close()`` or ``terminate()`` first.

        Raises:
            ValueError: the pool is still running.
        """
        if self._state == RUN:
            raise ValueError("Pool is still running")
        if threading.current_thread() is not self._dispatcher:
            self._dispatcher.join()

    def records(self, since: float | None = None) -> list[TaskRecord]:
        """The record of every finished job (the most recent ones), oldest first.

        Args:
            since: keep only jobs submitted at or after this time on the shared
                clock (``procsync_teach.clock.now()``).
        """
        with self._lock:
            records = list(self._records)
        if since is not None:
            records = [record for record in records if record.submitted >= since]
        return records

    def _check_running(self) -> None:
        if self._state != RUN:
            raise ValueError("Pool not running")

    def _wake_dispatcher(self) -> None:
        # One unread byte is enough to wake it; more would only fill the pipe.
        with self._lock:
            if self._woken:
                return
            self._woken = True
        self._wakeup_writer.send_bytes(b"!")

    # -- the dispatcher thread ------------------------------------------------------------

    def _dispatch(self) -> None:
        """The dispatcher's life: hand out jobs and collect replies until the pool ends."""
        try:
            while self._dispatch_round():
                pass
        except BaseException as error:  # a bug here must not leave callers waiting forever
            self._broken = PoolError(f"the pool's dispatcher failed: {error!r}")
            traceback.print_exc()
        finally:
            self._stop_workers()
            self._fail_unfinished()
            self._watcher.forget()
            with self._lock:
                self._woken = True  # nobody writes to the wake-up pipe any more
                self._wakeup_reader.close()
                self._wakeup_writer.close()

    def _dispatch_round(self) -> bool:
        """Hand out jobs, wait for something to happen, handle it. False when all is done."""
        if self._state == TERMINATE:
            return False
        if self._broken is not None:
            self._fail_waiting(self._broken, "error")
        self._hand_out_jobs()
        if (self._state == CLOSE and not self._waiting and not self._busy_workers()
                and not self._feeders):
            return False
        replies = {worker.connection: worker for worker in self._workers if worker.pipe_open}
        deaths = {worker.process.sentinel: worker for worker in self._workers}
        ready = self._watcher.wait([self._wakeup_reader, *replies, *deaths])
        if self._wakeup_reader in ready:
            self._read_wakeup()
        for thing in ready:  # replies first: a worker may reply, then exit
            if thing in replies:
                self._receive(replies[thing])
        for thing in ready:
            if thing in deaths:
                self._replace(deaths[thing])
        return True

    def _read_wakeup(self) -> None:
        with self._lock:
            self._woken = False
            self._wakeup_reader.recv_bytes()  # the only one: _woken kept others from writing

    def _busy_workers(self) -> list[_Worker]:
        return [worker for worker in self._workers if worker.jobs]

    def _hand_out_jobs(self) -> None:
        """Give a waiting job to every idle worker, then line up quick jobs behind busy
        ones; each worker gets what it was given in one message."""
        given: dict[int, list[_WaitingJob]] = {worker.slot: [] for worker in self._workers}
        for worker in self._workers:
            if self._waiting and not worker.jobs and self._may_take(worker):
                self._give(self._waiting.popleft(), worker, given[worker.slot])
        # A line-up is topped up only once it has run half down, so that chunks travel
        # in batches: one message and one wake-up of the worker for many chunks.
        running_low = [worker for worker in self._workers if len(worker.jobs) <= LINE_UP_JOBS // 2]
        gave = True
        while gave:  # one chunk per busy worker per pass, so they share the map evenly
            gave = False
            for worker in running_low:
                if self._waiting and self._may_line_up(self._waiting[0], worker):
                    self._give(self._waiting.popleft(), worker, given[worker.slot])
                    gave = True
        for worker in self._workers:
            if given[worker.slot]:
                self._send(given[worker.slot], worker)

    def _may_line_up(self, job: _WaitingJob, worker: _Worker) -> bool:
        """May ``job`` wait behind the jobs ``worker`` holds? See :data:`LINE_UP_JOBS`.

        Its function must also be the last one sent to the worker: then it travels
        without it, and what waits in the pipe stays within :data:`LINE_UP_BYTES`.
        """
        return (_same(job.function, worker.quick_for) and _same(job.function, worker.function)
                and len(worker.jobs) <= LINE_UP_JOBS and self._may_take(worker)
                and worker.bytes_held + len(job.arguments) <= LINE_UP_BYTES)

    def _give(self, job: _WaitingJob, worker: _Worker, given: list[_WaitingJob]) -> None:
        job.sent = now()
        worker.jobs.append(job)  # written down before the worker can start it
        worker.bytes_held += len(job.arguments)
        given.append(job)

    def _send(self, given: list[_WaitingJob], worker: _Worker) -> None:
        """Send the jobs just given to a worker, as one message."""
        jobs = []
        for job in given:  # the function goes along only when it differs from the last one
            function = None if _same(job.function, worker.function) else job.function
            jobs.append(Job(job.job_id, function, job.kind, job.arguments))
            worker.function = job.function
        try:
            worker.connection.send_bytes(pack_jobs(jobs))
        except OSError:  # it died a moment ago: the jobs wait for another worker
            for job in given:
                worker.jobs.pop()
                worker.bytes_held -= len(job.arguments)
            self._waiting.extendleft(reversed(given))
            worker.pipe_open = False
            self._watcher.forget()

    def _may_take(self, worker: _Worker) -> bool:
        """Is the worker alive and willing? It exits after ``maxtasksperchild`` jobs."""
        limit = self._maxtasksperchild
        return worker.pipe_open and (limit is None or worker.jobs_done + len(worker.jobs) < limit)

    def _receive(self, worker: _Worker) -> None:
        """Read the replies a worker has sent and settle the jobs they answer."""
        replies, pipe_open = read_messages(worker.connection)
        for reply in replies:
            self._take_reply(worker, reply)
        if not pipe_open:  # the worker is gone; its sentinel will say how
            worker.pipe_open = False
            self._watcher.forget()

    def _take_reply(self, worker: _Worker, data: bytes) -> None:
        """Settle the job a worker's reply answers: the oldest it holds."""
        job = worker.jobs.popleft() if worker.jobs else None
        worker.jobs_done += 1
        worker.bytes_held -= len(job.arguments) if job else 0
        try:
            reply = unpack_reply(data)
        except Exception as error:
            message = "a worker's reply could not be unpickled in the pool's process"
            failure = PoolError(f"{message}: {error!r}")
            failure.__cause__ = error
            if job is not None:
                self._settle(job, False, failure, job.sent, now(), worker)
            return
        if isinstance(reply, InitializerFailed):
            if job is not None:  # it never ran: it fails below, with the pool's error
                self._waiting.appendleft(job)
            self._broken = PoolError(
                f"the pool's initializer raised {reply.error!r} in worker {worker.slot}; "
                "the pool cannot run tasks"
            )
            self._broken.__cause__ = RemoteTraceback(reply.traceback_text)
            return
        quick = reply.finished - reply.started < QUICK_JOB
        worker.quick_for = job.function if quick else None
        value = reply.value if reply.ok else self._rebuild_error(job, worker, *reply.value)
        self._settle(job, reply.ok, value, reply.started, reply.finished, worker)

    def _rebuild_error(self, job: _WaitingJob, worker: _Worker, error: BaseException,
                       text: str) -> BaseException:
        """Give a task's exception its worker-side traceback, as ``__cause__``."""
        if not isinstance(error, Exception):
            # SystemExit or KeyboardInterrupt raised by a task must not stop the caller.
            error = PoolError(
                f"task {job.job_id} raised {error!r} in worker {worker.slot}; "
                "the worker caught it and goes on"
            )
        if text:
            error.__cause__ = RemoteTraceback(text)
        return error

    def _settle(self, job: _WaitingJob, ok: bool, value: Any, started: float, finished: float,
                worker: _Worker | None, outcome: str = "") -> None:
        """Record the job and hand its outcome to its result; report a failing callback.

        ``worker`` is None for a job that never reached one (slot -1 in the records).
        """
        outcome = outcome or ("ok" if ok else "error")
        slot, pid = (worker.slot, worker.pid) if worker else (-1, 0)
        record = TaskRecord(job.job_id, slot, pid, job.calls, job.submitted, started, finished,
                            outcome)
        with self._lock:
            self._records.append(record)
        try:
            job.result._settle_job(job.first, job.calls, ok, value)
        except Exception:  # the callback raised: report it, keep serving
            print(f"procsync_teach: a callback of task {job.job_id} raised; the pool goes on:",
                  file=sys.stderr)
            traceback.print_exc()

    def _replace(self, worker: _Worker) -> None:
        """A worker's process ended: fail its job, if any, and start a new worker in its slot."""
        while worker.pipe_open and worker.connection.poll():
            self._receive(worker)  # its last replies came just before it exited
        self._watcher.forget()
        code = self._reap(worker)
        if worker.jobs:
            lost = worker.jobs.popleft()  # the one it was running; the others never started
            self._waiting.extendleft(reversed(worker.jobs))
            worker.jobs.clear()
            worker.bytes_held = 0
            how = f"was killed by {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
            error = WorkerDied(
                f"worker {worker.slot} (pid {worker.pid}) {how} while running "
                f"task {lost.job_id}; the pool started a new worker in its place",
                worker.slot, worker.pid, code,
            )
            self._settle(lost, False, error, lost.sent, now(), worker, "worker died")
        if self._state == TERMINATE or self._broken is not None:
            self._workers.remove(worker)
        else:
            self._workers[self._workers.index(worker)] = self._start_worker(worker.slot)

    def _start_worker(self, slot: int) -> _Worker:
        pool_end, worker_end = Pipe(duplex=True)
        process = self._context.Process(
            target=run_worker,
            args=(worker_end, self._setup, self._maxtasksperchild),
            name=f"PoolWorker-{slot}",
            daemon=True,
        )
        process.start()
        worker_end.close()  # only the worker holds its end now
        return _Worker(slot, process, process.pid, pool_end)

    # -- the end ------------------------------------------------------------------------

    def _stop_workers(self) -> None:
        """Ask each worker to stop (terminate: tell the OS to stop it), then reap it."""
        for worker in self._workers:
            if self._state == TERMINATE or worker.jobs:
                worker.process.terminate()
            else:
                try:
                    worker.connection.send_bytes(STOP)
                except OSError:
                    pass
        for worker in self._workers:
            self._reap(worker)

    def _kill_workers(self) -> None:
        """Kill every worker, from the caller's thread: see :meth:`terminate`."""
        for worker in list(self._workers):
            try:
                worker.process.kill()
            except (ValueError, AttributeError):  # the dispatcher reaped and closed it
                pass

    def _reap(self, worker: _Worker) -> int:
        """Wait for a worker's process to end (kill it if it will not), free it, return its
        exit code: negative means killed by that signal."""
        worker.process.join(EXIT_GRACE)
        if worker.process.exitcode is None:
            worker.process.kill()
            worker.process.join()
        code = worker.process.exitcode
        worker.process.close()  # frees the sentinel now, not whenever it is collected
        worker.connection.close()
        return code

    def _fail_unfinished(self) -> None:
        """Settle every job still in flight or waiting, so that no caller waits forever."""
        error = self._broken or PoolTerminated("the pool was terminated before this task finished")
        outcome = "error" if self._broken else "terminated"
        for worker in self._workers:
            while worker.jobs:
                job = worker.jobs.popleft()
                self._settle(job, False, error, job.sent, now(), worker, outcome)
        self._fail_waiting(error, outcome)

    def _fail_waiting(self, error: BaseException, outcome: str) -> None:
        """Settle every job not yet sent to a worker with ``error``."""
        with self._lock:
            unsent, self._waiting = list(self._waiting), deque()
        for job in unsent:
            self._settle(job, False, error, float("nan"), float("nan"), None, outcome)


def _same(function: bytes, other: bytes | None) -> bool:
    """Are these the same pickled function? The chunks of a map share one bytes object."""
    return function is other or function == other


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"

# Pools still running when the interpreter exits are terminated, so that their
# workers do not outlive the program that started them.
_live_pools: weakref.WeakSet[Pool] = weakref.WeakSet()


@atexit.register
def _terminate_live_pools() -> None:
    for pool in list(_live_pools):
        pool.terminate()
