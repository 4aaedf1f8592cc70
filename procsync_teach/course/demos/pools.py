"""The demos of pools: the four ways to submit work, a timeout that gives up while the task
runs on, and a worker killed mid-task while the pool goes on.

Each draws what the pool ran as a timeline (:mod:`.text_timeline`), from ``pool.records()``.
"""

from __future__ import annotations

import itertools
import os
import signal
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from ...clock import now
from ...errors import TimeoutError, WorkerDied
from ...pool import Pool
from ..sign_in import sign_in_and_sleep, signed_in
from .basics import SPARE_SECONDS, Options, ctrl_c_for_this_process_only, header, milliseconds
from .text_timeline import Span, draw_pool_timeline, draw_timeline, task_lanes

if TYPE_CHECKING:
    from .terminal import Terminal

T = TypeVar("T")  # what the get() given to own_work_then_get returns


def slow_square(n: int, seconds: float) -> int:
    """The demos' task: some work (here, sleeping), then a result that is easy to check."""
    time.sleep(seconds)
    return n * n


def start_pool(processes: int, options: Options) -> Pool:
    """A new pool, whose workers (and the replacements its thread starts) ignore Ctrl-C."""
    with ctrl_c_for_this_process_only(options.start_method):
        return Pool(processes, context=options.start_method)


def warm_up(pool: Pool, procs: int, term: Terminal) -> None:
    """Give every worker a trivial task and wait: start-up time then counts in no timing."""
    with term.progress("starting the workers", expected=0.5):
        # chunksize=1: one job per item, and each idle worker takes one.
        pool.map_async(partial(slow_square, seconds=0), range(procs), chunksize=1).get(
            timeout=SPARE_SECONDS
        )


# sync-async -----------------------------------------------------------------------------


def demo_sync_async(options: Options, term: Terminal) -> int:
    """apply and map block their caller; apply_async and map_async return at once."""
    n, seconds = options.tasks, options.duration
    task = partial(slow_square, seconds=seconds)
    # One scale for every timeline, set by the longest phase (apply: one task at a time),
    # so that the four can be compared by eye.
    scale = n * seconds * 1.15 + 0.05
    header(term, "sync-async", f"{n} tasks of {seconds:g} s on {options.procs} workers",
           options)
    with start_pool(options.procs, options) as pool:
        warm_up(pool, options.procs, term)

        term.section("1. apply: the caller waits for each result")
        start, caller = now(), []
        with term.progress("apply", n * seconds):
            for i in range(n):
                called = now()
                # apply() has no timeout: that is the point of the *_async forms. These
                # tasks are short, and the pool raises rather than hang if a worker dies.
                value = pool.apply(task, (i,))
                caller.append(Span(called, now(), "waiting"))
                term.say(f"  apply(slow_square, ({i},)) returned {value} after "
                         f"{now() - called:.2f} s: the caller was blocked")
        term.say(f"  {n} calls took {now() - start:.2f} s; one worker at a time was busy")
        draw_pool_timeline(term, pool, options.procs, start, scale, caller)

        term.section("2. apply_async: the caller gets a ticket at once")
        start = now()
        results = [pool.apply_async(task, (i,)) for i in range(n)]
        submitted = now()
        term.say(f"  {n} calls to apply_async returned after {milliseconds(submitted - start)} "
                 f"in all; ready right away: {sum(r.ready() for r in results)} of {n}")
        values, caller = own_work_then_get(
            term, start, submitted, seconds, expected=seconds * n / options.procs,
            get=lambda: [r.get(timeout=n * seconds + SPARE_SECONDS) for r in results])
        term.say(f"  then get(timeout=...) on each: {values}, "
                 f"{now() - start:.2f} s after the first call")
        draw_pool_timeline(term, pool, options.procs, start, scale, caller)

        term.section("3. map: one call, which waits for the whole list")
        start = now()
        with term.progress("map", seconds * n / options.procs):
            values = pool.map(task, range(n))  # no timeout either, as for apply
        term.say(f"  map(slow_square, range({n})) returned {values} after "
                 f"{now() - start:.2f} s: the caller was blocked")
        draw_pool_timeline(term, pool, options.procs, start, scale, [Span(start, now(), "waiting")])

        term.section("4. map_async: one call, which returns at once")
        start = now()
        result = pool.map_async(task, range(n))
        submitted = now()
        term.say(f"  map_async(slow_square, range({n})) returned after "
                 f"{milliseconds(submitted - start)}; ready(): {result.ready()}")
        values, caller = own_work_then_get(
            term, start, submitted, seconds, expected=seconds * n / options.procs,
            get=partial(result.get, timeout=n * seconds + SPARE_SECONDS))
        term.say(f"  then get(timeout=...): {values}, {now() - start:.2f} s after the call")
        draw_pool_timeline(term, pool, options.procs, start, scale, caller)
    term.say("apply and map block until the work is done; apply_async and map_async")
    term.say("return an AsyncResult at once, and get(timeout=...) collects the result")
    term.say("when the caller wants it.")
    return 0


def own_work_then_get(term: Terminal, start: float, submitted: float, seconds: float,
                      expected: float, get: Callable[[], T]) -> tuple[T, list[Span]]:
    """The caller, free after an async call, does ``seconds`` of work of its own, then calls
    ``get`` (which should take ``expected`` seconds); return what it got and the caller's
    timeline since ``start``."""
    time.sleep(seconds)  # stands for any work: the caller is not waiting for the pool
    term.say(f"  meanwhile the caller did {seconds:g} s of its own work")
    waited = now()
    with term.progress("get", expected):
        got = get()
    timeline = [Span(start, submitted, "waiting"), Span(submitted, waited, "working"),
                Span(waited, now(), "waiting")]
    return got, timeline


# timeout --------------------------------------------------------------------------------


def demo_timeout(options: Options, term: Terminal) -> int:
    """get(timeout=...) gives up with TimeoutError; the task runs on and is collected later."""
    seconds = options.duration
    patience = round(seconds * 0.4, 2)  # two tries give up; the third collects the result
    header(term, "timeout", f"one task of {seconds:g} s; get() waits {patience:g} s a try",
           options)
    with start_pool(1, options) as pool:
        warm_up(pool, 1, term)
        term.section("1. Asking for the result, a little at a time")
        start, caller = now(), []
        result = pool.apply_async(slow_square, (7, seconds))
        term.say(f"  apply_async(slow_square, (7, {seconds:g})) returned at once")
        with term.progress("waiting for the task", seconds):
            for attempt in itertools.count(1):
                asked = now()
                try:
                    value = result.get(timeout=patience)
                except TimeoutError as error:
                    caller += [Span(asked, now(), "waiting"), Span(now(), now(), "gave up")]
                    term.say(f"  try {attempt}: get(timeout={patience:g}) raised "
                             f"procsync_teach.TimeoutError after {now() - asked:.2f} s")
                    term.say(f'         "{error}"; ready() is {result.ready()}')
                    if now() - start > seconds + SPARE_SECONDS:
                        raise  # something is wrong: the task should long be done
                    continue
                caller.append(Span(asked, now(), "waiting"))
                break
    term.say(f"  try {attempt}: get(timeout={patience:g}) collected {value}, "
             f"{now() - start:.2f} s after the call")
    term.section("2. The timeline: the caller gave up, the worker did not")
    term.say("The worker ran the task to its end: a timeout limits the wait, not the work.")
    draw_timeline(term, {"caller": caller, **task_lanes(pool.records(since=start), 1)},
                  start, seconds * 1.15 + 0.05)
    return 0


# crash ----------------------------------------------------------------------------------


def demo_crash(options: Options, term: Terminal) -> int:
    """A worker is killed with SIGKILL mid-task: WorkerDied at once, and the pool goes on."""
    if not hasattr(signal, "SIGKILL"):
        term.error("the crash demo needs SIGKILL, which Windows does not have: "
                   "it is not supported on Windows")
        return 1
    header(term, "crash", f"a worker is killed while it runs a task of {options.duration:g} s",
           options)
    with tempfile.TemporaryDirectory(prefix="procsync-demo-") as folder, \
            start_pool(options.procs, options) as pool:
        warm_up(pool, options.procs, term)
        warm_up_tasks = {1: "task 0 was", 2: "tasks 0 and 1 were"}.get(
            options.procs, f"tasks 0 to {options.procs - 1} were")
        term.say(f"  ({warm_up_tasks} the warm-up: one trivial task per worker, so that "
                 "starting the workers counts in no timing. The task that gets killed is "
                 f"task {options.procs}.)")
        term.section("1. A worker dies in the middle of a task")
        start = now()
        victim = pool.apply_async(sign_in_and_sleep, (folder, options.duration))
        with term.progress("waiting for the task to start", 0.2):
            [pid] = signed_in(folder, timeout=SPARE_SECONDS)
        term.say(f"  the task is running in the worker process with pid {pid}")
        time.sleep(min(0.1, options.duration / 4))  # let it run a moment: it dies mid-task
        os.kill(pid, signal.SIGKILL)
        killed = now()
        term.say(f"  os.kill({pid}, SIGKILL): the process ends at once, without a reply")
        try:
            victim.get(timeout=SPARE_SECONDS)
        except WorkerDied as error:
            term.say(f"  get() raised procsync_teach.WorkerDied {milliseconds(now() - killed)} "
                     f"after the kill:\n    {error}")
            died = error
        else:
            term.error("the task finished: the kill came too late; try a longer --duration")
            return 1
        term.section("2. The pool goes on")
        after = pool.map_async(partial(slow_square, seconds=0.05), range(options.tasks))
        with term.progress("map", 0.05 * options.tasks / options.procs):
            values = after.get(timeout=SPARE_SECONDS)
        term.say(f"  the pool keeps serving: map(slow_square, range({options.tasks})) "
                 f"returned {values}")
        records = pool.records(since=start)
    for record in records:
        if record.worker == died.worker and record.pid != died.pid:
            term.say(f"  worker {died.worker} is now pid {record.pid}, the dead one's replacement")
            break
    draw_timeline(term, task_lanes(records, options.procs), start,
                  max(r.finished for r in records) - start)
    return 0

