"""The course's Pool on a Dask cluster: the same program, past one machine.

Dask (the ``distributed`` package) runs tasks on a *cluster*: one scheduler that
hands out tasks and many worker processes, on this machine or on others. It has no
Pool, so a program written for ``multiprocessing.Pool`` does not run on it as it is.
This module gives it one: :class:`Pool` has the interface of ``procsync_teach.Pool``
and turns each call into Dask's own::

    your program                     this Pool                    Dask
    ------------                     ---------                    ----
    Pool(4)                  ──►  start a LocalCluster     ──►  scheduler + 4 worker
                                   (or use one by address)       processes, 1 thread each
    apply_async(f, (x,))     ──►  one job                  ──►  client.submit(run job)
    map(f, items)            ──►  one job per *chunk*      ──►  one submit per chunk
    imap(f, items)           ──►  a thread submits chunks  ──►  submits as the input comes
    AsyncResult.get(timeout) ◄──  settled by the collector ◄──  futures done, gathered
                                   thread                        in batches
    records()                ◄──  attempts, per job        ◄──  the scheduler's task stream,
                                                                 lost workers, task stories
    terminate()              ──►  settle, cancel           ──►  cancel futures, close the
                                                                 cluster if this Pool owns it

What happens on ``apply_async(f, (x,))``, step by step:

1. The caller checks the pool is running and pickles ``f`` and ``(x,)`` here, as
   ``procsync_teach.Pool`` does (a notebook function travels by value), so a mistake
   raises in the caller. It returns an :class:`~procsync_teach.AsyncResult`.
2. The job goes to the scheduler as one Dask task with a key of its own, e.g.
   ``procsync-3f2a-17``: the task is "run this job", made by the same code a
   ``procsync_teach`` worker runs, so results, errors and their tracebacks come back
   exactly as from the local pool.
3. The scheduler gives the task to a free worker. If that worker dies, the scheduler
   gives the task to another: Dask *retries*, where the local pool reports
   :class:`~procsync_teach.WorkerDied`. Only a task that has killed several workers
   (``distributed.scheduler.allowed-failures`` + 1, four by default) fails, with
   :class:`~procsync_teach.WorkerDied`.
4. When the task's future is done, Dask calls the Pool back in Dask's callback
   thread, which hands the future to the Pool's *collector* thread. The collector
   fetches the replies of all the futures done so far in one round trip
   (``client.gather``) and settles their AsyncResults. A result with a callback is
   finished on the Pool's *callback* thread, which runs the callback, then wakes the
   result's waiters: a callback may use the pool, even ``apply`` or ``close(); join()``.

Threads, and who owns what: the :class:`Pool` you hold is a handle; its threads hold
its :class:`_Core`, never the handle, so a Pool you drop is collected, warns and is
terminated (a pending job holds its Pool, and so does an ``imap``'s feeder, as the
standard library's results hold theirs).

* **Your threads** submit work and set the state, under ``_lock``.
* **Dask's threads**: its event loop (the messages), and its callback thread, which
  hands over done futures.
* **The collector** fetches replies and settles results (``terminate()`` settles, from
  your thread, the ones it cuts short: each job is settled once, by whoever takes it out
  of ``_pending`` first). At the end of CLOSE, TERMINATE or BROKEN it shuts the pool
  down, then tells the callback thread to end.
* **The callback thread** runs callbacks, one at a time, in the order the results came.
* **One feeder thread per** ``imap`` reads your input and submits its chunks.

The lifecycle is the local pool's: RUN, then CLOSE (finish the queued work, then
shut down) or TERMINATE (stop now); from any of them BROKEN, if a callback raises
``SystemExit`` or something escapes the collector: every pending result, and every
later one, fails with :class:`~procsync_teach.PoolBroken`, which says why. A reply
that cannot be unpickled here fails only its own task, with
:class:`~procsync_teach.PoolError`. A Pool that started its cluster shuts it down
(and removes its scratch folder); a Pool given an address or a Client leaves that
cluster running.

The workers run ``procsync_teach`` code, so the package must be importable on them:
it is on a LocalCluster and on ``dask worker`` processes started on this machine.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import importlib.util
import itertools
import math
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
import uuid
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any, NamedTuple

import dask
import distributed

from .chunks import choose_chunksize, feed_chunks
from .clock import now
from .context import get_context
from .errors import PoolBroken, PoolError, PoolTerminated, RemoteTraceback, WorkerDied
from .interface import PoolInterface, check_pool_arguments
from .messages import Job, loads, unpack_reply
from .pickling import FunctionPickles
from .results import AsyncResult, IMapIterator, finish_reporting, run_callbacks
from .trace import RECORDS_KEPT, TaskRecord
from .worker import run_one_job

RUN, CLOSE, TERMINATE, BROKEN = "RUN", "CLOSE", "TERMINATE", "BROKEN"

#: Every listener a Pool starts (scheduler, workers, nannies) binds to this address, so
#: that nobody else on the network can reach them. A cluster bound to all interfaces
#: would run anybody's code on this machine.
LOOPBACK = "127.0.0.1"

#: At most how many seconds ``terminate()`` gives each worker of the Pool's own cluster
#: to stop by itself before killing it, running task and all.
STOP_GRACE = 0.5


@dataclass
class _Job:
    """One job (one ``apply`` call, or one chunk of a ``map``) sent to the cluster as a task."""

    job_id: int  # e.g. 17
    key: str  # the Dask task's key, e.g. "procsync-3f2a-17"
    result: AsyncResult | IMapIterator
    first: int  # index of the job's first call among its result's items
    calls: int  # how many calls it holds
    submitted: float  # on the shared clock
    future: distributed.Future | None = None  # held: a dropped future is cancelled
    owner: Pool | None = None  # held while pending: a pending result keeps its Pool alive


class _Settled(NamedTuple):
    """What records() needs of a settled job (not its result, which may be large)."""

    job_id: int
    key: str
    calls: int
    submitted: float
    outcome: str  # "ok", "error", "worker died" or "terminated"


@dataclass
class _DaskLog:
    """What the scheduler knows about a pool's tasks, fetched in one round trip."""

    stream: dict[str, tuple[str, float, float]]  # key -> (worker, start, stop) of its last run
    entered: dict[str, list[float]]  # key -> times it was handed to a worker
    lost: dict[str, list[tuple[str, float]]]  # key -> (worker, time) of each worker lost under it
    workers: dict[str, tuple[Any, int]]  # address -> (name, pid) of the workers alive now


class Pool(PoolInterface):
    """A pool whose workers are the processes of a Dask cluster.

    It writes the three methods that submit work (``apply_async``, ``_map_async`` and
    ``_imap``); the others (``apply``, ``map``, ``starmap``, ``imap``, ...) come from
    :class:`~procsync_teach.interface.PoolInterface`, made of these three.

    The program you wrote for ``procsync_teach.Pool`` or ``multiprocessing.Pool`` runs
    unchanged; only the line that makes the pool changes::

        with Pool(4) as pool:                                  # a cluster on this machine
            print(pool.map(square, range(10)))
        with Pool(address="tcp://127.0.0.1:8786") as pool:     # a cluster that runs already
            print(pool.map(square, range(10)))

    Results, exceptions and timeouts are those of ``multiprocessing.Pool``. What differs
    is Dask's: a worker that dies does not fail its task, the scheduler runs it again on
    another worker (``records()`` shows each attempt); and a running task cannot be
    stopped without stopping its worker (see :meth:`terminate`).

    The object you hold is a handle: the Pool's threads hold its :class:`_Core`, never
    the handle, so a running Pool you drop is collected, warns (``ResourceWarning``, as
    the standard library's does) and is terminated. A result still pending, or an
    ``imap`` still reading its input, keeps its Pool alive, as the standard library's do.

    Args:
        processes: how many worker processes the Pool's own cluster has (one thread
            each); None means ``os.cpu_count()``. Not allowed with ``address`` or
            ``client``: the cluster has the workers it has.
        initializer: called as ``initializer(*initargs)`` in every worker process of the
            cluster, and in every worker that joins it later (a replacement for one that
            died, say), before it runs this Pool's tasks. It runs in the worker's own
            thread for messages, not in the one that runs tasks: what it stores in a
            module or with ``global``, tasks see; a ``threading.local`` they do not. On a
            cluster shared by several Pools, each Pool's initializer runs on every worker,
            and runs again before this Pool's next task there if another Pool's ran since:
            each Pool's tasks see their own setup. (Not on a worker of several threads
            running two Pools' tasks at once: there the initializer that ran last wins.)
        initargs: the arguments for ``initializer``.
        maxtasksperchild: refused (None is the only value). A Dask worker keeps the
            results of its tasks in its memory until the caller fetches them, so
            retiring it after N tasks would lose results; and its workers may serve
            other programs. Dask's own cure for tasks that leak memory is the worker's
            memory limit (``memory_limit``), past which its nanny restarts it.
        context: how the Pool's own cluster starts its worker processes: a start
            method (``"fork"``, ``"spawn"``, ``"forkserver"``) or a ``multiprocessing``
            context. Each worker process is started by a *nanny* of Dask's (for the
            Pool's own cluster, an object in this process), which watches it and starts
            another when it dies; the start method is the one the nannies use. None
            keeps Dask's own choice (its setting
            ``distributed.worker.multiprocessing-method``, "spawn" unless changed).
            Not allowed with ``address`` or ``client``: their workers are started already.
        address: the scheduler of a running cluster, e.g. ``"tcp://127.0.0.1:8786"``.
        client: a ``distributed.Client`` connected to a running cluster.

    Raises:
        ValueError: ``processes`` below 1, more than one of processes, address and client
            given, ``context`` with address or client, or an unknown start method.
        TypeError: ``initializer`` is not callable.
        NotImplementedError: a ``maxtasksperchild`` (see above).
        PoolBroken: the initializer raised on a worker; the Pool's own cluster is shut down.
    """

    def __init__(
        self,
        processes: int | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        maxtasksperchild: int | None = None,
        context: BaseContext | str | None = None,
        *,
        address: str | None = None,
        client: distributed.Client | None = None,
    ):
        if sum(given is not None for given in (processes, address, client)) > 1:
            raise ValueError("give processes, address or client, not several: "
                             "a cluster that runs already has the workers it has")
        check_pool_arguments(processes, initializer, maxtasksperchild)
        if maxtasksperchild is not None:
            raise NotImplementedError(
                "maxtasksperchild is not supported on a Dask cluster: a worker keeps the "
                "results of its tasks until they are fetched, so retiring it after a number "
                "of tasks would lose them. Leave it out; against tasks that leak memory, "
                "give the workers a memory_limit (past it, Dask restarts the worker)")
        if context is not None and (address is not None or client is not None):
            raise ValueError("context is for the Pool's own cluster: the workers of a "
                             "cluster that runs already are started")
        method = None if context is None else get_context(context).get_start_method()
        token = uuid.uuid4().hex[:8]  # names this pool's tasks, and its namespace on a worker
        # Functions go by value into a namespace of this pool's on each Dask worker, never
        # the worker's __main__: programs that share a cluster never see each other's globals.
        self._function_pickles = FunctionPickles(None, namespace=token)
        setup = (None if initializer is None
                 else self._function_pickles.dumps((initializer, tuple(initargs))))
        self._core = _Core(processes, method, setup, address, client, token,
                           self._function_pickles)

    def __repr__(self) -> str:
        if self._core._broken is not None:
            return f"<procsync_teach.cluster.Pool state=BROKEN: {self._core._broken}>"
        return (f"<procsync_teach.cluster.Pool state={self._core._state} "
                f"processes={self._core._processes} pending={len(self._core._pending)}>")

    def __reduce__(self):
        raise NotImplementedError("pool objects cannot be passed between processes or pickled")

    def __enter__(self) -> Pool:
        self._core.check_running()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.terminate()

    def __del__(self, _warn=warnings.warn) -> None:
        core = getattr(self, "_core", None)  # None if __init__ raised
        if core is not None and core._state == RUN:
            _warn(f"unclosed running multiprocessing pool {self!r}", ResourceWarning,
                  source=self)
            core.terminate(wait=False)  # the collector shuts it down; nothing waits here

    def dashboard_link(self) -> str | None:
        """The address of Dask's dashboard, if bokeh is installed to draw it; else None.

        (The scheduler's web server runs either way; without bokeh it has no dashboard.)
        """
        if importlib.util.find_spec("bokeh") is None:
            return None
        return self._core._client.dashboard_link

    # -- submitting work ---------------------------------------------------------------

    def apply_async(
        self,
        func: Callable[..., Any],
        args: Iterable[Any] = (),
        kwds: dict | None = None,
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> AsyncResult:
        """Start ``func(*args, **kwds)`` on a worker; return at once with an AsyncResult.

        ``callback`` and ``error_callback`` run on the Pool's callback thread, one at a
        time, in the order the results came: keep them short. They may use the Pool
        (``apply``, ``close()`` and ``join()`` included).

        Raises:
            ValueError: the pool is not running (after ``close()`` or ``terminate()``).
            TypeError: ``func`` is not callable, or an argument cannot be pickled.
        """
        self._core.check_running()
        result = AsyncResult(items=1, jobs=1, single=True, callback=callback,
                             error_callback=error_callback)
        function = self._function_pickles.function(func)
        self._core.submit(self, [self._core.job(function, "apply", (tuple(args), dict(kwds or {})),
                                                result, 0, 1)])
        return result

    def _map_async(self, func, iterable, kind: str, chunksize, callback,
                   error_callback) -> AsyncResult:
        self._core.check_running()
        items = list(iterable)
        chunksize = choose_chunksize(len(items), self._core._processes, chunksize)
        chunks = [items[first : first + chunksize] for first in range(0, len(items), chunksize)]
        result = AsyncResult(items=len(items), jobs=len(chunks), single=False,
                             callback=callback, error_callback=error_callback)
        function = self._function_pickles.function(func)
        self._core.submit(self, [self._core.job(function, kind, chunk, result,
                                                number * chunksize, len(chunk))
                                 for number, chunk in enumerate(chunks)])
        return result

    def _imap(self, func, iterable, chunksize: int, ordered: bool) -> IMapIterator:
        self._core.check_running()
        chunksize = choose_chunksize(0, self._core._processes, chunksize)
        function = self._function_pickles.function(func)
        # This pool's feeder reads its input without a bound (it never waits for room).
        result = IMapIterator(ordered=ordered, chunksize=chunksize, read_ahead=sys.maxsize)
        self._core.start_feeder(self, function, iter(iterable), chunksize, result)
        return result

    # -- the lifecycle ------------------------------------------------------------------

    def close(self) -> None:
        """Accept no more work; the cluster finishes what is queued (and what the ``imap``
        calls still read from their input), then, if this Pool started it, shuts down."""
        self._core.close()

    def terminate(self) -> None:
        """Stop now: every result not yet settled fails with PoolTerminated, and so does
        every ``next()`` of an ``imap`` that has no result left to give.

        On a cluster this Pool started, the workers are stopped, running tasks with them.
        On a cluster given by ``address`` or ``client``, the tasks that have not started
        are cancelled, but a task already running **keeps running to its end** on its
        worker (Dask cannot stop a running task without restarting the worker, which
        would stop every other client's tasks too); its result is dropped.
        """
        self._core.terminate(wait=True)

    def join(self) -> None:
        """Wait until the pool has shut down and its callbacks have run; call ``close()``
        or ``terminate()`` first.

        Raises:
            ValueError: the pool is still running.
        """
        self._core.join()

    def records(self, since: float | None = None) -> list[TaskRecord]:
        """A record of every attempt at every finished job (the most recent ones).

        Made from what the scheduler logs: its task stream (who ran a task, when), the
        workers it lost and the tasks they held, and when it handed each task out. A
        job whose worker died has one record per lost attempt (outcome "worker died")
        before the one that finished. Same shape as ``procsync_teach.Pool.records()``,
        so the course's timeline plots draw either pool.

        Args:
            since: keep only jobs submitted at or after this time on the shared clock.
        """
        return self._core.records(since)


class _Core:
    """The Pool's inside: its client, its cluster if it owns one, its threads, and the
    jobs they share with the callers. The threads hold this, never the :class:`Pool`.
    """

    def __init__(self, processes: int | None, start_method: str | None, setup: bytes | None,
                 address: str | None, client: distributed.Client | None, token: str,
                 pickles: FunctionPickles):
        self._cluster: distributed.LocalCluster | None = None
        self._scratch: str | None = None  # the owned cluster's scratch folder, removed at the end
        self._owns_client = client is None
        if client is None and address is None:
            self._scratch = tempfile.mkdtemp(prefix="procsync-dask-")
            try:
                self._cluster = _start_local_cluster(processes or os.cpu_count() or 1,
                                                     start_method, self._scratch)
            except BaseException:
                shutil.rmtree(self._scratch, ignore_errors=True)
                raise
            address = self._cluster.scheduler_address
        try:
            self._client = client or distributed.Client(address, set_as_default=False)
        except BaseException:
            self._close_cluster(stop_now=False)  # ours: it must not outlive the failed Pool
            raise
        self._clock_offset = time.time() - now()  # Dask's times are time.time()
        self._pickles = pickles  # pickles the arguments: a function among them, once
        self._key_prefix = f"procsync-{token}-"  # every task's key: e.g. "procsync-3f2a9c1d-17"
        self._initializer = None if setup is None else f"procsync-initializer-{token}"
        # Guards _state, _broken, _pending, _finished, _feeders, _arrived, _iterators,
        # _callbacks_open.
        # Reentrant, because a dropped Pool's finaliser may run in any thread, even one
        # that holds it (the garbage collector runs wherever objects are allocated).
        self._lock = threading.RLock()
        self._state = RUN
        self._broken: PoolBroken | None = None  # why the pool is BROKEN
        self._news = threading.Condition(self._lock)  # wakes the collector thread
        self._pending: dict[str, _Job] = {}  # key -> job, for every job not yet settled
        self._arrived: list[distributed.Future] = []  # done, waiting for the collector
        self._finished: deque[_Settled] = deque(maxlen=RECORDS_KEPT)
        self._feeders = 0  # imap input threads still running
        self._iterators: weakref.WeakSet[IMapIterator] = weakref.WeakSet()
        self._to_cancel: list[distributed.Future] = []  # what terminate() leaves to cancel
        self._job_ids = itertools.count()
        self._slots: dict[Any, int] = {}  # worker name -> lane in the timelines
        self._lanes: dict[str, tuple[int, int]] = {}  # worker address -> (slot, pid)
        self._final_log: _DaskLog | None = None  # kept when the client goes
        self._shut_down_lock = threading.Lock()
        self._ended = threading.Event()
        try:
            if setup is not None:
                self._client.register_plugin(
                    _Initializer(self._initializer, self._key_prefix, setup))
        except Exception as error:
            self._shut_down()
            broken = PoolBroken(f"the pool's initializer raised {error!r} on a worker; "
                                "the pool cannot run tasks")
            raise broken from error
        self._client.get_task_stream(count=1)  # starts the scheduler's task stream
        self._processes = self._learn_workers(self._fetch_log([]))
        self._callbacks: queue.SimpleQueue[tuple[int, AsyncResult] | None] = queue.SimpleQueue()
        self._callbacks_open = True  # the callback thread takes more: guarded by _lock
        self._collector = threading.Thread(target=self._collect, name="procsync-collector",
                                           daemon=True)
        self._callback_thread = threading.Thread(target=run_callbacks,
                                                 args=(self._callbacks, self._break),
                                                 name="procsync-callbacks", daemon=True)
        self._collector.start()
        self._callback_thread.start()
        _live_cores.add(self)

    # -- called by caller and feeder threads -------------------------------------------

    def check_running(self) -> None:
        if self._state in (CLOSE, TERMINATE):
            raise ValueError("Pool not running")

    def job(self, function: bytes, kind: str, arguments: Any,
            result: AsyncResult | IMapIterator, first: int, calls: int) -> tuple[Job, _Job]:
        """Pickle one job (here, in the caller: an unpicklable argument raises here)."""
        job_id = next(self._job_ids)
        return (Job(job_id, function, kind, self._pickles.dumps(arguments)),
                _Job(job_id, f"{self._key_prefix}{job_id}", result, first, calls, now()))

    def submit(self, owner: Pool, jobs: list[tuple[Job, _Job]], imap: bool = False) -> None:
        """Send each job to the scheduler as a task, and have its end settle the result.

        Each pending job holds ``owner``, the Pool: a result still to come keeps it alive.
        """
        with self._lock:
            # close() does not stop an imap already begun; terminate() does
            if imap and self._state == TERMINATE:
                raise PoolTerminated("the pool was terminated before this task was sent")
            if not imap:
                self.check_running()  # again: close() may have come while we pickled
            broken = self._broken
            if broken is None:
                for _, job in jobs:
                    job.owner = owner
                    self._pending[job.key] = job
        if broken is not None:  # every job fails at once, saying why
            for _, job in jobs:
                self._finish_job(job, job.result._settle_job(job.first, job.calls, False, broken))
            return
        for message, job in jobs:
            try:
                job.future = self._client.submit(_run_on_worker, message, key=job.key)
            except Exception as error:  # terminate() closed the client meanwhile, or the
                # cluster is gone: the result says so, as a result must always settle
                self._settle(job, False, PoolError(f"task {job.job_id} could not be sent to "
                                                   f"the cluster: {error!r}"))
                continue
            job.future.add_done_callback(self._on_done)

    def start_feeder(self, owner: Pool, function: bytes, items: Iterator[Any], chunksize: int,
                     result: IMapIterator) -> None:
        """Start the thread that turns an imap's input into tasks; it holds ``owner``."""
        with self._lock:
            self.check_running()
            if self._broken is not None:
                result._stop(self._broken)
                return
            self._feeders += 1
            self._iterators.add(result)
        threading.Thread(target=self._feed, args=(owner, function, items, chunksize, result),
                         name="procsync-imap-feeder", daemon=True).start()

    def _feed(self, owner: Pool, function: bytes, items: Iterator[Any], chunksize: int,
              result: IMapIterator) -> None:
        """In a thread of its own: turn imap's input into tasks as the input comes."""
        try:
            feed_chunks(items, chunksize, result,
                        functools.partial(self._submit_chunk, owner, function, result))
        finally:
            with self._lock:
                self._feeders -= 1
                self._news.notify()

    def _submit_chunk(self, owner: Pool, function: bytes, result: IMapIterator,
                      chunk: list[Any], first: int) -> bool:
        """Send one chunk of an imap's input as a task (raises if the pool was terminated)."""
        self.submit(owner, [self.job(function, "map", chunk, result, first, len(chunk))],
                    imap=True)
        return True

    # -- when tasks end: Dask's callback thread, then the collector thread ---------------

    def _on_done(self, future: distributed.Future) -> None:
        """Dask calls this in its callback thread when a task's future is done: pass it on.

        The collector fetches the results, not this thread: while the collector waits
        for one batch of results, the futures that finish meanwhile gather here, to be
        fetched together in one round trip (one per future would cost the most).
        """
        with self._lock:
            self._arrived.append(future)
            self._news.notify()

    def _collect(self) -> None:
        """The collector thread's life: settle the jobs whose tasks ended, until the pool
        is terminated or broken, or closed with nothing left to settle; then shut it down."""
        try:
            while True:
                with self._lock:
                    self._news.wait_for(lambda: self._arrived or self._finishing())
                    arrived, self._arrived = self._arrived, []
                    finishing = self._finishing()
                if arrived:
                    self._settle_arrivals(arrived)
                elif finishing:
                    break
        except BaseException as error:  # the pool cannot go on: say why, to everyone
            self._break(f"the pool's collector failed: {error!r}", error)
        finally:
            try:
                self._shut_down()
            finally:
                with self._lock:  # the callback thread ends after the queued callbacks
                    self._callbacks_open = False
                    self._callbacks.put(None)

    def _finishing(self) -> bool:
        """Is the collector's work over? Called holding ``_lock``."""
        return self._state in (TERMINATE, BROKEN) or (
            self._state == CLOSE and not self._pending and not self._feeders)

    def _settle_arrivals(self, futures: list[distributed.Future]) -> None:
        """Settle the jobs of these done futures, fetching their replies in one go."""
        with self._lock:
            jobs = [self._pending.get(future.key) for future in futures]
        arrived = [(job, future) for job, future in zip(jobs, futures, strict=True) if job]
        finished = [future for _, future in arrived if future.status == "finished"]
        try:
            replies = dict(zip(finished, self._client.gather(finished), strict=True))
        except Exception as error:  # the replies could not be fetched: the cluster went away
            replies = {future: error for future in finished}
        for job, future in arrived:
            reply = replies.get(future)
            if isinstance(reply, Exception):
                lost = PoolError(f"the result of task {job.job_id} was lost: {reply!r}")
                self._settle(job, False, lost)
                continue
            try:
                outcome = self._outcome(job, future, reply)
            except Exception as error:  # the reply holds what cannot be unpickled here
                outcome = False, PoolError(
                    f"the reply of task {job.job_id} could not be unpickled in the pool's "
                    f"process: {error!r}")
                outcome[1].__cause__ = error
            self._settle(job, *outcome)

    def _outcome(self, job: _Job, future: distributed.Future,
                 reply_bytes: bytes | None) -> tuple[bool, Any]:
        """What a done future says: the job's reply, or what Dask made of the task."""
        if future.status == "finished":
            reply = unpack_reply(reply_bytes)
            return reply.ok, reply.value if reply.ok else _rebuild_error(job, *reply.value)
        if future.status == "cancelled":
            return False, PoolError(f"task {job.job_id} was cancelled on the cluster "
                                    "(by a restart of its workers, or by another client)")
        error = future.exception()
        if isinstance(error, distributed.KilledWorker):
            died = WorkerDied(
                f"task {job.job_id} was running each time a worker died, on every worker "
                "the scheduler tried: it probably kills its worker itself (by running out "
                "of memory, say, or crashing in C code); try it alone, on one worker, to "
                "see how. Dask stops retrying after distributed.scheduler.allowed-failures "
                "+ 1 tries")
            died.__cause__ = error
            return False, died
        return False, error

    def _settle(self, job: _Job, ok: bool, value: Any, outcome: str = "") -> None:
        """Hand a job's outcome to its result, once."""
        with self._lock:
            if self._pending.pop(job.key, None) is None:
                return  # settled already
            outcome = outcome or ("ok" if ok else
                                  "worker died" if isinstance(value, WorkerDied) else "error")
            self._finished.append(_Settled(job.job_id, job.key, job.calls, job.submitted,
                                           outcome))
            job.future = None
            job.owner = None  # a settled job no longer keeps the Pool alive
        self._finish_job(job, job.result._settle_job(job.first, job.calls, ok, value))

    def _finish_job(self, job: _Job, last: bool) -> None:
        """Finish a result whose last job is in: on the callback thread if it has a
        callback (which may use the pool, even wait for it), else here; here too once
        the callback thread has ended (``terminate()`` may settle jobs after that)."""
        if not last:
            return
        with self._lock:
            queued = self._callbacks_open and job.result._has_callbacks()
            if queued:
                self._callbacks.put((job.job_id, job.result))
        if not queued:
            finish_reporting(job.job_id, job.result, self._break)

    # -- the lifecycle ------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._state != RUN:
                return
            self._state = CLOSE
            self._news.notify()  # the collector shuts the pool down when the work is done

    def terminate(self, wait: bool) -> None:
        """Settle every pending job with PoolTerminated; shut down now (``wait``) or
        leave that to the collector."""
        with self._lock:
            broken = self._state == BROKEN  # a broken pool stays so: its results say why
            if not broken:
                self._state = TERMINATE
        if not broken:
            self._end_everything(PoolTerminated("the pool was terminated before this task "
                                                "finished"), "terminated")
        if wait:
            self._shut_down()

    def _break(self, why: str, cause: BaseException) -> None:
        """Make the pool BROKEN (from any thread): every result fails, saying ``why``."""
        error = PoolBroken(f"the pool is broken: {why}; start a new pool")
        error.__cause__ = cause
        with self._lock:
            if self._broken is not None or self._ended.is_set():
                return
            self._broken = error
            self._state = BROKEN
        self._end_everything(error, "error")

    def _end_everything(self, error: BaseException, outcome: str) -> None:
        """Settle every pending job with ``error``, stop every imap, wake the collector."""
        with self._lock:
            pending = list(self._pending.values())
            iterators = list(self._iterators)
            self._to_cancel += [job.future for job in pending if job.future is not None]
            self._news.notify()
        for job in pending:
            self._settle(job, False, error, outcome)
        for iterator in iterators:
            iterator._stop(error)

    def join(self) -> None:
        if self._state == RUN:
            raise ValueError("Pool is still running")
        self._ended.wait()
        for thread in (self._collector, self._callback_thread):
            if threading.current_thread() is not thread:
                thread.join()

    def _shut_down(self) -> None:
        """Cancel what terminate() cut short, keep the scheduler's log for records(),
        remove this pool's initializer, let the cluster go."""
        with self._shut_down_lock:
            if self._ended.is_set():
                return
            try:
                if self._to_cancel and self._cluster is None:
                    self._client.cancel(self._to_cancel)
                if self._initializer is not None and self._cluster is None:
                    self._client.unregister_worker_plugin(self._initializer)
                self._final_log = self._fetch_log(self._keys())
            except Exception:  # the cluster went away first: records() has less to say
                self._final_log = _DaskLog({}, {}, {}, {})
            finally:
                try:
                    if self._owns_client:
                        self._client.close()
                    self._close_cluster(stop_now=self._state in (TERMINATE, BROKEN))
                finally:  # join() must never wait for ever
                    self._ended.set()
                    _live_cores.discard(self)

    def _close_cluster(self, stop_now: bool) -> None:
        """Stop the Pool's own cluster, if it has one (``stop_now``: running tasks too),
        and remove its scratch folder."""
        if self._cluster is not None:
            if stop_now:
                self._cluster.sync(_stop_workers_now, self._cluster)
            self._cluster.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    # -- records --------------------------------------------------------------------------

    def records(self, since: float | None) -> list[TaskRecord]:
        with self._lock:
            jobs = list(self._finished)
        log = self._final_log or self._fetch_log([job.key for job in jobs])
        self._learn_workers(log)
        records = []
        for job in jobs:
            if since is None or job.submitted >= since:
                records.extend(self._attempts(job, log))
        return records

    def _attempts(self, job: _Settled, log: _DaskLog) -> list[TaskRecord]:
        """One record per attempt at ``job``: each lost worker's, then the one that ended it."""
        entered = iter(log.entered.get(job.key, []))
        records = []
        for address, when in log.lost.get(job.key, []):
            slot, pid = self._lane(address)
            started = next(entered, when)
            records.append(TaskRecord(job.job_id, slot, pid, job.calls, job.submitted,
                                      self._on_our_clock(started), self._on_our_clock(when),
                                      "worker died"))
        if job.key in log.stream:
            address, start, stop = log.stream[job.key]
            slot, pid = self._lane(address)
            records.append(TaskRecord(job.job_id, slot, pid, job.calls, job.submitted,
                                      self._on_our_clock(start), self._on_our_clock(stop),
                                      job.outcome))
        elif job.outcome != "worker died":  # never ran: terminated or cancelled
            records.append(TaskRecord(job.job_id, -1, 0, job.calls, job.submitted,
                                      math.nan, math.nan, job.outcome))
        return records

    def _keys(self) -> list[str]:
        with self._lock:
            return [job.key for job in self._finished] + list(self._pending)

    def _fetch_log(self, keys: list[str]) -> _DaskLog:
        return _DaskLog(**self._client.run_on_scheduler(_scheduler_log, keys=keys))

    def _learn_workers(self, log: _DaskLog) -> int:
        """Give each worker a lane (its slot in the timelines), by name: a worker that a
        nanny restarts keeps its name, so its replacement keeps the lane. Returns how
        many workers there are now: map's chunks are cut for them."""
        def in_name_order(worker: tuple[str, tuple[Any, int]]) -> tuple[int, str]:
            name = str(worker[1][0])
            return len(name), name  # 0, 1, ..., 9, 10, not 0, 1, 10, 2

        for address, (name, pid) in sorted(log.workers.items(), key=in_name_order):
            self._lanes[address] = (self._slots.setdefault(name, len(self._slots)), pid)
        return max(len(log.workers), 1)

    def _lane(self, address: str) -> tuple[int, int]:
        """(slot, pid) of a worker; a worker that died before the pool saw it gets a new
        lane, and pid 0."""
        if address not in self._lanes:
            self._lanes[address] = (self._slots.setdefault(address, len(self._slots)), 0)
        return self._lanes[address]

    def _on_our_clock(self, seconds: float) -> float:
        return seconds - self._clock_offset


def _start_local_cluster(processes: int, start_method: str | None,
                         scratch: str) -> distributed.LocalCluster:
    """A scheduler and ``processes`` single-threaded worker processes on this machine.

    Every listener is on loopback, on a port the system picks: the scheduler's web
    server (which draws the dashboard only if bokeh is installed) included, whose
    default port 8787 a second cluster would find taken. The scheduler and the workers
    keep their files (Dask's ``dask-scratch-space``, its lock files) in ``scratch``, not
    in the temporary folder, where they would stay. ``start_method`` (None: Dask's own)
    is how the nannies start the workers.
    """
    settings = {"temporary-directory": scratch}  # the scheduler's, and the workers' default
    if start_method is not None:
        settings["distributed.worker.multiprocessing-method"] = start_method
    with dask.config.set(settings):
        return distributed.LocalCluster(n_workers=processes, threads_per_worker=1,
                                        processes=True, host=LOOPBACK,
                                        dashboard_address=f"{LOOPBACK}:0",
                                        local_directory=scratch)


async def _stop_workers_now(local_cluster: distributed.LocalCluster) -> None:
    """Close a LocalCluster's workers, killing within :data:`STOP_GRACE` seconds one still
    busy with a task (the cluster's own ``close()`` would wait 4 s for it)."""
    await asyncio.gather(*(nanny.close(timeout=STOP_GRACE)
                           for nanny in local_cluster.workers.values()))


def _rebuild_error(job: _Job, error: BaseException, text: str) -> BaseException:
    """Give a task's exception its worker-side traceback, as ``__cause__``."""
    if not isinstance(error, Exception):
        # SystemExit or KeyboardInterrupt raised by a task must not stop the caller.
        error = PoolError(f"task {job.job_id} raised {error!r} on its worker; the worker goes on")
    if text:
        error.__cause__ = RemoteTraceback(text)
    return error


def _run_on_worker(job: Job) -> bytes:
    """The Dask task: run one job as a ``procsync_teach`` worker would; return its reply.

    The reply is pickled here, on the worker, so that a result that cannot travel fails
    its own task with ``MaybeEncodingError``, as in ``multiprocessing``.
    """
    return run_one_job(job)


def _scheduler_log(dask_scheduler: Any, keys: list[str]) -> dict[str, Any]:
    """Runs in the scheduler: what it logged about these tasks' attempts (see _DaskLog)."""
    wanted = set(keys)
    stream = {}
    for entry in dask_scheduler.get_task_stream():
        if entry["key"] in wanted:
            compute = [span for span in entry["startstops"] if span["action"] == "compute"]
            if compute:
                stream[entry["key"]] = (entry["worker"], compute[0]["start"], compute[-1]["stop"])
    entered: dict[str, list[float]] = {key: [] for key in wanted}
    for step in dask_scheduler.story(*wanted) if wanted else []:
        if step[2] == "processing":  # (key, start, finish, recommendations, stimulus, time)
            entered[step[0]].append(step[-1])
    lost: dict[str, list[tuple[str, float]]] = {}
    for topic, events in dask_scheduler.get_events().items():
        if topic == "all":  # a copy of each worker's events, without its address
            continue
        for when, event in events:
            if isinstance(event, dict) and event.get("action") == "remove-worker":
                for key in wanted & set(event["processing-tasks"]):
                    lost.setdefault(key, []).append((topic, when))
    for losses in lost.values():
        losses.sort(key=lambda loss: loss[1])
    workers = {address: (state.name, state.pid)
               for address, state in dask_scheduler.workers.items()}
    return {"stream": stream, "entered": entered, "lost": lost, "workers": workers}


class _Initializer(distributed.WorkerPlugin):
    """A Pool's initializer, as a Dask *worker plugin*: the scheduler has every worker
    run its ``setup``, those that join the cluster later too (a replacement for a
    worker that died, say).

    Its name is the Pool's own, so that the plugins of two Pools on one cluster do not
    replace each other, and a Pool removes only its own. Two Pools' initializers would
    still overwrite what the other stored (the same global, say), so a worker runs a
    Pool's initializer again before that Pool's task whenever another Pool's ran since:
    each task sees its own Pool's setup. That holds on workers of one thread (a Pool's
    own cluster, ``dask worker --nthreads 1``); on a worker whose threads run tasks of
    two Pools at once, nothing can make it so.
    """

    def __init__(self, name: str, prefix: str, setup: bytes):
        self.name = name  # e.g. "procsync-initializer-3f2a9c1d"
        self._prefix = prefix  # the keys of this Pool's tasks begin so: "procsync-3f2a9c1d-"
        self._setup = setup  # pickled (initializer, initargs), as procsync_teach.Pool sends

    def setup(self, worker: distributed.Worker) -> None:
        global _initialized_for
        initializer, initargs = loads(self._setup)
        initializer(*initargs)
        _initialized_for = self.name

    def transition(self, key: str, start: str, finish: str, **kwargs: Any) -> None:
        """Called by the worker in its thread for messages, as each task changes state;
        a task becomes "executing" before the worker's task thread runs it."""
        if (finish == "executing" and str(key).startswith(self._prefix)
                and _initialized_for != self.name):
            self.setup(None)


#: In a worker process: the name of the Pool whose initializer ran last (see _Initializer).
_initialized_for: str | None = None


# Pools still running when the interpreter exits are terminated, so that the clusters
# they started do not outlive the program.
_live_cores: weakref.WeakSet[_Core] = weakref.WeakSet()


@atexit.register
def _terminate_live_pools() -> None:
    for core in list(_live_cores):
        core.terminate(wait=True)
