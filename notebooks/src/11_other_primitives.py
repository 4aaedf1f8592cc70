# %% [markdown]
# # 11 · The other primitives: RLock, Semaphore, Event, Condition, Barrier
#
# [← 10 · Queues and shared state](10_queues_and_shared_state.ipynb) |
# [course map](00_start_here.ipynb#The-course-map) |
# [next: 12 · Threads and the GIL →](12_threads_and_the_gil.ipynb)
#
# A lock answers one question: "may I go in?", one process at a time. Processes that work
# together ask others too: "may I go in, if fewer than three are inside?", "has the data
# been loaded yet?", "are there enough items for me?", "is everybody ready?". The
# `multiprocessing` module has one tool for each, with the same names as in `threading`.
# Notebooks 01 and 02 already used two of them (a `Barrier`, and an `Event`) without
# explaining them; here they all get their turn.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# - say what an `RLock` allows that a `Lock` does not, and when you need it;
# - limit how many processes do something at once with a `Semaphore`, and check the limit
#   on a timeline;
# - let processes wait for a signal with an `Event`, and for a test on shared data with a
#   `Condition`;
# - make processes wait for each other at a `Barrier`;
# - pick the right primitive for a situation.

# %% [markdown]
# ## Setup
#
# All five come from the course's context `ctx` (the start method of the course, as in
# notebook 02): an object that processes share through their arguments must come from the
# same start method as the processes.
#
# To see who did what and when, the course has a `SpanLog`: a log that any process can
# write to. `with log.span(who):` records the time spent inside the block as one *span*
# of `who` (a number we choose), `log.spans()` reads them all back, and `plot_spans` draws
# them, one lane per `who`, like the lock timelines of notebook 02. `most_at_once(spans)`
# counts the most spans that were going on at the same moment.

# %%
import time

import matplotlib.pyplot as plt

import procsync_teach
from procsync_teach import Process
from procsync_teach.course.plots import plot_spans
from procsync_teach.course.spans import SpanLog, most_at_once

ctx = procsync_teach.get_context()


def run_all(jobs):
    """Start one process per (target, args) pair, then wait for all (at most 60 s each)."""
    processes = [Process(target=target, args=args) for target, args in jobs]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)


log = SpanLog()
with log.span(who=7):
    time.sleep(0.01)
(only,) = log.spans()
print("one span, of who =", only.who, "| it ends after it starts:", only.end > only.start)

# %% [markdown]
# ## 1. RLock: a lock its holder may take again
#
# A function that holds a lock sometimes calls another function that takes the **same**
# lock: `add_item` locks the stock to add to it, and calls `log_change`, which locks the
# stock too so that it can also be called on its own. With a plain `Lock`, the second
# `acquire` waits for the lock to be free, which happens only when the holder releases it,
# and the holder is the one waiting: it waits for itself, for ever. (Below it gives up
# after 0.2 s, so that we see `False` rather than a hung notebook.)
#
# An `RLock` (*re-entrant* lock) remembers **who** holds it and **how many times**. Its
# holder may take it again at once; it is free for others only after as many `release()`
# calls as `acquire()` calls.

# %%
def log_change(lock):
    """Take the lock to write a log line; report whether we got it."""
    got_it = lock.acquire(timeout=0.2)
    if got_it:
        lock.release()
    return got_it


def add_item(lock):
    with lock:  # the outer hold: we are changing the stock
        return log_change(lock)  # the inner hold, by the same process


print("Lock:  the inner acquire by the holder ->", add_item(ctx.Lock()))
print("RLock: the inner acquire by the holder ->", add_item(ctx.RLock()))

# %% [markdown]
# `procsync_teach.Lock` behaves like `multiprocessing.Lock` here. An `RLock` is only
# re-entrant for its holder: another process still waits, as for a `Lock`.
#
# ## 2. Semaphore: at most N at once
#
# A `Semaphore(2)` is a bowl with two tokens. `acquire()` takes a token, waiting if the
# bowl is empty; `release()` puts one back. So at most 2 processes are between their
# `acquire` and their `release` at any moment. (A `Lock` is the special case of one
# token.) Use it to limit how many processes use something that cannot take more: two
# printers, a database that allows three connections, a website that bans you above four
# requests at a time.
#
# Five processes want to print, on two printers. Each takes a token for the length of its
# print job (0.1 s) and records that time as its span. A `Barrier` (section 5) lets them
# all start at the same moment.

# %%
def print_job(printers, log, who, start):
    start.wait(60)  # the starting line: everybody at once
    with printers:  # take a token; the third process to come waits here
        with log.span(who):
            time.sleep(0.1)  # printing


printers = ctx.Semaphore(2)
jobs = SpanLog()
start = ctx.Barrier(5)
run_all([(print_job, (printers, jobs, who, start)) for who in range(5)])

plot_spans(jobs.spans(), title="Semaphore(2): five print jobs, two printers")
plt.show()

# %% [markdown]
# The bars come two by two: two processes print, the others wait for a token, and each
# time a job ends its token goes to one of the waiting processes. Which process goes when
# depends on timing, but never are more than two bars above each other. Counted from the
# spans:

# %%
spans = jobs.spans()
print("every process printed once:", sorted(span.who for span in spans) == list(range(5)))
print("at most 2 printed at once:", most_at_once(spans) <= 2)

# %% [markdown]
# ## 3. Event: a signal
#
# An `Event` is a flag that starts off. `set()` turns it on, `clear()` off again;
# `is_set()` reads it; `wait(timeout)` waits until it is on and returns `True`, or
# `False` if the time ran out first. It is on until someone clears it, so a process that
# comes to `wait()` late still sees the signal. First, in the notebook alone:

# %%
ready = ctx.Event()
print("is_set() ->", ready.is_set())
print("wait(0.1) before set() ->", ready.wait(0.1))
ready.set()
print("wait(0.1) after set() ->", ready.wait(0.1))
ready.clear()
print("is_set() after clear() ->", ready.is_set())

# %% [markdown]
# Now with processes. Process 0 loads some data (0.2 s), then sets the event; processes
# 1 to 3, started at the same time, wait for the event before they start their work.
# Notebook 02 used an `Event` in just this way: a process holding a lock told the notebook
# "I hold it now" with `holding.set()`.

# %%
def load(loaded, log):
    with log.span(who=0):
        time.sleep(0.2)  # loading the data
    loaded.set()  # the signal: the data is there


def use(loaded, log, who):
    if loaded.wait(60):  # sleep until the signal (60 s at most)
        with log.span(who):
            time.sleep(0.05)  # working on the data


loaded = ctx.Event()
work = SpanLog()
run_all([(load, (loaded, work))] + [(use, (loaded, work, who)) for who in (1, 2, 3)])

spans = work.spans()
signal_time = max(span.end for span in spans if span.who == 0)
plot_spans(spans, title="Event: three processes wait for the data", marks={"set()": signal_time})
plt.show()

# %% [markdown]
# Processes 1 to 3 were started with process 0, but did nothing until the dashed line,
# where process 0 called `set()`. Checked from the spans:

# %%
users = [span for span in spans if span.who != 0]
print("processes that worked on the data:", sorted(span.who for span in users))
print("none began before the signal:", all(span.start >= signal_time for span in users))

# %% [markdown]
# ## 4. Condition: wait until a test on shared data comes true
#
# An `Event` carries one bit. Often a process waits for something about shared data: "at
# least 3 items in the queue", "the counter reached 100". Asking again and again in a loop
# (*busy waiting*) burns a core for nothing. A `Condition` lets the process sleep until
# another process says "the data changed, look again".
#
# A `Condition` is a lock with a waiting room:
#
# - `with cond:` takes its lock, as for a `Lock`: the shared data is read and changed
#   only while holding it;
# - `cond.wait_for(test, timeout)`, called while holding the lock, releases it and sleeps;
#   each time it is woken it takes the lock again and runs `test()`, and returns once
#   `test()` is true (with the lock held), or when the time runs out;
# - `cond.notify_all()`, called by the process that changed the data while it holds the
#   lock, wakes the sleepers so they run their test again.
#
# The producer (process 0) makes 5 items, 0.04 s each, and counts them in a shared
# `Value`. The consumer (process 1) needs 3 before it can start.

# %%
def produce(cond, items, log):
    for _ in range(5):
        with log.span(who=0):
            time.sleep(0.04)  # making an item
        with cond:
            items.value += 1  # the data changes...
            cond.notify_all()  # ...so tell the sleepers to look again


def consume(cond, items, log):
    with log.span(who=1):  # the time spent waiting
        with cond:
            enough = cond.wait_for(lambda: items.value >= 3, timeout=60)
    print("the consumer's test came true:", enough)


cond = ctx.Condition()
items = ctx.Value("i", 0, lock=False)  # the Condition's lock guards it
waits = SpanLog()
with procsync_teach.capture_output() as screen:
    run_all([(produce, (cond, items, waits)), (consume, (cond, items, waits))])
print("\n".join(screen.lines()))

spans = waits.spans()
made = [span for span in spans if span.who == 0]
plot_spans(spans, title="Condition: the consumer (1) waits for 3 items from the producer (0)",
           marks={"3rd item made": made[2].end})
plt.show()

# %% [markdown]
# The producer's bars are its items; the consumer's long bar is its wait, which ends
# just after the third item. The consumer was woken at each item, ran its test, and went
# back to sleep while the test was false. Checked from the spans:

# %%
(waiting,) = [span for span in spans if span.who == 1]
print("items made:", len(made))
print("the consumer stopped waiting only after the 3rd item:", waiting.end >= made[2].end)

# %% [markdown]
# Always call `wait_for` with the test rather than a bare `wait()`: a process can be woken
# when its test is still false (another consumer took the items first, or the producer
# notified for another reason), and `wait_for` looks again before it returns.
#
# ## 5. Barrier: wait until everybody is here
#
# A `Barrier(n)` is a meeting point for `n` processes: each that calls `wait()` sleeps
# until the `n`-th arrives, then all of them go on together. Use it when a phase of work
# must be finished by everybody before anyone starts the next (each process prepares part
# of a grid, then each reads its neighbours' parts). Notebook 02 used one as a starting
# line, so that its processes raced from the same moment even under the slow spawn start
# method.
#
# Three processes prepare for different times (0.05, 0.1 and 0.15 s: phase 1), meet at
# the barrier, then work for 0.05 s (phase 2). Both phases are spans.

# %%
def two_phases(meet, log, who):
    with log.span(who):
        time.sleep(0.05 * (who + 1))  # phase 1: some processes take longer
    meet.wait(60)  # nobody starts phase 2 before all have finished phase 1
    with log.span(who):
        time.sleep(0.05)  # phase 2


meet = ctx.Barrier(3)
phases = SpanLog()
run_all([(two_phases, (meet, phases, who)) for who in range(3)])

spans = phases.spans()
phase_1 = [min((s for s in spans if s.who == who), key=lambda s: s.start) for who in range(3)]
phase_2 = [span for span in spans if span not in phase_1]
last_arrival = max(span.end for span in phase_1)
plot_spans(spans, title="Barrier(3): phase 2 starts when the last process arrives",
           marks={"last arrival": last_arrival})
plt.show()

# %% [markdown]
# Processes 0 and 1 finished phase 1 early and waited at the barrier; all three started
# phase 2 together, after the slowest arrived. Checked from the spans:

# %%
print("phase 2 spans:", len(phase_2))
print("no phase 2 began before the last arrival:",
      all(span.start >= last_arrival for span in phase_2))

# %% [markdown]
# `wait(timeout)` raises `threading.BrokenBarrierError` if the others do not come in
# time, and breaks the barrier for everyone waiting, so that one process that died does
# not leave the others waiting for ever.
#
# ## 6. Two words from notebook 06
#
# All five primitives, like `multiprocessing.Lock`, are built on a **named semaphore** of
# the operating system: a counter kept by the kernel, which any process that knows its
# name could open. `multiprocessing` hides the name and only lets the primitive reach a
# child **by inheritance**: as an argument of `Process` (or a pool's `initializer`), so
# the child receives it as it starts. Passing one later, for example as a pool task's
# argument, raises `RuntimeError: ... should only be shared between processes through
# inheritance`. `procsync_teach.Lock` is a file, which any process can open by name, so
# it can go anywhere as an argument.

# %% [markdown]
# ## 7. Exercises
#
# ### Exercise 1: two at a time
#
# Write `polite_fetch(seats, log, who)`: it fetches one page by calling
# `fetch_one(log, who)` (which takes 0.3 s and records its span), but never more than two
# processes may fetch at the same moment. `seats` is a `Semaphore(2)` shared by all of
# them.
#
# The check runs your function in 4 processes at once and counts from the spans how many
# fetched at the same moment.

# %%
from procsync_teach.course.exercises.primitives import (
    check_polite_fetch,
    check_primitives,
    fetch_one,
)


def polite_fetch(seats, log, who):
    """Call fetch_one(log, who) once, with at most two processes fetching at a time."""
    ...  # your code


check_polite_fetch(polite_fetch)

# %% tags=["solution"]
def polite_fetch(seats, log, who):
    """Call fetch_one(log, who) once, with at most two processes fetching at a time."""
    with seats:  # take one of the two seats; a third process waits here for one
        fetch_one(log, who)


check_polite_fetch(polite_fetch)

# %% [markdown]
# ### Exercise 2: the right tool
#
# For each situation, name the primitive it needs: `"Lock"`, `"RLock"`, `"Semaphore"`,
# `"Event"`, `"Condition"` or `"Barrier"`.
#
# - **a.** At most 3 processes may talk to the licence server at the same time.
# - **b.** The workers must not start before the parent has loaded the model; then all go.
# - **c.** Every worker must finish step 1 of a simulation before any worker starts step 2.
# - **d.** A recursive function takes the lock of a tree node, and calls itself on the
#   same node.
# - **e.** A consumer must sleep until the shared buffer holds at least 10 items.

# %%
answers = {
    "a": ...,
    "b": ...,
    "c": ...,
    "d": ...,
    "e": ...,
}
check_primitives(answers)

# %% tags=["solution"]
answers = {
    "a": "Semaphore",  # a count of free places
    "b": "Event",  # one signal that stays on
    "c": "Barrier",  # a meeting point
    "d": "RLock",  # its holder may take it again
    "e": "Condition",  # sleep until a test on shared data is true
}
check_primitives(answers)

# %% [markdown]
# ## Key points
#
# - An `RLock` may be taken again by the process that holds it (a `Lock` would wait for
#   itself for ever); it is free once released as many times as acquired.
# - A `Semaphore(n)` lets at most `n` processes in at once: a lock with `n` tokens. Use it
#   to limit the use of something that cannot take more.
# - An `Event` is a signal that stays on: `set()`, `wait(timeout)`, `clear()`.
# - A `Condition` is a lock with a waiting room: change the data and `notify_all()` while
#   holding it; wait with `wait_for(test, timeout)`, which tests again after every wake-up.
# - A `Barrier(n)` holds everybody until all `n` have arrived: phases, starting lines.
# - `multiprocessing`'s primitives reach a child only by inheritance (`Process` arguments,
#   a pool's `initializer`); give every wait a timeout.
#
# **Next:** [12 · Threads and the GIL →](12_threads_and_the_gil.ipynb)
