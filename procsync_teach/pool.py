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
                              settle the AsyncResult ──► get() returns
                                 │
                                 ▼
                              callback thread: runs your callback, then get() returns

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
   :class:`AsyncResult`, and gives the worker its next job. A result with a callback
   is finished on the callback thread, which runs the callback first: a slow
   callback never keeps the dispatcher from serving the workers.
5. If instead the worker's sentinel fires, the worker died: the dispatcher settles
   its job with :class:`WorkerDied` and starts a new worker in the same slot.

Compared with ``multiprocessing.Pool``, which shares one task queue and one result
queue between all workers and needs three helper threads, one pipe per worker and a
single dispatcher thread make every worker's state visible in one place, and that is
what lets this pool notice a dead worker, settle every result on ``terminate()``,
and never hang.

Reading it for the first time
-----------------------------
Read :class:`Pool` (what your thread does), then :class:`_Dispatcher` from ``run``:
one round after another of "hand out jobs, wait, handle what happened". You may skip
the line-up machinery (:data:`LINE_UP_JOBS` and its constants, ``_may_line_up``,
``_take_back_lined_up``, the second half of ``hand_out_jobs``, ``quick_for``, ``sent``
and ``take_back``): it only makes maps of tiny tasks fast. With ``LINE_UP_JOBS = 0``
the pool is the plain design above: one job per idle worker, and the next job only when
its reply is in.

Threads, and who owns what
--------------------------
The :class:`Pool` you hold is only a handle. Its threads hold the :class:`_Dispatcher`,
never the Pool; what holds the Pool is you and its results, as in the standard library:
an ``AsyncResult`` until it is in, an ``imap`` iterator until it has handed out its last
result; so ``for x in Pool(2).imap(f, xs)`` runs to the end. A pool that neither you
nor any such result holds is truly dropped: it is collected, and its finaliser warns
(``ResourceWarning``, in the standard library's words) and terminates it. (The jobs of
a pending result hold it, and an ``imap``'s feeder holds its iterator until the input
ends: an iterator dropped halfway through an endless input keeps its pool.)

A pool belongs to the process that made it (``_Dispatcher.owner``). A child made with
``os.fork()`` inherits a copy of the handle, but not the threads: there every call
raises :class:`PoolError`, and neither the child's finaliser nor its exit handler
touches the parent's pipes or workers.

* **Caller threads** (yours) pickle jobs, then, under the dispatcher's ``lock``, check
  the state and append to ``waiting``; ``close()`` and ``terminate()`` change the state
  under it. Checking and appending under one lock is what makes "no job is accepted
  after ``close()``" true.
* **The dispatcher thread** alone owns ``workers``, every :class:`_Worker` in it (its
  pipe, process and jobs), the watcher, the reading end of the wake-up pipe and the
  ``settled`` count. It takes jobs from the left of ``waiting`` without the lock
  (``deque.popleft`` and ``appendleft`` are atomic), and it publishes a
  :class:`PoolStatistics` snapshot under the lock once a round.
* **One feeder thread per** ``imap`` reads your input, pickles chunks and appends them
  to ``waiting`` under the lock, like a caller. It reads at most
  :data:`IMAP_READ_AHEAD` chunks per worker beyond what you have taken (see
  :meth:`Pool.imap`).
* **The callback thread** runs callbacks, one at a time, in the order the results came
  in, then wakes their waiters. It owns nothing; it ends after the dispatcher.

The pool's life is one field, ``state``: RUN (accepting work), then CLOSE (``close()``:
finish what is queued and what the ``imap`` feeders still read, accept no more; when
all that is done the workers are told to stop), or TERMINATE (``terminate()``: stop
now, fail what is unfinished with :class:`PoolTerminated`). From any of them the pool
may become BROKEN: its initializer failed, :data:`FAILED_STARTS` workers in a row ended
before they were ready, a callback raised ``SystemExit``, or something escaped the
dispatcher (a replacement worker that could not start, say).
Then every pending result, and every later call, fails at once with
:class:`PoolBroken`, which says why; so does ``repr``. ``join()`` waits until the
dispatcher and callback threads have ended: every worker has exited, and
``statistics().ended`` is True.

Sending a job never blocks the dispatcher for long: a worker says ``READY`` once its
initializer has run, and the pool sends a job only to a ready worker that holds no
job (so it is reading its pipe, whatever the size of the job) or, lined up behind a
quick one, a few small jobs that fit in the pipe's buffer (:data:`LINE_UP_BYTES`).
A worker still in its initializer gets nothing while another is idle.

Invariants (the dispatcher checks them every round when ``check_invariants`` is set,
as the tests do):

* every job is in exactly one place: ``waiting``, one worker's ``jobs``, or settled;
* a worker's ``jobs[0]`` is the job it runs; the others wait behind it, in its pipe,
  in the order sent, and its replies answer them in that order (a job taken back gets
  no reply: it is no longer the worker's);
* a worker's ``jobs`` are numbered in the order sent, none above its count ``sent``
  (those after them, if any, were taken back);
* a worker's ``bytes_held`` is the sum of the argument sizes of its ``jobs``;
* a worker holds jobs only once it is ready.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import multiprocessing.process
import os
import queue
import signal
import sys
import threading
import time
import traceback
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any, NamedTuple

from .chunks import choose_chunksize, feed_chunks
from .clock import now
from .context import get_context
from .errors import PoolBroken, PoolError, PoolTerminated, RemoteTraceback, WorkerDied
from .inbox import Watcher, read_messages
from .interface import PoolInterface, check_pool_arguments
from .messages import (
    READY,
    STOP,
    InitializerFailed,
    Job,
    pack_jobs,
    unpack_reply,
)
from .pickling import FunctionPickles
from .results import AsyncResult, IMapIterator
from .takeback import TakeBack
from .trace import RECORDS_KEPT, TaskRecord
from .worker import run_worker

RUN, CLOSE, TERMINATE, BROKEN = "RUN", "CLOSE", "TERMINATE", "BROKEN"

# Before Python 3.11, multiprocessing read every child's process handle, unguarded,
# whenever any thread started a process or asked for active_children(); a close() by a
# dispatcher thread in between made that other thread's call fail with AttributeError.
# There only a finished worker's sentinel is closed, and its process handle kept.
_CLOSE_IS_SAFE = sys.version_info >= (3, 11)

#: Seconds a worker gets to exit after a stop message or SIGTERM before it is killed.
EXIT_GRACE = 2.0

#: How many jobs may wait in a busy worker's pipe, lined up behind the job it runs.
#: A worker with jobs lined up starts the next one the moment it finishes, instead of
#: idling while its reply travels to the dispatcher and a new job travels back: for tiny
#: tasks that round trip costs more than the task. But a job lined up behind one worker
#: cannot go to another that falls idle, so jobs line up only behind a worker that has
#: just run the same function in under :data:`QUICK_JOB` seconds: the chunks of a map of
#: tiny tasks, or a burst of ``apply_async`` calls of a tiny function. Any other job
#: waits in the pool for the first worker that falls idle, never behind a long task. And
#: when a call of a quick function turns out long (a map whose items alternate quick and
#: slow), the jobs lined up behind it are taken back for the first worker that falls idle
#: (:mod:`~procsync_teach.takeback`): no job waits behind a running one while another
#: worker is idle.
LINE_UP_JOBS = 32

#: A job that ran for less than this many seconds is quick: see :data:`LINE_UP_JOBS`.
QUICK_JOB = 0.001

#: The most bytes of arguments a worker holds, for chunks to line up behind its job:
#: well below the smallest pipe buffer (8 KiB, on macOS), so that sending them never
#: blocks the dispatcher while the worker is busy.
LINE_UP_BYTES = 4 * 1024

#: How many workers in a row may exit before they are ready (before their initializer has
#: returned) until the pool gives up and breaks: then no worker can start, and starting
#: new ones for ever would leave every caller waiting. Under spawn and forkserver, a main
#: module that fails when a worker imports it does this (it starts a pool outside
#: ``if __name__ == "__main__":``, say); ``multiprocessing.Pool`` starts workers for ever.
FAILED_STARTS = 3

#: How many chunks per worker an ``imap`` reads from its input beyond the results you
#: have taken: enough to keep every worker's line-up full, and a bound on memory when
#: the input is endless and you take results slowly.
IMAP_READ_AHEAD = 2 * LINE_UP_JOBS


@dataclass
class _Job:
    """A job, from the moment it is submitted until its outcome is in."""

    job_id: int  # e.g. 17
    function: bytes  # the pickled function, shared by all the chunks of a map
    kind: str  # "apply", "map" or "starmap": see messages.Job
    arguments: bytes  # pickled by the caller
    result: AsyncResult | IMapIterator
    first: int  # e.g. 50: index of the job's first call among its result's items
    calls: int  # e.g. 25: how many calls it holds
    submitted: float
    sent: float = 0.0
    number: int = 0  # e.g. 41: its place among the jobs sent to its worker (see TakeBack)


@dataclass
class _Worker:
    """The pool's view of one worker process."""

    slot: int  # e.g. 1: its lane in the timelines; a replacement takes the same slot
    process: BaseProcess
    pid: int  # e.g. 48213
    connection: Connection  # the pool's end of this worker's pipe
    take_back: TakeBack  # how the pool takes back jobs lined up in that pipe
    sent: int = 0  # e.g. 48: jobs sent so far; the last one sent is numbered this
    jobs: deque[_Job] = field(default_factory=deque)  # sent, not answered; jobs[0] runs
    jobs_done: int = 0
    bytes_held: int = 0  # the size of the arguments of its jobs
    function: bytes = b""  # the function sent with its last job: later jobs need not repeat it
    quick_for: bytes | None = None  # the function its last job ran, if that job was quick
    ready: bool = False  # it said READY: its initializer has run, it reads its pipe
    pipe_open: bool = True  # False once the pipe reported end-of-file: the worker is dying
    last_finished: float = float("-inf")  # when its last reply's job finished


class PoolStatistics(NamedTuple):
    """A snapshot of a pool (``Pool.statistics()``), as its dispatcher saw it last.

    The counts are taken by the dispatcher between two rounds, all at one moment, so
    ``submitted == waiting + busy + lined_up + settled`` always holds: every job is in
    exactly one place. ``state`` is the pool's state now.
    """

    state: str  # "RUN", "CLOSE", "TERMINATE" or "BROKEN"
    workers: int  # worker processes alive; 0 once the pool has ended
    busy: int  # workers running a job
    waiting: int  # jobs not yet sent to any worker
    lined_up: int  # jobs sent to a busy worker, waiting in its pipe behind the one it runs
    submitted: int  # jobs accepted since the pool started (a map's chunks count one each)
    settled: int  # jobs whose outcome is in
    ended: bool  # the dispatcher has finished: no worker is left (``join()`` returned)
    broken_because: str  # why the pool is BROKEN; "" otherwise


class _WakeUp:
    """A pipe whose only use is to wake the dispatcher from its wait.

    Like ``concurrent.futures.process._ThreadWakeup``: any thread calls :meth:`wake`;
    the dispatcher waits on :attr:`reader` with the workers' pipes and, once woken,
    calls :meth:`clear`. One unread byte is enough to wake it, so at most one is sent.
    """

    def __init__(self) -> None:
        self.reader, self._writer = Pipe(duplex=False)
        # Reentrant: a dropped pool's finaliser wakes the dispatcher, and the garbage
        # collector may run it in any thread, even in one that is inside wake().
        self._lock = threading.RLock()
        self._unread = False  # a byte is in the pipe
        self._closed = False

    def wake(self) -> None:
        with self._lock:
            if not self._unread and not self._closed:
                self._unread = True
                self._writer.send_bytes(b"!")

    def clear(self) -> None:
        with self._lock:
            if self._unread:
                self.reader.recv_bytes()
                self._unread = False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.reader.close()
            self._writer.close()


class Pool(PoolInterface):
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
    ``terminate()`` settles every pending result (:class:`PoolTerminated`), a pool
    that cannot go on fails every result with :class:`PoolBroken` saying why, and a
    :class:`~procsync_teach.Lock` can be passed to tasks as an ordinary argument.

    As in ``multiprocessing``, a result holds its pool: ``for x in Pool(2).imap(f, xs)``
    works, and a pool that nothing holds any more warns (``ResourceWarning``) and is
    terminated. A pool belongs to the process that made it: a child made with
    ``os.fork()`` that uses the copy it inherited gets a :class:`PoolError` saying so
    (``multiprocessing``'s accepts the task, which never runs: ``get()`` waits for ever).

    What your main program defines reaches a worker by one rule. It goes *by reference*,
    exactly as in ``multiprocessing``, wherever the worker already has that very object:
    a script's top-level functions, classes and Enums, and under fork whatever existed
    when the pool started and has not been rebound since; so classes keep their identity
    and a large global is shared, not copied. Anything else (a notebook cell's function
    under spawn or forkserver, what you defined or rebound after the pool started, a
    lambda, a closure, a decorated helper) goes *by value*, with your globals as they are
    at the call, except a name the worker assigned itself (your ``initializer``'s
    ``global``), which wins. Unlike ``multiprocessing``, whose forked workers keep the
    globals they started with, a global you rebind after the pool started is seen as
    rebound. A function that can go neither way (it uses a thread lock, and the worker
    cannot find it by name) makes the call raise ``pickle.PicklingError`` saying why.
    Each function is pickled once per version, however many calls; what is pickled with
    it (the object of a bound method, a callable object) comes afresh to every job, as
    in ``multiprocessing``. The details: :mod:`procsync_teach.pickling`.

    Args:
        processes: how many workers; None means as many as this process may use:
            ``os.process_cpu_count()`` (Python 3.13+, which counts only the CPUs the
            process is allowed to run on), else ``os.cpu_count()``, as in the stdlib.
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
        check_pool_arguments(processes, initializer, maxtasksperchild)
        self._processes = _cpu_count() if processes is None else processes
        context = get_context(context)
        # Before the workers start: under fork it notes what they will have.
        self._function_pickles = FunctionPickles(context.get_start_method())
        self._dispatcher = _Dispatcher(
            context=context,
            processes=self._processes,
            pickles=self._function_pickles,
            setup=self._function_pickles.dumps((initializer, tuple(initargs))),
            maxtasksperchild=maxtasksperchild,
        )

    def __repr__(self) -> str:
        stats = self.statistics()
        if stats.state == BROKEN:
            return f"<procsync_teach.Pool state=BROKEN: {stats.broken_because}>"
        if stats.ended:
            return f"<procsync_teach.Pool state={stats.state}, ended: no worker left>"
        return (
            f"<procsync_teach.Pool state={stats.state} processes={self._processes} "
            f"busy={stats.busy} waiting={stats.waiting}>"
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

    def __del__(self, _warn=warnings.warn) -> None:
        dispatcher = getattr(self, "_dispatcher", None)  # None if __init__ raised
        # A child made with os.fork() drops its copy of the pool: the pool is not its own.
        if dispatcher is not None and dispatcher._state == RUN and dispatcher.is_owner():
            # The standard library's words, so that warning filters written for it match.
            _warn(f"unclosed running multiprocessing pool {self!r}", ResourceWarning,
                  source=self)
            dispatcher.terminate()  # the dispatcher stops the workers; nothing waits here

    # -- submitting work ---------------------------------------------------------------

    def apply_async(
        self,
        func: Callable[..., Any],
        args: Iterable[Any] = (),
        kwds: Mapping[str, Any] | None = None,
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> AsyncResult:
        """Start ``func(*args, **kwds)`` in a worker and return at once with an AsyncResult.

        Args:
            callback: called with the result when it arrives, on the pool's callback
                thread (one for all callbacks: keep them short).
            error_callback: called with the exception instead, if the call fails.

        Raises:
            ValueError: the pool is not running (after ``close()`` or ``terminate()``).
            TypeError: ``func`` is not callable, or ``kwds`` is not a mapping.
            pickle.PicklingError (or the error pickling raised): an argument cannot be
                sent to another process.
        """
        self._check_running()
        if kwds is not None and not isinstance(kwds, Mapping):
            raise TypeError(f"kwds must be a mapping such as a dict, not {type(kwds).__name__}; "
                            "pass the keyword arguments as kwds={'name': value}")
        result = AsyncResult(items=1, jobs=1, single=True, callback=callback,
                             error_callback=error_callback, pool=self)
        function = self._function_pickles.function(func)
        self._dispatcher.submit([self._dispatcher.new_job(
            function=function, kind="apply", arguments=(tuple(args), dict(kwds or {})),
            result=result, first=0, calls=1)])
        return result

    def _map_async(self, func, iterable, kind: str, chunksize, callback,
                   error_callback) -> AsyncResult:
        """The work of ``map``, ``map_async``, ``starmap`` and ``starmap_async``: one job per
        chunk of the items (see :func:`~procsync_teach.chunks.choose_chunksize`)."""
        self._check_running()
        items = list(iterable)
        chunksize = choose_chunksize(len(items), self._processes, chunksize)
        starts = range(0, len(items), chunksize)
        result = AsyncResult(items=len(items), jobs=len(starts), single=False,
                             callback=callback, error_callback=error_callback, pool=self)
        function = self._function_pickles.function(func)
        self._dispatcher.submit([
            self._dispatcher.new_job(function=function, kind=kind,
                                     arguments=items[first : first + chunksize], result=result,
                                     first=first, calls=len(items[first : first + chunksize]))
            for first in starts
        ])
        return result

    def _imap(self, func, iterable, chunksize: int, ordered: bool) -> IMapIterator:
        """The work of ``imap`` and ``imap_unordered``: a feeder thread turns the input into
        jobs as it comes. It reads at most ``IMAP_READ_AHEAD * processes`` chunks (64 per
        worker) beyond the results you have taken, so an endless input read by a slow loop
        keeps memory flat. After ``close()`` it reads the rest of the input, which
        ``join()`` waits for."""
        self._check_running()
        chunksize = choose_chunksize(0, self._processes, chunksize)
        function = self._function_pickles.function(func)
        result = IMapIterator(ordered=ordered, chunksize=chunksize,
                              read_ahead=IMAP_READ_AHEAD * self._processes * chunksize, pool=self)
        self._dispatcher.start_feeder(function, iter(iterable), chunksize, result)
        return result

    # -- the lifecycle ------------------------------------------------------------------

    def close(self) -> None:
        """Accept no more work; the workers finish what is queued, then exit."""
        self._check_owner()
        self._dispatcher.close()

    def terminate(self) -> None:
        """Stop the workers now. Every result not yet settled fails with PoolTerminated."""
        self._check_owner()
        self._dispatcher.terminate()
        self._dispatcher.join(kill_if_stuck=True)

    def join(self) -> None:
        """Wait until the workers have exited; call ``close()`` or ``terminate()`` first.

        Afterwards ``statistics().ended`` is True, and ``repr`` says "ended".

        Raises:
            ValueError: the pool is still running.
        """
        self._check_owner()
        if self._dispatcher._state == RUN:
            raise ValueError("Pool is still running")
        self._dispatcher.join(kill_if_stuck=False)

    def statistics(self) -> PoolStatistics:
        """A snapshot of the pool: its state, its workers, and where its jobs are.

        The counts are those of the dispatcher's latest round, all taken at one moment.
        """
        return self._dispatcher.statistics()

    def records(self, since: float | None = None) -> list[TaskRecord]:
        """The record of every finished job (the most recent ones), oldest first.

        Args:
            since: keep only jobs submitted at or after this time on the shared
                clock (``procsync_teach.clock.now()``).
        """
        with self._dispatcher._lock:
            records = list(self._dispatcher._records)
        if since is not None:
            records = [record for record in records if record.submitted >= since]
        return records

    def _check_running(self) -> None:
        self._check_owner()
        if self._dispatcher._state in (CLOSE, TERMINATE):
            raise ValueError("Pool not running")

    def _check_owner(self) -> None:
        """Refuse to be used by a child made with ``os.fork()``: it has a copy of this
        handle, but not the pool's threads, and what it sent down the pool's pipes would
        confuse the parent's dispatcher."""
        if not self._dispatcher.is_owner():
            raise PoolError(
                f"this pool belongs to process {self._dispatcher.owner}; make a new Pool in "
                f"the child (process {os.getpid()}): a child made with os.fork() inherits a "
                "copy of the pool, but not its workers or threads")


class _Dispatcher:
    """The pool's inside: its workers, its dispatcher and callback threads, and what
    they share with the callers. See "Threads, and who owns what" in the module header.
    """

    def __init__(self, *, context: BaseContext, processes: int, pickles: FunctionPickles,
                 setup: bytes, maxtasksperchild: int | None):
        self._context = context
        self._pickles = pickles  # pickles arguments: a function among them, once
        self._setup = setup
        self._maxtasksperchild = maxtasksperchild
        self._job_ids = itertools.count()
        self.owner = os.getpid()  # e.g. 48100: the process that made the pool, and uses it

        # Shared with caller and feeder threads: changed under _lock (but see _waiting).
        # Reentrant, because a dropped pool's finaliser may run in any thread, even one
        # that holds it (the garbage collector runs wherever objects are allocated).
        self._lock = threading.RLock()
        self._state = RUN
        self._broken: PoolBroken | None = None  # why the pool is BROKEN
        self._waiting: deque[_Job] = deque()  # callers append; the dispatcher takes
        self._submitted = 0
        self._records: deque[TaskRecord] = deque(maxlen=RECORDS_KEPT)
        self._feeders = 0  # imap feeder threads still reading their input
        self._iterators: weakref.WeakSet[IMapIterator] = weakref.WeakSet()
        self._snapshot = PoolStatistics(RUN, processes, 0, 0, 0, 0, 0, False, "")

        # The dispatcher thread's alone.
        self._settled = 0
        self._failed_starts = 0  # workers in a row that exited before they were ready
        self._wakeup = _WakeUp()
        self._watcher = Watcher()
        self.check_invariants = False  # tests turn it on: see the module header
        # Workers are started before the threads: forking a process that runs threads
        # is unsafe (Python 3.12 warns about it). Later replacements cannot avoid it.
        self._workers: list[_Worker] = []
        try:
            for slot in range(processes):
                self._workers.append(self._start_worker(slot))
        except BaseException:
            self._stop_workers()
            self._wakeup.close()
            raise
        self._callbacks: queue.SimpleQueue[tuple[int, AsyncResult] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="procsync-dispatcher",
                                        daemon=True)
        self._callback_thread = threading.Thread(target=self._run_callbacks,
                                                 name="procsync-callbacks", daemon=True)
        self._thread.start()
        self._callback_thread.start()
        _live_dispatchers.add(self)

    # -- called by caller threads ------------------------------------------------------

    def new_job(self, *, function: bytes, kind: str, arguments: Any,
                result: AsyncResult | IMapIterator, first: int, calls: int) -> _Job:
        """Pickle one job's arguments (here, in the caller: an unpicklable one raises here)."""
        return _Job(next(self._job_ids), function, kind, self._pickles.dumps(arguments), result,
                    first, calls, now())

    def submit(self, jobs: list[_Job]) -> None:
        """Put jobs on the waiting queue and wake the dispatcher; on a broken pool, fail
        them at once."""
        with self._lock:
            if self._state in (CLOSE, TERMINATE):  # again: close() may have come meanwhile
                raise ValueError("Pool not running")
            broken = self._broken
            if broken is None:
                self._waiting.extend(jobs)
                self._submitted += len(jobs)
        if broken is None:
            self._wakeup.wake()
        for job in jobs if broken else ():
            if job.result._settle_job(job.first, job.calls, False, broken):
                job.result._finish()  # a callback runs here, in the caller's thread

    def start_feeder(self, function: bytes, items: Iterator[Any], chunksize: int,
                     result: IMapIterator) -> None:
        """Start the thread that turns an imap's input into jobs."""
        with self._lock:
            if self._state in (CLOSE, TERMINATE):
                raise ValueError("Pool not running")
            if self._broken is not None:
                result._stop(self._broken)
                return
            self._feeders += 1
            self._iterators.add(result)
        threading.Thread(target=self._feed, args=(function, items, chunksize, result),
                         name="procsync-imap-feeder", daemon=True).start()

    def close(self) -> None:
        with self._lock:
            if self._state == RUN:
                self._state = CLOSE
                for iterator in self._iterators:
                    iterator._read_all()
        self._wakeup.wake()

    def terminate(self) -> None:
        with self._lock:
            if self._state != BROKEN:
                self._state = TERMINATE
        self._wakeup.wake()

    def join(self, kill_if_stuck: bool) -> None:
        """Wait for the dispatcher and callback threads to end (not from one of them)."""
        if threading.current_thread() is not self._thread:
            self._thread.join(EXIT_GRACE if kill_if_stuck else None)
            if self._thread.is_alive():
                # It is stuck sending to a worker that does not read (one stopped with
                # SIGSTOP, say). A dead reader makes that send fail.
                self._kill_workers()
                self._thread.join()
        if threading.current_thread() is not self._callback_thread:
            self._callback_thread.join()

    def is_owner(self) -> bool:
        """Is this the process that made the pool (not a child made with ``os.fork()``)?"""
        return os.getpid() == self.owner

    def statistics(self) -> PoolStatistics:
        with self._lock:
            why = str(self._broken) if self._broken else ""
            return self._snapshot._replace(state=self._state, broken_because=why)

    # -- a feeder thread ----------------------------------------------------------------

    def _feed(self, function: bytes, items: Iterator[Any], chunksize: int,
              result: IMapIterator) -> None:
        """In a thread of its own: turn imap's input into jobs as the input comes."""
        try:
            feed_chunks(items, chunksize, result,
                        functools.partial(self._submit_chunk, function, result))
        finally:
            with self._lock:
                self._feeders -= 1
            self._wakeup.wake()

    def _submit_chunk(self, function: bytes, result: IMapIterator, chunk: list[Any],
                      first: int) -> bool:
        """Queue one chunk of an imap's input as a job; False if the pool has ended."""
        job = self.new_job(function=function, kind="map", arguments=chunk, result=result,
                           first=first, calls=len(chunk))
        with self._lock:  # close() does not stop an imap already begun; terminate() does
            if self._state in (TERMINATE, BROKEN):
                return False
            self._waiting.append(job)
            self._submitted += 1
        self._wakeup.wake()
        return True

    # -- the callback thread ------------------------------------------------------------

    def _run_callbacks(self) -> None:
        """Finish results with callbacks, in the order they came in, until told to end."""
        while (item := self._callbacks.get()) is not None:
            job_id, result = item
            try:
                result._finish()  # which lets go of the result's pool: see results.py
            except Exception:  # the callback raised: report it, keep serving
                print(f"procsync_teach: a callback of task {job_id} raised; the pool goes on:",
                      file=sys.stderr)
                traceback.print_exc()
            except BaseException as error:  # SystemExit, KeyboardInterrupt: it meant to stop
                self._break(f"a callback of task {job_id} raised {error!r}", error)

    # -- the dispatcher thread ------------------------------------------------------------

    def _run(self) -> None:
        """The dispatcher's life: hand out jobs and collect replies until the pool ends."""
        try:
            while self._dispatch_round():
                pass
        except BaseException as error:  # the pool cannot go on: say why, to everyone
            self._break(f"the pool's dispatcher failed: {error!r}", error)
        finally:
            self._end()

    def _break(self, why: str, cause: BaseException) -> None:
        """Make the pool BROKEN (from either thread): every result fails, saying ``why``."""
        error = PoolBroken(f"the pool is broken: {why}; start a new pool")
        error.__cause__ = cause
        with self._lock:
            if self._broken is None:
                self._broken = error
                self._state = BROKEN
        self._wakeup.wake()

    def _dispatch_round(self) -> bool:
        """Hand out jobs, wait for something to happen, handle it. False when all is done."""
        with self._lock:
            state = self._state
            finished = (state == CLOSE and not self._waiting and not self._feeders
                        and not any(worker.jobs for worker in self._workers))
        if state in (TERMINATE, BROKEN) or finished:
            return False
        self._hand_out_jobs()
        if self.check_invariants:
            self._check_invariants()
        self._publish_statistics()
        replies = {worker.connection: worker for worker in self._workers if worker.pipe_open}
        deaths = {worker.process.sentinel: worker for worker in self._workers}
        ready = self._watcher.wait([self._wakeup.reader, *replies, *deaths])
        if self._wakeup.reader in ready:
            self._wakeup.clear()
        for ready_one in ready:  # replies first: a worker may reply, then exit
            if ready_one in replies:
                self._receive(replies[ready_one])
        for ready_one in ready:
            if ready_one in deaths:
                self._replace(deaths[ready_one])
        return True

    def _publish_statistics(self, ended: bool = False) -> None:
        busy = sum(1 for worker in self._workers if worker.jobs)
        held = sum(len(worker.jobs) for worker in self._workers)
        with self._lock:
            self._snapshot = PoolStatistics(
                self._state, len(self._workers), busy, len(self._waiting), held - busy,
                self._submitted, self._settled, ended, "")

    def _check_invariants(self) -> None:
        """Fail (and so break the pool) if the invariants of the module header do not hold."""
        with self._lock:
            waiting, submitted = list(self._waiting), self._submitted
        held = [job for worker in self._workers for job in worker.jobs]
        ids = [job.job_id for job in waiting + held]
        if len(ids) != len(set(ids)):
            raise AssertionError("a job is in two places")
        if submitted != len(waiting) + len(held) + self._settled:
            raise AssertionError(f"{submitted} jobs submitted, but {len(waiting)} waiting, "
                                 f"{len(held)} held and {self._settled} settled")
        for worker in self._workers:
            if worker.bytes_held != sum(len(job.arguments) for job in worker.jobs):
                raise AssertionError(f"worker {worker.slot}'s bytes_held is wrong")
            numbers = [job.number for job in worker.jobs]
            if numbers != sorted(set(numbers)) or numbers and numbers[-1] > worker.sent:
                raise AssertionError(f"worker {worker.slot}'s jobs are numbered {numbers}, "
                                     f"{worker.sent} sent")
            if worker.jobs and not worker.ready:
                raise AssertionError(f"worker {worker.slot} holds jobs before it is ready")

    def _hand_out_jobs(self) -> None:
        """Give a waiting job to every idle worker, then line up quick jobs behind busy
        ones; each worker gets what it was given in one message."""
        given: dict[int, list[_Job]] = {worker.slot: [] for worker in self._workers}
        self._take_back_lined_up()
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

    def _take_back_lined_up(self) -> None:
        """If a worker is idle and no job waits for it, take back the jobs lined up
        behind busy workers that they have not started: the job each runs may be long.
        See :mod:`~procsync_teach.takeback`."""
        idle = sum(1 for worker in self._workers if not worker.jobs and self._may_take(worker))
        if idle <= len(self._waiting):
            return
        for worker in self._workers:
            if len(worker.jobs) > 1 and worker.pipe_open:
                first = worker.take_back.take_back(worker.sent)
                taken = [job for job in worker.jobs if job.number >= first]
                for job in taken:
                    worker.jobs.pop()
                    worker.bytes_held -= len(job.arguments)
                self._waiting.extendleft(reversed(taken))
                if taken:
                    worker.function = b""  # a job taken back may have brought a function
                    worker.quick_for = None  # its job ran on while another ran out of work

    def _may_line_up(self, job: _Job, worker: _Worker) -> bool:
        """May ``job`` wait behind the jobs ``worker`` holds? See :data:`LINE_UP_JOBS`.

        Its function must also be the last one sent to the worker: then it travels
        without it, and what waits in the pipe stays within :data:`LINE_UP_BYTES`.
        """
        return (job.function == worker.quick_for == worker.function
                and len(worker.jobs) <= LINE_UP_JOBS and self._may_take(worker)
                and worker.bytes_held + len(job.arguments) <= LINE_UP_BYTES)

    def _give(self, job: _Job, worker: _Worker, given: list[_Job]) -> None:
        job.sent = now()
        worker.jobs.append(job)  # written down before the worker can start it
        worker.bytes_held += len(job.arguments)
        given.append(job)

    def _send(self, given: list[_Job], worker: _Worker) -> None:
        """Send the jobs just given to a worker, as one message."""
        jobs = []
        for job in given:  # the function goes along only when it differs from the last one
            function = None if job.function == worker.function else job.function
            jobs.append(Job(job.job_id, function, job.kind, job.arguments))
            worker.function = job.function
            worker.sent += 1
            job.number = worker.sent
        try:
            worker.connection.send_bytes(pack_jobs(jobs))
        except OSError:  # it died a moment ago: the jobs wait for another worker
            for job in given:
                worker.jobs.pop()
                worker.bytes_held -= len(job.arguments)
            worker.sent -= len(given)
            self._waiting.extendleft(reversed(given))
            worker.pipe_open = False
            self._watcher.forget()

    def _may_take(self, worker: _Worker) -> bool:
        """Is the worker ready, alive and willing? It exits after ``maxtasksperchild`` jobs."""
        limit = self._maxtasksperchild
        return (worker.ready and worker.pipe_open
                and (limit is None or worker.jobs_done + len(worker.jobs) < limit))

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
        if data == READY:
            worker.ready = True
            self._failed_starts = 0
            return
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
            self._break(f"the pool's initializer raised {reply.error!r} in worker "
                        f"{worker.slot}; the pool cannot run tasks",
                        RemoteTraceback(reply.traceback_text))
            return
        if self.check_invariants and not job.sent <= reply.started >= worker.last_finished:
            raise AssertionError(f"worker {worker.slot} replied out of order")
        worker.last_finished = reply.finished
        quick = reply.finished - reply.started < QUICK_JOB
        worker.quick_for = job.function if quick else None
        value = reply.value if reply.ok else self._rebuild_error(job, worker, *reply.value)
        self._settle(job, reply.ok, value, reply.started, reply.finished, worker)

    def _rebuild_error(self, job: _Job, worker: _Worker, error: BaseException,
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

    def _settle(self, job: _Job, ok: bool, value: Any, started: float, finished: float,
                worker: _Worker | None, outcome: str = "") -> None:
        """Record the job and hand its outcome to its result; a result with a callback is
        finished on the callback thread.

        ``worker`` is None for a job that never reached one (slot -1 in the records).
        """
        outcome = outcome or ("ok" if ok else "error")
        slot, pid = (worker.slot, worker.pid) if worker else (-1, 0)
        record = TaskRecord(job.job_id, slot, pid, job.calls, job.submitted, started, finished,
                            outcome)
        with self._lock:
            self._records.append(record)
        self._settled += 1
        if job.result._settle_job(job.first, job.calls, ok, value):
            if job.result._has_callbacks():
                self._callbacks.put((job.job_id, job.result))
            else:
                job.result._finish()

    def _replace(self, worker: _Worker) -> None:
        """A worker's process ended: fail its job, if any, and start a new worker in its slot."""
        while worker.pipe_open and worker.connection.poll():
            self._receive(worker)  # its last replies came just before it exited
        self._watcher.forget()
        code = self._reap(worker)
        place = self._workers.index(worker)
        del self._workers[place]  # gone before a replacement can fail to start
        how = f"was killed by {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
        if not worker.ready and self._state in (RUN, CLOSE):
            self._failed_start(worker, how, code)
        if worker.jobs:
            lost = worker.jobs.popleft()  # the one it was running; the others never started
            self._waiting.extendleft(reversed(worker.jobs))
            worker.jobs.clear()
            worker.bytes_held = 0
            error = WorkerDied(
                f"worker {worker.slot} (pid {worker.pid}) {how} while running "
                f"task {lost.job_id}; the pool started a new worker in its place",
                worker.slot, worker.pid, code,
            )
            self._settle(lost, False, error, lost.sent, now(), worker, "worker died")
        if self._state in (RUN, CLOSE):
            self._workers.insert(place, self._start_worker(worker.slot))

    def _failed_start(self, worker: _Worker, how: str, code: int) -> None:
        """A worker ended before it was ready: the pool breaks if too many did in a row."""
        self._failed_starts += 1
        if self._failed_starts >= FAILED_STARTS:
            self._break(
                f"{FAILED_STARTS} workers in a row ended before they were ready, the last "
                f"(worker {worker.slot}) {how}, so no worker can start; its error, if any, "
                "is on standard error. Under spawn and forkserver a worker first imports "
                "your main module, which must start processes only under "
                "`if __name__ == \"__main__\":`",
                WorkerDied(f"worker {worker.slot} (pid {worker.pid}) {how} before it was ready",
                           worker.slot, worker.pid, code),
            )

    def _start_worker(self, slot: int) -> _Worker:
        pool_end, worker_end = Pipe(duplex=True)
        take_back = TakeBack(self._context)
        process = self._context.Process(
            target=run_worker,
            args=(worker_end, self._setup, self._maxtasksperchild, take_back),
            name=f"PoolWorker-{slot}",
            daemon=True,
        )
        try:
            process.start()
        finally:
            worker_end.close()  # only the worker holds its end now
        return _Worker(slot, process, process.pid, pool_end, take_back)

    # -- the end ------------------------------------------------------------------------

    def _end(self) -> None:
        """Stop the workers, settle every job left, free the pipes; whatever happened."""
        self._stop_workers()
        with self._lock:
            error = self._broken
        error = error or PoolTerminated("the pool was terminated before this task finished")
        self._fail_unfinished(error)
        with self._lock:
            iterators = list(self._iterators)
        for iterator in iterators:
            iterator._stop(error)  # also ends a next() waiting on an input that blocks
        self._workers.clear()
        self._publish_statistics(ended=True)
        self._watcher.forget()
        self._wakeup.close()
        self._callbacks.put(None)  # the callback thread ends after the callbacks before it
        _live_dispatchers.discard(self)

    def _stop_workers(self) -> None:
        """Ask each worker to stop (terminate: tell the OS to stop it), then reap it."""
        for worker in self._workers:
            if self._state != CLOSE or worker.jobs:
                worker.process.terminate()
            else:
                try:
                    worker.connection.send_bytes(STOP)
                except OSError:
                    pass
        for worker in self._workers:
            self._reap(worker)

    def _kill_workers(self) -> None:
        """Kill every worker, from a caller's thread: see :meth:`join`."""
        for worker in list(self._workers):
            try:
                worker.process.kill()
            except (ValueError, AttributeError):  # the dispatcher reaped and closed it
                pass

    def _reap(self, worker: _Worker) -> int:
        """Wait for a worker's process to end (kill it if it will not), free it, return its
        exit code: negative means killed by that signal (0 if another thread took it and it
        never came)."""
        worker.process.join(EXIT_GRACE)
        if worker.process.exitcode is None:
            worker.process.kill()
            worker.process.join(EXIT_GRACE)
        # Another thread's waitpid (multiprocessing.active_children() makes one) may have
        # reaped it a moment ago: its exit code appears once that thread has written it.
        deadline = now() + EXIT_GRACE
        while worker.process.exitcode is None and now() < deadline:
            time.sleep(0.01)
        code = worker.process.exitcode
        if code is not None:  # free its sentinel now, not whenever it is collected
            if _CLOSE_IS_SAFE:
                worker.process.close()
            else:
                worker.process._popen.close()  # the sentinel only: see _CLOSE_IS_SAFE
        worker.connection.close()
        return code if code is not None else 0

    def _fail_unfinished(self, error: BaseException) -> None:
        """Settle every job still in flight or waiting, so that no caller waits forever."""
        outcome = "terminated" if isinstance(error, PoolTerminated) else "error"
        for worker in self._workers:
            while worker.jobs:
                job = worker.jobs.popleft()
                self._settle(job, False, error, job.sent, now(), worker, outcome)
        with self._lock:
            unsent, self._waiting = list(self._waiting), deque()
        for job in unsent:
            self._settle(job, False, error, float("nan"), float("nan"), None, outcome)


def _cpu_count() -> int:
    """How many CPUs this process may use: the default number of workers."""
    count = os.process_cpu_count() if hasattr(os, "process_cpu_count") else os.cpu_count()
    return count or 1


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# The dispatchers of pools not yet ended. At interpreter exit each is terminated and
# waited for, so that no worker outlives the program, and no dispatcher still closes
# its processes while multiprocessing's own exit handler looks at them.
_live_dispatchers: set[_Dispatcher] = set()


@atexit.register
def _terminate_live_pools() -> None:
    for dispatcher in list(_live_dispatchers):
        dispatcher.terminate()
        dispatcher.join(kill_if_stuck=True)


def _disown_pools() -> None:
    """In a child made with ``os.fork()``: the pools it inherited, and their workers, are
    the parent's. Its exit must neither terminate them (above) nor let ``multiprocessing``'s
    own exit handler, which still counts the parent's workers among the child's children,
    send them SIGTERM (and print "can only join a child process")."""
    for dispatcher in _live_dispatchers:
        for worker in dispatcher._workers:
            multiprocessing.process._children.discard(worker.process)
    _live_dispatchers.clear()


if hasattr(os, "register_at_fork"):  # POSIX: where a child can be made with os.fork()
    os.register_at_fork(after_in_child=_disown_pools)
