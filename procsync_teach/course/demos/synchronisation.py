"""The demos of synchronisation: processes garble a shared screen, lose updates to a shared
counter, and deadlock on two locks; each time, then, the Lock (or the lock order) that fixes it.

Each demo starts its processes with :func:`~procsync_teach.course.running.run_to_the_end`,
which stops any that get stuck, and shows what they printed, replayed from a capture.
"""

from __future__ import annotations

import re
import signal
import sys
import time
from contextlib import nullcontext
from typing import TYPE_CHECKING

from ...capture import Capture, capture_output, natural_order
from ...clock import now
from ...context import get_context
from ...lock import Lock
from ...process import Process
from ..running import run_to_the_end
from .basics import SPARE_SECONDS, Options, ctrl_c_for_this_process_only, header, milliseconds
from .terminal import fit

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import Synchronized
    from multiprocessing.synchronize import Barrier

    from .terminal import Terminal

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


def say_line(text: str) -> None:
    """Print ``text`` and its newline in one write: two processes that print at the same
    moment (as both lockers give up at once) must not cut each other's lines, which
    ``print`` may do, since it writes the text and the newline separately."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def take_two(n: int, first: Lock, second: Lock, names: str, patience: float,
             both_hold_one: Barrier | None) -> None:
    """In a child: take ``first`` then ``second``, waiting ``patience`` s at most for it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's (Windows too)
    with first:
        say_line(f"P{n}: took lock {names[0]}")
        if both_hold_one is not None:
            both_hold_one.wait(timeout=SPARE_SECONDS)  # so that the deadlock always happens
        say_line(f"P{n}: waiting for lock {names[1]}")
        if not second.acquire(timeout=patience):
            say_line(f"P{n}: gave up on lock {names[1]} after {patience:g} s, still holding "
                     f"{names[0]}")
            if both_hold_one is not None:  # neither lets go before both gave up
                both_hold_one.wait(timeout=SPARE_SECONDS)
            return
        time.sleep(0.05)  # a moment's work with both locks
        second.release()
    say_line(f"P{n}: did its work and released both")


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

