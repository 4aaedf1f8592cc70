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

The rest of the file is how a terminal is written to: :class:`Terminal` (colours, lines
that fit the width, a progress bar that never mixes with the demo's lines) and
:func:`draw_timeline`.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from multiprocessing import resource_tracker
from typing import TYPE_CHECKING, NamedTuple, TextIO

from ..capture import Capture, capture_output, natural_order
from ..clock import now
from ..context import get_context
from ..errors import TimeoutError, WorkerDied
from ..lock import Lock
from ..pool import Pool
from ..process import Process
from ..trace import TaskRecord
from .colours import colour_of
from .running import run_to_the_end
from .sign_in import sign_in_and_sleep, signed_in

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import Synchronized
    from multiprocessing.synchronize import Barrier

#: Seconds to wait, beyond what the work should take, before deciding something is wrong.
#: Every wait in the demos has a limit, so a demo can fail but never hang.
SPARE_SECONDS = 10.0

#: A wait shows a progress bar once it has lasted this long; shorter ones would only flicker.
PROGRESS_AFTER = 0.3


# -- the demos ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """The settings a demo runs with: the command line's, or the demo's defaults."""

    procs: int  # e.g. 2: worker processes (or, for garbled, printing processes)
    tasks: int  # e.g. 4: how many tasks (for garbled, lines each process prints)
    duration: float  # e.g. 0.2: seconds of work (see each demo for what it times)
    start_method: str | None  # "fork", "spawn", "forkserver", or None for the course's default


def slow_square(n: int, seconds: float) -> int:
    """The demos' task: some work (here, sleeping), then a result that is easy to check."""
    time.sleep(seconds)
    return n * n


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


def header(term: Terminal, name: str, what: str, options: Options) -> None:
    """The demo's first line: what it shows, and under which start method."""
    method = get_context(options.start_method).get_start_method()
    term.say(term.bold(f"{name}: {what}") + f"  (start method: {method})")


# garbled --------------------------------------------------------------------------------


def demo_garbled(options: Options, term: Terminal) -> int:
    """Several processes print word by word at once; then the same with a Lock."""
    lines = options.procs * options.tasks
    header(term, "garbled", f"{options.procs} processes print, word by word, at once", options)
    term.section("1. Without a lock")
    term.say("Each process prints one word at a time. Every word is recorded, with its writer,")
    term.say("the moment it is printed; here is the screen they make, replayed in that order:")
    screen = run_printers(options, term, lock=None)
    show_screen(term, screen)
    term.say(f"whole lines: {whole_lines(screen)} of {lines}")
    term.say("Nothing was lost: each process's own writes, put back together, are whole:")
    for name in sorted(screen.writers(), key=process_number):
        own_lines = " / ".join(line.strip() for line in screen.text_of(name).splitlines())
        term.say(f"  {term.paint(name, process_number(name))}: {own_lines}")
    term.section("2. With a procsync_teach.Lock, held for a whole line")
    term.say("No line is cut into:")
    screen = run_printers(options, term, lock=Lock())
    show_screen(term, screen)
    term.say(f"with a Lock: whole lines: {whole_lines(screen)} of {lines}")
    return 0


def print_lines(n: int, lines: int, pause: float, barrier: Barrier, lock: Lock | None) -> None:
    """In a child: wait for the others, then print ``lines`` lines slowly (under ``lock``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's (Windows too)
    barrier.wait(timeout=SPARE_SECONDS)  # all start together, however slow their start-up
    for line in range(1, lines + 1):
        if lock is None:
            print_slowly(f"Process {n} is printing line {line}", pause)
        else:
            with lock:
                print_slowly(f"Process {n} is printing line {line}", pause)


def print_slowly(text: str, pause: float) -> None:
    """One word at a time, pausing after each: other processes may write meanwhile."""
    for word in text.split():
        print(word, end=" ", flush=True)
        time.sleep(pause)
    print(flush=True)


def run_printers(options: Options, term: Terminal, lock: Lock | None) -> Capture:
    """Start the printing processes, wait for them, and return what they wrote."""
    context = get_context(options.start_method)
    barrier = context.Barrier(options.procs)
    line_time = 5 * options.duration  # five words a line
    expected = 0.3 + line_time * options.tasks * (options.procs if lock else 1)
    with term.progress("printing", expected), capture_output() as screen:
        processes = [
            Process(target=print_lines, name=f"P{n}", context=context,
                    args=(n, options.tasks, options.duration, barrier, lock))
            for n in range(options.procs)
        ]
        run_to_the_end(processes, expected + SPARE_SECONDS,
                       starting=ctrl_c_for_this_process_only(options.start_method))
    return screen


def process_number(name: str) -> int:
    """3 for "P3": the number of a printing process is also its colour."""
    return natural_order(name)[1]


def show_screen(term: Terminal, screen: Capture) -> None:
    """Print the shared screen, each word in the colour of the process that wrote it."""
    text = "".join(term.paint(record.text, process_number(record.who))
                   for record in screen.records())
    for line in text.splitlines():
        # A line too long for the terminal goes on in the next row, inside the frame.
        for row in fit(line, term.columns - 4, hanging=""):
            term.say(f"  {term.glyph('edge')} {row}".rstrip())


def whole_lines(screen: Capture) -> int:
    """How many lines on the screen are one process's line, uncut."""
    line = re.compile(r"Process \d+ is printing line \d+")
    return sum(bool(line.fullmatch(text.strip())) for text in screen.lines())


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
        caller = own_work_then_wait(term, start, submitted, seconds)
        waited = now()
        with term.progress("get", seconds * n / options.procs):
            values = [r.get(timeout=n * seconds + SPARE_SECONDS) for r in results]
        caller.append(Span(waited, now(), "waiting"))
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
        caller = own_work_then_wait(term, start, submitted, seconds)
        waited = now()
        with term.progress("get", seconds * n / options.procs):
            values = result.get(timeout=n * seconds + SPARE_SECONDS)
        caller.append(Span(waited, now(), "waiting"))
        term.say(f"  then get(timeout=...): {values}, {now() - start:.2f} s after the call")
        draw_pool_timeline(term, pool, options.procs, start, scale, caller)
    term.say("apply and map block until the work is done; apply_async and map_async")
    term.say("return an AsyncResult at once, and get(timeout=...) collects the result")
    term.say("when the caller wants it.")
    return 0


def own_work_then_wait(term: Terminal, start: float, submitted: float,
                       seconds: float) -> list[Span]:
    """The caller, free after an async call, does work of its own; return its timeline."""
    time.sleep(seconds)  # stands for any work: the caller is not waiting for the pool
    term.say(f"  meanwhile the caller did {seconds:g} s of its own work")
    return [Span(start, submitted, "waiting"), Span(submitted, now(), "working")]


def milliseconds(seconds: float) -> str:
    """0.0042 -> "4.2 ms": how long a call took that returned at once."""
    return f"{seconds * 1000:.1f} ms"


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


# lost-updates ---------------------------------------------------------------------------


def demo_lost_updates(options: Options, term: Terminal) -> int:
    """Processes add 1 to a shared counter: without a lock updates are lost; with one, none."""
    procs, times = options.procs, options.tasks
    expected = procs * times
    header(term, "lost-updates", f"{procs} processes, one counter, {times} additions each",
           options)
    term.section("1. Without a lock")
    term.say(f"Adding 1 takes three steps: read, think for {milliseconds(options.duration)}, "
             "write back one more.")
    term.say("Meanwhile another process may read the same old value.")
    got, unlocked = count_together(options, term, lock=None)
    if got is None:
        return 1
    term.say(f"  expected {expected}, got {got}: {expected - got} updates lost")
    term.say("  Two processes that read the same value write back the same number: one of")
    term.say("  the two additions is lost.")
    term.section("2. With a procsync_teach.Lock around the three steps")
    got, locked = count_together(options, term, lock=Lock())
    if got is None:
        return 1
    term.say(f"  expected {expected}, got {got}: {expected - got} updates lost")
    term.say(f"  It took {locked:.2f} s instead of {unlocked:.2f} s: inside the lock,")
    term.say("  the processes take turns. Hold a lock only for the steps that need it.")
    return 0


def add_up(counter: Synchronized, lock: Lock | None, times: int, pause: float,
           barrier: Barrier) -> None:
    """In a child: add 1 to ``counter`` ``times`` times, in three steps (under ``lock``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's (Windows too)
    barrier.wait(timeout=SPARE_SECONDS)  # all start together, however slow their start-up
    for _ in range(times):
        with lock or nullcontext():
            value = counter.value  # 1. read
            time.sleep(pause)  # 2. think: another process may read the same value now
            counter.value = value + 1  # 3. write back


def count_together(options: Options, term: Terminal,
                   lock: Lock | None) -> tuple[int | None, float]:
    """Run the adding processes together; return the counter (None if stuck) and the time."""
    context = get_context(options.start_method)
    counter = context.Value("i", 0, lock=False)  # a bare integer in shared memory
    barrier = context.Barrier(options.procs + 1)  # the processes, and this one's clock
    processes = [Process(target=add_up, context=context,
                         args=(counter, lock, options.tasks, options.duration, barrier))
                 for _ in range(options.procs)]
    expected = 0.3 + options.duration * options.tasks * (options.procs if lock else 1)
    went: list[float] = []

    def set_off() -> None:
        barrier.wait(SPARE_SECONDS)  # every process is ready: they all go now
        went.append(now())

    with term.progress("counting", expected):
        stuck = run_to_the_end(processes, expected + SPARE_SECONDS, after_start=set_off,
                               starting=ctrl_c_for_this_process_only(options.start_method))
    if stuck:
        term.error(f"{len(stuck)} processes did not finish in time; the machine is very busy")
        return None, 0.0
    return counter.value, now() - went[0]


# deadlock -------------------------------------------------------------------------------


def demo_deadlock(options: Options, term: Terminal) -> int:
    """Two processes take two locks in opposite orders and wait for ever; then the fix."""
    patience = options.duration
    header(term, "deadlock", "two processes, two locks", options)
    term.section("1. P0 takes lock A then lock B; P1 takes lock B then lock A")
    term.say(f"Each waits for its second lock at most {patience:g} s, so that the demo ends:")
    screen = run_lockers(options, term, same_order=False)
    show_screen(term, screen)
    term.say("Each holds the lock the other waits for: without the timeout, both would wait")
    term.say("for ever. That is a deadlock.")
    term.section("2. The fix: both take lock A first, then lock B")
    screen = run_lockers(options, term, same_order=True)
    show_screen(term, screen)
    finished = sum("released both" in line for line in screen.lines())
    term.say(f"both finished: {finished == 2}. Whoever gets A first gets B too; the other")
    term.say("waits for A, holding nothing. Take locks in the same order everywhere.")
    return 0 if finished == 2 else 1


def take_two(n: int, first: Lock, second: Lock, names: str, patience: float,
             both_hold_one: Barrier | None) -> None:
    """In a child: take ``first`` then ``second``, waiting ``patience`` s at most for it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's (Windows too)
    with first:
        print(f"P{n}: took lock {names[0]}", flush=True)
        if both_hold_one is not None:
            both_hold_one.wait(timeout=SPARE_SECONDS)  # so that the deadlock always happens
        print(f"P{n}: waiting for lock {names[1]}", flush=True)
        if not second.acquire(timeout=patience):
            print(f"P{n}: gave up on lock {names[1]} after {patience:g} s, still holding "
                  f"{names[0]}", flush=True)
            if both_hold_one is not None:  # neither lets go before both gave up
                both_hold_one.wait(timeout=SPARE_SECONDS)
            return
        time.sleep(0.05)  # a moment's work with both locks
        second.release()
    print(f"P{n}: did its work and released both", flush=True)


def run_lockers(options: Options, term: Terminal, same_order: bool) -> Capture:
    """Run P0 and P1 with locks A and B (P1's in the opposite order unless ``same_order``)."""
    context = get_context(options.start_method)
    a, b = Lock(), Lock()
    barrier = None if same_order else context.Barrier(2)
    orders = [(a, b, "AB"), (a, b, "AB") if same_order else (b, a, "BA")]
    with term.progress("running", options.duration + 0.5), capture_output() as screen:
        processes = [Process(target=take_two, name=f"P{n}", context=context,
                             args=(n, first, second, names, options.duration, barrier))
                     for n, (first, second, names) in enumerate(orders)]
        run_to_the_end(processes, options.duration + SPARE_SECONDS,
                       starting=ctrl_c_for_this_process_only(options.start_method))
    return screen


# the list of demos ----------------------------------------------------------------------


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


# -- the terminal ------------------------------------------------------------------------


# Characters of the drawings, and what they mean in a timeline's legend. Terminals that
# cannot show the block characters (an ASCII locale) get the second set.
GLYPHS = {"task": "█", "failed": "×", "waiting": "░", "working": "▓", "gave up": "!",
          "axis": "─", "tick": "┬", "edge": "│", "bar": "█", "bar-empty": "·"}
ASCII_GLYPHS = {"task": "#", "failed": "x", "waiting": "-", "working": "+", "gave up": "!",
                "axis": "-", "tick": "+", "edge": "|", "bar": "#", "bar-empty": "."}
LEGEND = {"task": "a task", "failed": "a task lost: its worker died",
          "waiting": "the caller waits", "working": "the caller does its own work",
          "gave up": "get() gave up: TimeoutError"}


class Terminal:
    """Where the demos write: stdout for what they show, stderr for a progress bar.

    Every line goes through :meth:`say`, which first wipes the progress bar if one is
    drawn, so the bar (redrawn by a thread) and the demo's lines never mix.
    """

    def __init__(self, out: TextIO, err: TextIO, colour: bool, truecolor: bool,
                 progress: bool, blocks: bool, columns: int, step_input: TextIO | None = None):
        self._out, self._err = out, err
        self._step_input = step_input  # where Enter is read in --step mode; None: no waiting
        self._sections = 0
        self._colour, self._truecolor = colour, truecolor
        self._progress = progress
        self._glyphs = GLYPHS if blocks else ASCII_GLYPHS
        self.columns = columns
        self._screen = threading.Lock()  # one writer at a time: the demo or the bar
        self._bar_drawn = False

    @classmethod
    def for_streams(cls, colour: bool | None = None, out: TextIO | None = None,
                    err: TextIO | None = None, step_input: TextIO | None = None) -> Terminal:
        """A Terminal on stdout and stderr; colour and the bar only where a person looks."""
        out, err = out or sys.stdout, err or sys.stderr
        if colour is None:
            colour = wants_colour(out)
        return cls(out, err, colour,
                   truecolor=os.environ.get("COLORTERM", "") in ("truecolor", "24bit"),
                   progress=wants_colour(err, no_color_too=False),
                   blocks=can_encode(out, "".join(GLYPHS.values())),
                   columns=shutil.get_terminal_size((80, 24)).columns, step_input=step_input)

    def say(self, text: str = "") -> None:
        """Print a line of the demo, cut at spaces into rows that fit the terminal's width."""
        with self._screen:
            self._wipe_bar()
            for line in text.split("\n"):
                for row in fit(line, self.columns):
                    self._out.write(row + "\n")
            self._out.flush()

    def section(self, title: str) -> None:
        """Start a section of the demo; in --step mode, first wait until Enter is pressed."""
        if self._step_input is not None and self._sections:
            self.say(f"  {self.glyph('edge')} press Enter for: {title}")
            # At the end of the input nobody can press Enter any more: go on.
            self._step_input.readline()
        self._sections += 1
        self.say()
        self.say(self.bold(title))

    def error(self, text: str) -> None:
        """Say on stderr why the demo cannot go on."""
        with self._screen:
            self._wipe_bar()
            self._err.write(f"procsync_teach: {text}\n")

    def glyph(self, kind: str) -> str:
        """The character drawn for ``kind`` (a key of GLYPHS): a block, or its ASCII stand-in."""
        return self._glyphs[kind]

    def paint(self, text: str, index: int) -> str:
        """``text`` in the colour of worker (or process) ``index``; spaces stay unpainted."""
        if not self._colour or not text.strip():
            return text
        return ansi_colour(colour_of(index), self._truecolor) + text + RESET

    def bold(self, text: str) -> str:
        """``text`` in bold, for headings, when colours are on."""
        return f"\x1b[1m{text}{RESET}" if self._colour else text

    @contextmanager
    def progress(self, label: str, expected: float) -> Iterator[None]:
        """Show a progress bar on stderr while the block runs, if it runs long enough.

        Args:
            label: what is being waited for.
            expected: how long it should take, in seconds: the bar's full length.
        """
        if not self._progress:
            yield
            return
        done = threading.Event()
        thread = threading.Thread(target=self._animate, args=(label, now(), expected, done),
                                  name="progress-bar", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=1)
            with self._screen:
                self._wipe_bar()

    def _animate(self, label: str, started: float, expected: float,
                 done: threading.Event) -> None:
        while not done.wait(0.1):
            elapsed = now() - started
            if elapsed < PROGRESS_AFTER:
                continue
            width = 24
            filled = int(width * min(elapsed / max(expected, 1e-9), 0.99))
            bar = self.glyph("bar") * filled + self.glyph("bar-empty") * (width - filled)
            with self._screen:
                if not done.is_set():
                    self._err.write(f"\r{label} [{bar}] {elapsed:.1f} s")
                    self._err.flush()
                    self._bar_drawn = True

    def _wipe_bar(self) -> None:
        """Erase the progress bar's line, if drawn; the caller holds ``_screen``."""
        if self._bar_drawn:
            self._err.write("\r\x1b[K")
            self._err.flush()
            self._bar_drawn = False


RESET = "\x1b[0m"


def wants_colour(stream: TextIO, no_color_too: bool = True) -> bool:
    """Colour (or a progress bar: the same escape codes) only for a person at a terminal
    that shows them, unless NO_COLOR (no-color.org) says no to colour."""
    if (no_color_too and os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty() and (sys.platform != "win32" or windows_console_takes_ansi(stream))


def windows_console_takes_ansi(stream: TextIO) -> bool:
    """Ask a Windows console to read escape codes ("virtual terminal" mode, Windows 10 and
    later); False where it cannot, and the demo then draws without colour."""
    enable_virtual_terminal_processing = 0x0004
    try:
        import ctypes
        import msvcrt

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = msvcrt.get_osfhandle(stream.fileno())  # type: ignore[attr-defined]
        mode = ctypes.c_uint32()
        return bool(kernel32.GetConsoleMode(handle, ctypes.byref(mode))
                    and kernel32.SetConsoleMode(handle, mode.value
                                                | enable_virtual_terminal_processing))
    except (ImportError, AttributeError, OSError, ValueError):
        return False


_ESCAPE_CODE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def visible_width(text: str) -> int:
    """How many columns ``text`` takes on screen: its escape codes take none."""
    return len(_ESCAPE_CODE.sub("", text))


def fit(line: str, columns: int, hanging: str = "    ") -> list[str]:
    """``line`` as rows of at most ``columns`` columns, cut at spaces (never inside a word),
    the rows after the first indented as the first, plus ``hanging``."""
    if visible_width(line) <= columns:
        return [line]
    body = line.lstrip(" ")
    row = " " * (len(line) - len(body))
    more = row + hanging
    rows = []
    for word in body.split(" "):
        if row.strip() and visible_width(f"{row} {word}") > columns:
            rows.append(row)
            row = more + word
        else:
            row = f"{row} {word}" if row.strip() else row + word
    return [*rows, row]


def can_encode(stream: TextIO, text: str) -> bool:
    """Whether ``stream`` can show ``text`` (an ASCII locale cannot show block characters)."""
    try:
        text.encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def ansi_colour(hex_colour: str, truecolor: bool = False) -> str:
    """The escape sequence that turns text ``hex_colour`` ("#0072b2"): exact in a terminal
    with 24-bit colour, else the nearest of the 256 colours every modern terminal has."""
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    if truecolor:
        return f"\x1b[38;2;{red};{green};{blue}m"
    return f"\x1b[38;5;{nearest_256(red, green, blue)}m"


# The 256-colour palette: 16 system colours (which vary by terminal, so never chosen),
# a 6x6x6 cube of these levels, then 24 greys from 8 to 238.
_CUBE_LEVELS = (0, 95, 135, 175, 215, 255)


def nearest_256(red: int, green: int, blue: int) -> int:
    """The index of the 256-colour palette entry nearest to an RGB colour."""

    def nearest_level(value: int) -> int:
        return min(range(6), key=lambda i: abs(_CUBE_LEVELS[i] - value))

    r, g, b = (nearest_level(value) for value in (red, green, blue))
    cube = (_CUBE_LEVELS[r], _CUBE_LEVELS[g], _CUBE_LEVELS[b])
    grey_step = min(23, max(0, round(((red + green + blue) / 3 - 8) / 10)))
    grey = (8 + 10 * grey_step,) * 3

    def distance(colour: tuple[int, ...]) -> int:
        return sum((a - b) ** 2 for a, b in zip(colour, (red, green, blue), strict=True))

    if distance(grey) < distance(cube):
        return 232 + grey_step
    return 16 + 36 * r + 6 * g + b


# -- timelines ---------------------------------------------------------------------------


class Span(NamedTuple):
    """A stretch of one lane of a timeline: from ``start`` to ``end`` on the shared clock."""

    start: float
    end: float
    kind: str  # a key of LEGEND: "task", "failed", "waiting", "working" or "gave up"
    colour: int | None = None  # a worker's index in procsync_teach.course.colours; None: plain


def task_lanes(records: list[TaskRecord], workers: int) -> dict[str, list[Span]]:
    """One lane per worker (idle ones too: an empty lane is worth seeing) from pool records."""
    lanes: dict[str, list[Span]] = {f"worker {slot}": [] for slot in range(workers)}
    for record in records:
        if record.worker >= 0:
            kind = "task" if record.outcome == "ok" else "failed"
            lanes[f"worker {record.worker}"].append(
                Span(record.started, record.finished, kind, record.worker)
            )
    return lanes


def draw_pool_timeline(term: Terminal, pool: Pool, workers: int, start: float,
                       seconds: float, caller: list[Span]) -> None:
    """The timeline of what the pool ran since ``start``, under the caller's own lane."""
    lanes = {"caller": caller, **task_lanes(pool.records(since=start), workers)}
    draw_timeline(term, lanes, start, seconds)


def draw_timeline(term: Terminal, lanes: dict[str, list[Span]], origin: float,
                  seconds: float) -> None:
    """Draw lanes of spans against time, scaled to the terminal's width, then a legend.

    Args:
        lanes: lane name -> its spans, drawn top to bottom.
        origin: the time (shared clock) drawn as 0 s.
        seconds: how much time the width shows; stretched if a span ends later.
    """
    seconds = max([seconds, 1e-3, *(s.end - origin for spans in lanes.values() for s in spans)])
    label_width = max(len(name) for name in lanes) + 2
    width = max(20, min(100, term.columns - label_width - 8))
    for name, spans in lanes.items():
        colour = spans[0].colour if spans else None
        label = name.ljust(label_width)
        label = term.paint(label, colour) if colour is not None else label
        term.say((label + lane_text(term, spans, origin, width / seconds, width)).rstrip())
    for line in axis_lines(term, seconds, width):
        term.say(" " * label_width + line)
    kinds = dict.fromkeys(span.kind for spans in lanes.values() for span in spans)
    term.say(" " * label_width + "   ".join(f"{term.glyph(k)} {LEGEND[k]}" for k in kinds))
    term.say()


def lane_text(term: Terminal, spans: list[Span], origin: float, per_second: float,
              width: int) -> str:
    """One lane as text: each span's columns filled with its glyph, in its colour."""
    cells: list[tuple[str, int | None]] = [(" ", None)] * width
    # Marks ("gave up") last, so that the span starting where they stand does not hide them.
    for span in sorted(spans, key=lambda span: span.kind == "gave up"):
        first = min(width - 1, int((span.start - origin) * per_second))
        last = min(width, max(first + 1, int((span.end - origin) * per_second)))
        for column in range(first, last):
            cells[column] = (term.glyph(span.kind), span.colour)
        if span.kind == "task" and last - first >= 3:
            cells[last - 1] = (" ", None)  # a gap, so that back-to-back tasks stay two bars
    pieces = []
    for colour, run_of_cells in itertools.groupby(cells, key=lambda cell: cell[1]):
        text = "".join(glyph for glyph, _ in run_of_cells)
        pieces.append(text if colour is None else term.paint(text, colour))
    return "".join(pieces).rstrip()


def axis_lines(term: Terminal, seconds: float, width: int) -> list[str]:
    """A time axis under the lanes: a line with ticks, then the tick labels."""
    per_second = width / seconds
    step = next((s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)
                 if s * per_second >= 9), 120)
    ticks = [round(i * step, 6) for i in range(int(seconds / step) + 1)]
    axis, labels, free = list(term.glyph("axis") * width), "", 0
    for tick in ticks:
        column = min(width - 1, round(tick * per_second))
        axis[column] = term.glyph("tick")
        if column >= free:
            labels += " " * (column - len(labels)) + f"{tick:g} s"
            free = len(labels) + 1
    return ["".join(axis), labels]
