# %% [markdown]
# # 12 · Processes, threads, asyncio and the GIL
#
# [← 11 · The other primitives](11_other_primitives.ipynb) |
# [course map](00_start_here.ipynb#The-course-map) |
# [next: 13 · Beyond one machine →](13_beyond_one_machine.ipynb)
#
# This whole course used processes. Python has two other ways to do several things at
# once: **threads**, which share one process and its memory, and **asyncio**, where one
# thread switches between tasks each time one of them waits. Threads are cheaper to start
# and share data without pickling, so why did we not use them? Because of the **GIL**,
# the *global interpreter lock*: in the usual CPython, only one thread at a time runs
# Python code. This notebook measures what that means, and when threads and asyncio are
# the right tool after all.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# - measure CPU-bound work on threads against processes, fairly (repeat, take the best,
#   compare with a plain loop);
# - explain with the GIL why threads do not speed up pure-Python computation, and why they
#   do speed up waiting;
# - run many waits at once with `asyncio`;
# - choose between processes, threads and asyncio for a job;
# - say what a free-threaded build of Python (3.13t, 3.14t) changes, and find out which
#   build you run.

# %% [markdown]
# ## 1. Measuring fairly
#
# Timings are noisy: another program, or another notebook, may take the processor for a
# moment. Three rules keep a comparison honest:
#
# - **repeat** each measurement: one run says little;
# - compare against a **baseline**, the same work done by a plain loop, **taking turns**
#   with it (plain, threads, processes, plain, threads, ...), so that a busy moment of the
#   machine falls on neighbouring runs alike. A speed-up is then the plain run's time
#   divided by its neighbour's, and of the 5 rounds we keep the **median**: one lucky or
#   unlucky round cannot move it. (For the chart we show each way's best time: noise only
#   ever makes a run slower.)
# - print only conclusions with a wide margin, in words, never the raw numbers (they
#   differ on every machine).

# %%
import statistics
import threading
import time

import matplotlib.pyplot as plt

from procsync_teach import Pool, now
from procsync_teach.course.plots import subplots

REPEATS = 5


def take_turns(runs):
    """Run each of runs (a dict of name: function) REPEATS times, taking turns; return the
    times of each, in seconds, round by round."""
    times = {name: [] for name in runs}
    for _ in range(REPEATS):
        for name, run in runs.items():
            began = now()
            run()
            times[name].append(now() - began)
    return times


def speed_up(times, how):
    """How many times faster than the plain loop: the median over the rounds."""
    return statistics.median(plain / other for plain, other in zip(times["plain loop"],
                                                                    times[how]))


def in_threads(function, arguments):
    """Call function(argument) for each argument, each in its own thread; wait for all."""
    threads = [threading.Thread(target=function, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

# %% [markdown]
# ## 2. CPU-bound work: threads against processes
#
# `spin(n)` adds up `n` numbers in a Python loop: pure computation, no waiting. The job is
# two halves of 2 million each. We time it three ways:
#
# - **plain loop**: one half after the other, in the notebook's own thread (the baseline);
# - **2 threads**: one half each;
# - **2 processes**: one half each, in a `Pool(2)` started beforehand (so that starting
#   the processes is not timed).

# %%
HALF = 2_000_000


def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total


with Pool(2) as pool:
    pool.map(spin, [1, 1], chunksize=1)  # both workers up and ready before we time
    cpu = take_turns({
        "plain loop": lambda: [spin(HALF) for _ in range(2)],
        "2 threads": lambda: in_threads(spin, [HALF, HALF]),
        "2 processes": lambda: pool.map(spin, [HALF, HALF], chunksize=1),
    })
    last_two = pool.records()[-2:]  # the two halves of the last run on processes

# %% [markdown]
# ## 3. I/O-bound work: waiting
#
# `wait_for_server(seconds)` stands for a download, a database query, a file on a network
# drive: the program waits for something outside and computes nothing (`time.sleep`). Eight
# waits of 0.05 s, in a plain loop and in 8 threads.

# %%
WAITS = [0.05] * 8


def wait_for_server(seconds):
    time.sleep(seconds)  # like waiting for a reply: this thread lets go of the GIL


io = take_turns({
    "plain loop": lambda: [wait_for_server(s) for s in WAITS],
    "8 threads": lambda: in_threads(wait_for_server, WAITS),
})

fig, (left, right) = subplots(1, 2, height=3.2)  # the course's width, or the projector's
for ax, results, title in ((left, cpu, "CPU-bound: 2 × 2 million additions"),
                           (right, io, "I/O-bound: 8 waits of 0.05 s")):
    ax.bar(list(results), [min(times) for times in results.values()],
           color=["grey", "tab:orange", "tab:blue"][:len(results)])
    ax.set_ylabel(f"time (s), best of {REPEATS}")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
plt.show()

# %% [markdown]
# Left: the threads take about as long as the plain loop. The processes take about half
# as long, **if** the machine has 2 cores free for them; on a busy machine (a shared
# server, a laptop compiling something) they get less, and the chart shows what this run
# got. Right: for waiting, the threads win by far: the 8 waits happened at the same time.
#
# On a busy machine the left chart can even show the threads a little ahead of the plain
# loop: the operating system favours a program whose threads keep waking up, and gives
# it a larger share of the busy processor. Wall-clock time cannot tell us whether the
# threads computed side by side. Processor time can: `time.thread_time()` counts the
# processor time one thread used. If the two threads never computed at the same moment,
# their processor times add up to no more than the time the run took, however busy the
# machine; side by side, they would add up to nearly twice as much. That is the check for
# "no speed-up" below; the other claims hold with wide margins too. (Windows counts a
# thread's processor time in steps of the clock's tick, 1/64 s: each thread's count may be
# up to one step off, and the check allows for that there.)

# %%
import sys


def spin_and_count(n, cpu_times):
    """spin(n), then note how much processor time this thread used for it."""
    began = time.thread_time()
    spin(n)
    cpu_times.append(time.thread_time() - began)


cpu_times = []
began = now()
in_threads(lambda n: spin_and_count(n, cpu_times), [HALF, HALF])
took = now() - began
# Windows counts thread time in clock ticks of 1/64 s; elsewhere in nanoseconds.
tick = 1 / 64 if sys.platform == "win32" else 0
one_at_a_time = sum(cpu_times) < 1.1 * took + 2 * tick  # side by side: near 2 × took

gil = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
if gil:
    print("the 2 threads computed one at a time:", one_at_a_time)
    print("so threads gave no speed-up on CPU-bound work:", one_at_a_time)
else:  # a free-threaded build (section 6): threads may compute side by side
    print("this build has no GIL: its threads may compute at the same moment")
first, second = last_two
print("the 2 processes computed at the same time:", first.worker != second.worker
      and first.started < second.finished and second.started < first.finished)
print("threads gave a speed-up on I/O-bound work:", speed_up(io, "8 threads") > 2)

# %% [markdown]
# ## 4. Why: the GIL
#
# CPython keeps each object's reference count and its own internal tables without locks
# of their own; instead, one lock protects the whole interpreter. A thread must hold this
# **global interpreter lock** to run Python bytecode. Two threads that compute take turns
# at it (the holder is asked to let go every 5 ms), so together they compute no faster than
# one. The turns cost a little, which is why the threads can even be slower than the
# plain loop.
#
# A thread lets go of the GIL whenever it waits: `time.sleep`, reading a socket or a file,
# waiting for a lock or a `Queue`. Then another thread runs. That is why 8 threads that
# mostly wait finish 8 waits in the time of one. Many C extensions (NumPy's big array
# operations, hashing, compression) let go of it too while they compute, so threads can
# speed those up.
#
# Processes each have their own interpreter and their own GIL, which is why this course
# used them for computation. The price: starting them, and pickling every argument and
# result across (notebooks 05 and 10).
#
# ## 5. asyncio: many waits in one thread
#
# `asyncio` goes one step further for waiting. Functions written with `async def` are
# *coroutines*; at each `await` the coroutine says "I am waiting, run someone else", and
# one thread, the *event loop*, switches between thousands of them. No thread is started
# per task, and switches happen only at an `await`, so no lock is needed between two
# `await`s. Jupyter runs an event loop already, so a cell can use `await` directly.

# %%
import asyncio


async def ask_server(number):
    await asyncio.sleep(0.1)  # waiting for the reply: the loop runs the other coroutines
    return number * number


began = now()
replies = await asyncio.gather(*(ask_server(n) for n in range(100)))
took = now() - began
print("replies:", replies[:5], "...", len(replies), "in all, in order")
print("the 100 waits took less than a second, in one thread:", took < 1)

# %% [markdown]
# The catch: every function on the way must be written for `asyncio` (an `async`
# library for HTTP, for databases). One call to a blocking function, or one long
# computation, between two `await`s stops **all** the coroutines until it returns.
#
# | the job | pick | because |
# |---|---|---|
# | computation in pure Python | **processes** (`Pool`, `ProcessPoolExecutor`) | each has its own GIL |
# | waiting, with ordinary (blocking) libraries | **threads** (`ThreadPoolExecutor`) | a waiting thread lets go of the GIL; no pickling |
# | thousands of waits, with `async` libraries | **asyncio** | one thread, no thread per task |
# | computation in NumPy and other C code that lets go of the GIL | threads can do | the C code runs outside the GIL |
#
# ## 6. Free-threaded Python (3.13t, 3.14t)
#
# Since Python 3.13 there is a second build of CPython, the *free-threaded* one (installed
# as `python3.13t`, `python3.14t`), that has no GIL: its objects protect themselves with
# finer locks, and threads that compute can run on several cores at once. On such a
# build, the left chart above would show threads as fast as processes, without pickling.
# It is optional (the usual build keeps the GIL), single-threaded code runs somewhat
# slower on it, and C extensions must be built for it, or they turn the GIL back on.
# Processes stay the tool for isolation (a crash or a leak stays in its worker), for
# killing a task, and for going beyond one machine (notebook 13).
#
# Which build is this? `sys._is_gil_enabled()` exists from 3.13 on; before, every build
# had the GIL. `Py_GIL_DISABLED` says whether the build is the free-threaded one (on it,
# the GIL can still be turned back on, with `PYTHON_GIL=1`).

# %%
import sysconfig

free_threaded_build = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
print("free-threaded build:", free_threaded_build)
print("the GIL is on:", gil)
print("so threads can compute in parallel here:", not gil)

# %% [markdown]
# ## 7. Exercises
#
# ### Exercise 1: the right tool
#
# For each job, pick `"processes"`, `"threads"` or `"asyncio"` (on the usual build, with
# the GIL).
#
# - **a.** Resize 2 000 photos with a pure-Python image routine.
# - **b.** Download 50 web pages with `requests`, a library that blocks while it waits.
# - **c.** A chat server holding 10 000 connections that are idle most of the time,
#   written with an `async` networking library.
# - **d.** Parse 300 large JSON files that are already on the local disk, with a
#   pure-Python parser.

# %%
from procsync_teach.course.exercises.gil import check_fetch_all, check_tools, fake_download

answers = {
    "a": ...,
    "b": ...,
    "c": ...,
    "d": ...,
}
check_tools(answers)

# %% tags=["solution"]
answers = {
    "a": "processes",  # computation in Python: each process has its own GIL
    "b": "threads",  # waiting, with a blocking library
    "c": "asyncio",  # thousands of waits, with an async library
    "d": "processes",  # parsing is computation, not waiting
}
check_tools(answers)

# %% [markdown]
# ### Exercise 2: downloads side by side
#
# `fake_download(url)` waits 0.1 s, like a slow server, and returns the page's length.
# Write `fetch_all(urls)`: it returns `[fake_download(url) for url in urls]`, in the
# order of `urls`, but with all the downloads waiting **at the same time**, in threads.
# `concurrent.futures.ThreadPoolExecutor` has the same `map` as a `Pool`; or use
# `threading.Thread` and keep the results yourself.
#
# The check calls your function with 8 urls, and counts how many downloads were waiting
# at the same moment.

# %%
def fetch_all(urls):
    """fake_download each url, all at once in threads; return the results in order."""
    ...  # your code


check_fetch_all(fetch_all)

# %% tags=["solution"]
from concurrent.futures import ThreadPoolExecutor


def fetch_all(urls):
    """fake_download each url, all at once in threads; return the results in order."""
    with ThreadPoolExecutor(max_workers=len(urls)) as threads:
        return list(threads.map(fake_download, urls))  # map keeps the order of urls


check_fetch_all(fetch_all)

# %% [markdown]
# ## Key points
#
# - Measure fairly: repeat, keep the best time, compare with a plain loop measured the same
#   way; state conclusions in words, with a wide margin.
# - In the usual CPython, the GIL lets one thread at a time run Python code: threads do
#   not speed up pure-Python computation; processes do, each with its own interpreter.
# - A thread lets go of the GIL while it waits (sleep, network, disk, locks), so threads
#   do speed up waiting, and share memory without pickling.
# - `asyncio` runs thousands of waits in one thread, switching at each `await`; everything
#   on the way must be `async`, and one blocking call stops them all.
# - Free-threaded builds (3.13t, 3.14t) have no GIL: there, threads can compute in
#   parallel. `sys._is_gil_enabled()` (3.13+) tells which you run.
#
# **Next:** [13 · Beyond one machine →](13_beyond_one_machine.ipynb)
