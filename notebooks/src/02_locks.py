# %% [markdown]
# # 02 · Locks
#
# [← 01 · Processes and garbled output](01_processes_and_garbled_output.ipynb) |
# [course map](00_start_here.ipynb#The-course-map) |
# [next: 03 · Pool: sync vs async →](03_pool_sync_vs_async.ipynb)
#
# In notebook 01 a lock kept printed lines whole. Garbled output is annoying; lost data is
# worse. Here several processes add to one shared counter, and without a lock some of
# their additions simply vanish. Then we look at the price of a lock, at two ways a lock
# can leave processes waiting for ever, and at how to avoid both.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# - take and release a lock with `acquire()`/`release()` and `with`, and give up in time
#   with `acquire(block=False)` and `acquire(timeout=...)`;
# - explain why updates to a shared counter get lost without a lock, and show that none
#   are lost with one;
# - read a timeline of who held a lock, and keep the work inside a lock small;
# - recognise a deadlock, catch it with a timeout, and prevent it by taking locks in one
#   agreed order;
# - say what happens to a lock when the process holding it dies.

# %% [markdown]
# ## 1. Take it, give it back
#
# A lock has two operations. `acquire()` takes it, waiting if another process holds it,
# and returns `True` once it is ours. `release()` gives it back. The `repr` says whether
# this process holds it.

# %%
from procsync_teach import Lock

lock = Lock()
print("acquire() ->", lock.acquire())
print(lock)
lock.release()
print(lock)

# %% [markdown]
# Always pair them up. `with lock:` does it for you: it acquires on the way in and
# releases on the way out, **even if the code inside raises**. Releasing a lock you do not
# hold is a mistake, and the lock says so (`multiprocessing.Lock` raises the same
# `ValueError`).

# %%
try:
    with lock:
        print("inside:", lock)
        raise RuntimeError("something went wrong while holding the lock")
except RuntimeError as error:
    print("caught:", error)
print("after the block:", lock)

try:
    lock.release()
except ValueError as error:
    print("ValueError:", error)

# %% [markdown]
# ## 2. Not waiting for ever
#
# Sometimes waiting is the wrong thing to do. Two variants of `acquire` give up instead:
#
# - `acquire(block=False)`: take it if it is free **right now**, else return `False` at once;
# - `acquire(timeout=0.3)`: wait at most 0.3 seconds, then return `False`.
#
# To see them give up, the notebook holds the lock while another process tries. That
# process reports what happened; `capture_output()` (from notebook 01) shows what it prints.

# %%
import procsync_teach.course  # the course's helpers: each process's output in its colour
from procsync_teach import Process, capture_output, now


def how_long(began, timeout):
    """How long since `began`, in words that do not change from run to run."""
    waited = now() - began
    if waited >= timeout:
        return "the whole timeout"
    return "no time at all" if waited < 0.1 else "a while"


def try_the_lock(lock):
    began = now()
    got_it = lock.acquire(block=False)
    print("acquire(block=False) ->", got_it, "| waited:", how_long(began, 0.3))
    if got_it:
        lock.release()
    began = now()
    got_it = lock.acquire(timeout=0.3)
    print("acquire(timeout=0.3) ->", got_it, "| waited:", how_long(began, 0.3))
    if got_it:
        lock.release()


def in_another_process(task, lock):
    """Run `task(lock)` in a new process, and show what it printed."""
    with capture_output() as screen:
        p = Process(target=task, args=(lock,))
        p.start()
        p.join(timeout=30)
    print("\n".join(screen.lines()))


with lock:  # the notebook holds the lock while the other process tries
    in_another_process(try_the_lock, lock)

# %% [markdown]
# Once the notebook has let go, the same process gets the lock at its first try:

# %%
in_another_process(try_the_lock, lock)

# %% [markdown]
# `False` is not an error: it is an answer, and your code decides what to do next (try
# later, do something else, report a problem). Section 6 uses exactly this to get out of a
# deadlock.
#
# ### Only the holder can release it
#
# While the notebook held the lock, the other process waited. Could it have called
# `release()` instead, and set the lock free? Here our `Lock` and `multiprocessing.Lock`
# differ. `multiprocessing.Lock` lets any process release it, even one that never acquired
# it (its documentation says so): it is a counter in shared memory, with no owner. Our
# `Lock` belongs to the process that acquired it (the kernel locks a file for that process:
# section 7 shows what else follows), so in any other process `release()` raises
# `ValueError`, and the message says the rule. Each lock in turn: the notebook acquires it,
# then another process tries to release it.

# %%
def release_it(lock):
    """In another process: release a lock that this process never acquired."""
    try:
        lock.release()
        print("  another process: release() -> done")
    except ValueError as error:
        print(f"  another process: release() -> {type(error).__name__}: {error}")


# The stdlib's lock comes from the course's start method, as the processes do (section 3).
for name, some_lock in [("multiprocessing.Lock", procsync_teach.get_context().Lock()),
                        ("procsync_teach.Lock", Lock())]:
    print(name)
    some_lock.acquire()  # the notebook holds it
    in_another_process(release_it, some_lock)
    print("  the notebook: acquire(block=False) ->", some_lock.acquire(block=False))
    some_lock.release()

# %% [markdown]
# `multiprocessing.Lock` was set free behind its holder's back: the notebook could take it
# a second time, and so could any other process, while the notebook still believed it was
# inside its critical section. Ours refused, and stayed held. To let one process tell
# another "go on", use a tool made for signalling, such as an `Event`, not a lock.
#
# ## 3. A shared counter that loses updates
#
# Four processes each add 1 to a shared counter, 20 times. The counter should end at 80.
#
# The counter is a `Value`: one integer in memory that every process shares
# (`lock=False` asks for the bare integer, without the lock `multiprocessing` would
# otherwise wrap around it). Adding 1 to it takes three steps: **read** the value,
# work out the new one, **write** it back. Between the read and the write we pause for
# 2 ms, as real code might pause to compute or to wait for a disk: while one process
# pauses, another can read the same old value. Then both write back the same number,
# and one of the two additions is lost.
#
# Two more tools from `multiprocessing` help here:
#
# - `ctx` is the course's start method (fork, spawn or forkserver). Objects that processes
#   share through their arguments, such as `Value` and `Barrier`, must come from the same
#   start method as the processes, so we make them with `ctx`.
# - a `Barrier(4)` is a starting line: each process waits at `start.wait()` until all four
#   are there, then all go at once. Otherwise, with the slow spawn start method, the first
#   process could finish before the last one even began.
#
# (`Barrier`, and the `Event` of section 7, are two of the other primitives that
# notebook [11 · The other primitives](11_other_primitives.ipynb) teaches properly.)

# %%
import time

import procsync_teach

ctx = procsync_teach.get_context()
PAUSE = 0.002  # seconds between reading the counter and writing it back


def add_up(counter, lock, n, start):
    """Add 1 to the shared counter n times, each time inside `with lock:`."""
    start.wait(60)  # the starting line: wait until every process is ready
    for _ in range(n):
        with lock:
            value = counter.value  # 1. read
            time.sleep(PAUSE)  # 2. think: meanwhile another process may read too
            counter.value = value + 1  # 3. write back


def race(lock, processes=4, increments=20):
    """Run add_up in several processes at once, sharing one counter; return its final value."""
    counter = ctx.Value("i", 0, lock=False)
    start = ctx.Barrier(processes)
    workers = [Process(target=add_up, args=(counter, lock, increments, start))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return counter.value


# %% [markdown]
# First, without a real lock. To keep `add_up` unchanged we hand it a `PretendLock`: it
# has `with` like a lock and notes when each process was "inside", but it keeps nobody out.
# (It lives in `procsync_teach.course.exercises.locks` rather than here, because a class passed
# to a process as an argument must be importable under spawn.)

# %% tags=["nbval-ignore-output"]
from procsync_teach.course.exercises.locks import PretendLock

expected = 4 * 20
pretend = PretendLock()
without = race(pretend)
print(f"expected {expected}, got {without}")

# %% [markdown]
# Fewer than 80, probably far fewer! How many are lost changes from run to run (it
# depends on how the processes happen to interleave), so the number above is not checked
# by the course's tests. What does not change is checked here: some updates are lost,
# and the counter never counts more than it should.

# %%
print("lost updates without a lock:", "some" if without < expected else "none")
print("never more than expected:", without <= expected)

# %% [markdown]
# Now with a real `Lock`. `trace=True` makes it record who held it and when, for the
# timeline in the next section.

# %%
traced = Lock(trace=True)
with_lock = race(traced)
print(f"with the lock: expected {expected}, got {with_lock}")

# %% [markdown]
# Not one update lost: the lock makes read, think and write one indivisible step, a
# **critical section**. No process can read the counter while another is between its
# read and its write.
#
# ## 4. Who held the lock, and when
#
# `traced.holds()` lists every hold: which process, when it acquired, when it released.
# `pretend.holds()` lists the same for the pretend lock. `plot_lock_holds` draws them, one
# lane per process, and below them, hatched in a lane of its own, every moment when two
# processes were inside at once.

# %%
import matplotlib.pyplot as plt

from procsync_teach.course.plots import plot_lock_holds, subplots


def overlapping(holds):
    """How many holds began while another hold was still going on."""
    count, latest_end = 0, float("-inf")
    for hold in sorted(holds, key=lambda hold: hold.acquired):
        count += hold.acquired < latest_end
        latest_end = max(latest_end, hold.released)
    return count


def lasted(holds):
    """Seconds from the first acquire to the last release."""
    return max(hold.released for hold in holds) - min(hold.acquired for hold in holds)


fig, (top, bottom) = subplots(2, 1, height=5.4)
plot_lock_holds(pretend.holds(), ax=top, title="PretendLock: everyone inside at once")
plot_lock_holds(traced.holds(), ax=bottom, title="Lock: one process at a time")
plt.show()

print("holds that overlapped another, pretend lock:", "some" if overlapping(pretend.holds()) else 0)
print("holds that overlapped another, real lock:   ", overlapping(traced.holds()))
print("holds recorded by the real lock:", len(traced.holds()))
print("the locked run lasted longer:", lasted(traced.holds()) > lasted(pretend.holds()))

# %% [markdown]
# Top: the four lanes run side by side; the hatched lane below them shows processes
# between read and write at the same time, and each of those moments can lose an update. Bottom: the bars take turns
# like cars at a one-lane bridge. The locked run also lasted longer (the time axes differ):
# taking turns has a price, which section 5 measures.
#
# ### How does `Lock` do that?
#
# A `procsync_teach.Lock` is a small file, and the operating system does the locking:
# `acquire()` asks the kernel for an exclusive lock on the file (`flock`), and the kernel
# makes every other process that asks wait until the holder lets go. Notebook 06 reads the
# code. Two consequences matter already:
#
# - **All processes must share the same lock.** The lock is *that* file. A process that
#   made its own `Lock()` would lock a file of its own and keep nobody out, exactly like
#   the pretend lock. So the lock is created once, in the notebook, and handed to every
#   process as an argument (it travels as the file's name).
# - **The kernel knows who holds it,** so it can release it if the holder dies
#   (section 7).
#
# ## 5. What a lock costs
#
# Inside `with lock:`, processes take turns. Whatever work we put inside is done one
# process at a time, however many processes and cores we have. So: do the slow work
# *outside* the lock, and hold it only for the moment that really needs it.
#
# Let's measure. Each process does 5 tasks of 20 ms of work and counts each finished task
# in a shared total, which needs the lock. It does them in two rounds: first holding the
# lock during the work too, then holding it only to count. The rounds use two traced
# locks, and each round's clock stops at the last release of its lock (so the time the
# processes take to exit, long under spawn, is not counted). The `start` barrier serves
# twice: at each round's start, the notebook starts the clock as the processes set off.
#
# (The "work" is a `time.sleep`, which needs no processor, so even more processes than
# cores can work at once; with real computation the cores would set a limit too, as
# notebook 05 shows.)

# %%
from procsync_teach.course.plots import plot_seconds_against

WORK = 0.02  # seconds of work per task
TASKS = 5  # tasks per process, in each round


def do_tasks(inside_lock, outside_lock, total, start):
    start.wait(60)  # round 1: the work inside the lock
    for _ in range(TASKS):
        with inside_lock:
            time.sleep(WORK)  # the work, while everyone else waits
            total.value += 1
    start.wait(60)  # round 2, once every process has finished round 1
    for _ in range(TASKS):
        time.sleep(WORK)  # the work, side by side with the others
        with outside_lock:
            total.value += 1  # only the shared update is locked


def time_rounds(processes):
    """Seconds that each round took: (work inside the lock, work outside it)."""
    inside_lock, outside_lock = Lock(trace=True), Lock(trace=True)
    total = ctx.Value("i", 0, lock=False)
    start = ctx.Barrier(processes + 1)  # the processes, and the notebook with the clock
    workers = [Process(target=do_tasks, args=(inside_lock, outside_lock, total, start))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    start.wait(60)
    round_1 = now()
    start.wait(60)
    round_2 = now()
    for worker in workers:
        worker.join(timeout=60)
    last_release = [max(hold.released for hold in lock.holds())
                    for lock in (inside_lock, outside_lock)]
    return last_release[0] - round_1, last_release[1] - round_2


counts = [1, 2, 4]
inside, outside = zip(*[time_rounds(n) for n in counts])

ax = plot_seconds_against(counts, inside, "processes", label="work inside the lock")
plot_seconds_against(counts, outside, "processes", ax=ax, label="work outside the lock")
ax.set_xticks(counts)
ax.set_ylim(bottom=0)
ax.set_title("5 tasks of 20 ms per process")
plt.show()

# %% [markdown]
# With the work inside the lock, the time grows with every process: 4 processes take about
# 4 times as long as 1, because they work one after the other. With the work outside, 4
# processes finish about as fast as 1. The check, in words:

# %%
def in_words(seconds):
    ratio = seconds[-1] / seconds[0]  # 4 processes against 1
    if ratio > 2.5:
        return "much longer than 1: the processes take turns"
    if ratio < 1.8:
        return "about as long as 1: the processes work side by side"
    return "somewhat longer than 1"


print("work inside the lock:  4 processes take", in_words(inside))
print("work outside the lock: 4 processes take", in_words(outside))

# %% [markdown]
# ## 6. Deadlock: two locks, opposite order
#
# Some updates need two locks at once: moving money from account A to account B needs
# both accounts' locks. Suppose one process takes A then B, and another takes B then A.
# If each gets its first lock, each then waits for the lock the other holds, and neither
# will ever let go: a **deadlock**. With plain `acquire()` both would wait for ever.
#
# `take_both` takes its second lock with a timeout, its *patience*: a process that cannot
# get the lock in time gives up and **backs off**, which means leaving the `with` block
# and so releasing the lock it holds, for the other process to use. To make the bad timing
# certain rather than rare, the two processes meet at a `Barrier(2)` once each holds its
# first lock. P0 is impatient (0.2 seconds), P1 patient (2 seconds).

# %%
def take_both(name, first, second, labels, patience, meet=None):
    with first:
        if meet is not None:
            meet.wait(10)  # both processes now hold their first lock
        if second.acquire(timeout=patience):
            print(f"{name} took {labels[0]}, then {labels[1]}: did its work")
            second.release()
        else:
            print(f"{name} took {labels[0]}, gave up waiting for {labels[1]}: backs off")


def run_both(tasks, meet=None):
    """Run each task (name, first, second, labels, patience) in its own process; print
    what they say."""
    with capture_output() as screen:
        workers = [Process(target=take_both, args=(*task, meet)) for task in tasks]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
    print("\n".join(sorted(screen.lines())))  # sorted: the order they print in varies


lock_a, lock_b = Lock(), Lock()
run_both([("P0", lock_a, lock_b, "AB", 0.2), ("P1", lock_b, lock_a, "BA", 2.0)],
         meet=ctx.Barrier(2))

# %% [markdown]
# P0 waited for B until its patience ran out, gave up, and released A on its way out; P1,
# still waiting, got A and did its work. Without the timeouts, both would still be
# waiting. But backing off is a way out, not a cure: P0's work was not done and must be
# tried again. Had both given up at the same moment, both would try again, and could
# deadlock again, and again.
#
# **The fix: every process takes the locks in the same order**, say A before B, whatever
# its task. Then a process holding B always holds A too, so nobody can hold B while
# waiting for A, and the cycle of waiting cannot form. (We leave out the meeting point:
# while one process holds A, the other cannot even take its first lock, so they could
# never both reach it. That is the fix at work.)

# %%
run_both([("P0", lock_a, lock_b, "AB", 0.2), ("P1", lock_a, lock_b, "AB", 2.0)])

# %% [markdown]
# ## 7. When the holder dies
#
# A process can die while it holds a lock: a bug, `kill -9`, the out-of-memory killer. It
# never reaches `release()`, not even a `finally` or the end of a `with` block. What
# happens to the lock?
#
# `hold_for_ever` takes a lock and keeps it. We kill it with `p.kill()` (on Linux and
# macOS the signal SIGKILL, on Windows `TerminateProcess`: no clean-up at all), then try
# to take the lock, with a timeout to be safe.

# %%
from procsync_teach.course.platforms import exit_code_meaning


def hold_for_ever(lock, holding):
    lock.acquire()
    holding.set()  # tell the notebook: I hold it now
    time.sleep(60)


def after_the_holder_is_killed(lock):
    """Let a process take the lock, kill it, and report whether the lock can be had."""
    holding = ctx.Event()
    p = Process(target=hold_for_ever, args=(lock, holding))
    p.start()
    holding.wait(30)
    p.kill()
    p.join(timeout=30)
    got_it = lock.acquire(timeout=0.5)
    print(f"  holder's exit code: {p.exitcode} ({exit_code_meaning(p.exitcode)})")
    print(f"  acquire(timeout=0.5) afterwards -> {got_it}")
    if got_it:
        lock.release()


print("multiprocessing.Lock:")
after_the_holder_is_killed(ctx.Lock())
print("procsync_teach.Lock:")
after_the_holder_is_killed(Lock())

# %% [markdown]
# `multiprocessing.Lock` is a semaphore: a number in shared memory that the holder set to
# "taken". It has no owner, so nobody knows that its holder is gone, and it stays locked for
# ever: every later `acquire()` without a timeout would hang. Our `Lock` is a kernel file
# lock; the kernel drops a process's file locks when it ends, however it ends, and the
# next process gets the lock.
#
# A lock freed that way is not a repair, though: the dead process may have stopped halfway
# through its critical section (read the counter, never wrote it back). Freeing the lock
# keeps the others from hanging; whether the data is still sound is for your program to
# decide.

# %% [markdown]
# ## 8. Experiment: more processes, more increments
#
# Choose how many processes share the counter and how many times each adds 1, then press
# **Run**. Each run races twice, without a lock and with one, and draws what the counter
# should read next to what it reads.
#
# Things to try: roughly what share of the updates is lost with 2 processes, and with 8?
# How much longer does the locked run take?

# %%
import ipywidgets as widgets

from procsync_teach.course.colours import colour_of
from procsync_teach.course.plots import legend_outside, subplots
from procsync_teach.course.widgets import Experiment


last_race = {}


def counter_race(processes=2, increments=20):
    """Race without and with a lock; draw expected against got for both."""
    expected = processes * increments
    runs = {"without a lock": PretendLock(), "with a Lock": Lock()}
    got = {label: race(lock, processes, increments) for label, lock in runs.items()}
    last_race.update(expected=expected, got=got)
    fig, ax = subplots(height=3)
    places = range(len(runs))
    ax.bar([p - 0.2 for p in places], [expected] * len(runs), width=0.4, color="lightgrey",
           edgecolor="black", label="expected")
    ax.bar([p + 0.2 for p in places], list(got.values()), width=0.4, color=colour_of(0),
           label="got")
    for place, value in enumerate(got.values()):
        ax.annotate(str(value), (place + 0.2, value), ha="center", va="bottom")
    ax.set_xticks(list(places), list(runs))
    ax.set_ylim(0, expected * 1.15)  # room for the numbers above the bars
    ax.set_ylabel("counter at the end (increments)")
    ax.set_title(f"{processes} processes × {increments} increments")
    legend_outside(ax)
    return fig


Experiment(counter_race,
           processes=widgets.IntSlider(value=2, min=2, max=8, description="processes"),
           increments=widgets.IntSlider(value=20, min=5, max=100, step=5,
                                        description="increments"))

# %% [markdown]
# The first run, with the settings the sliders start with: what is certain about it.

# %%
print("with a Lock, the counter reads what it should:",
      last_race["got"]["with a Lock"] == last_race["expected"])
print("without a lock, never more than it should:",
      last_race["got"]["without a lock"] <= last_race["expected"])

# %% [markdown]
# ## 9. Exercises
#
# ### Exercise 1: lose no update
#
# Write `safe_increment(counter, lock, n)`: it adds 1 to `counter.value`, `n` times, and
# must not lose any update when several processes run it at once with the same counter and
# the same lock.
#
# The check runs your function in 4 processes at once. Its counter works like the `Value`
# above (`counter.value` to read, `counter.value = ...` to write) but pauses a moment
# after every read, so an update left unprotected is lost for sure.

# %%
from procsync_teach.course.exercises.locks import check_safe_increment, check_transfer


def safe_increment(counter, lock, n):
    """Add 1 to counter.value, n times, losing no update to the other processes."""
    ...  # your code: read counter.value, write it back plus one, n times, using the lock


check_safe_increment(safe_increment)

# %% tags=["solution"]
def safe_increment(counter, lock, n):
    """Add 1 to counter.value, n times, losing no update to the other processes."""
    for _ in range(n):
        with lock:  # from the read to the write: nobody can read the old value meanwhile
            counter.value = counter.value + 1


check_safe_increment(safe_increment)

# %% [markdown]
# ### Exercise 2: transfers without deadlock
#
# A bank keeps one lock per account: `locks["alice"]` and `locks["bob"]`. Write
# `transfer(locks, source, target)`: it must hold the locks of **both** accounts at the
# same time (that is when the money would move), then let both go, and it must never
# deadlock.
#
# The check runs `transfer(locks, "alice", "bob")` and `transfer(locks, "bob", "alice")` in
# two processes at once. Its locks nap for 0.1 seconds after every acquire, so a bad order
# deadlocks every time; after 3 seconds the check stops the processes and tells you.
# Hint: names can be sorted.

# %%
def transfer(locks, source, target):
    """Hold the locks of accounts `source` and `target` at the same time, then let go."""
    ...  # your code: take both locks, in an order that every process agrees on


check_transfer(transfer)

# %% tags=["solution"]
def transfer(locks, source, target):
    """Hold the locks of accounts `source` and `target` at the same time, then let go."""
    first, second = sorted([source, target])  # one order for everyone: alphabetical
    with locks[first]:
        with locks[second]:
            pass  # both held: here the money would move


check_transfer(transfer)

# %% [markdown]
# ## Key points
#
# - `acquire()` waits and returns `True`; `release()` gives the lock back. Prefer
#   `with lock:`, which releases even when the block raises. Only the process that
#   acquired a `procsync_teach.Lock` can release it; `multiprocessing.Lock` lets any process.
# - `acquire(block=False)` answers at once, `acquire(timeout=t)` waits at most `t`
#   seconds; `False` means "not now", for your code to handle.
# - Read, change, write back is not one step: without a lock, processes that update shared
#   data at the same time lose updates. A lock makes the whole update a critical section.
# - Every process must use the **same** lock, created once and passed to them.
# - Processes take turns inside a lock: keep slow work outside it, and lock only the
#   shared update.
# - Two locks taken in opposite orders can deadlock. Take them in one agreed order
#   everywhere; a timeout lets a process notice and back off.
# - A `multiprocessing.Lock` whose holder dies stays locked for ever; a
#   `procsync_teach.Lock` is released by the kernel.
#
# **Next:** [03 · Pool: sync vs async →](03_pool_sync_vs_async.ipynb)
