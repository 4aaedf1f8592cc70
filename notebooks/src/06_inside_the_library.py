# %% [markdown]
# # 06 · Inside the library: how our Lock and Pool work
#
# [← 05 · Chunksize and speed-up](05_chunksize_and_speedup.ipynb) | [course map](00_start_here.ipynb#The-course-map) |
# [next: 07 · Pitfalls →](07_pitfalls.ipynb)
#
# So far you have used `procsync_teach`'s `Lock` and `Pool` as black boxes. This notebook
# opens them. They are short on purpose: a few hundred lines you can read top to bottom.
# We read the parts that matter, then test what they promise by breaking things on purpose:
# we kill a worker in the middle of a task, and send a function defined in this notebook
# to a freshly spawned interpreter.
#
# **Learning objectives.** By the end you can:
#
# - find, in the source, the thread and the data structures that run a pool;
# - say how our `Pool` and `Lock` differ from `multiprocessing`'s, and what each
#   difference buys;
# - read a pool's state from `repr(pool)` and `pool.records()`;
# - show that a worker killed mid-task fails only its own task with `WorkerDied`, while
#   `multiprocessing.Pool` leaves `get()` waiting forever;
# - explain why a function defined in a notebook breaks `multiprocessing.Pool` under
#   spawn, and what cloudpickle does about it.

# %% [markdown]
# ## Setup
#
# `show(function)` prints a function's source, exactly as it is in the library
# (`inspect.getsource`). In Jupyter, `Pool??` shows a whole class the same way.
# `sign_in_and_sleep` and `signed_in` are two small helpers for the experiments below;
# they live in a module (`procsync_teach.course.sign_in`), not in this notebook, for a reason
# that section 9 makes clear.

# %%
import inspect
import multiprocessing
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time

import cloudpickle
import matplotlib.pyplot as plt
import psutil

import procsync_teach
from procsync_teach import Lock, Pool, WorkerDied, start_method
from procsync_teach.course.child_output import child_environment, error_line
from procsync_teach.course.exercises.inside import (
    check_lost_task_error,
    check_reading,
    children_stderr,
)
from procsync_teach.course.plots import plot_task_timeline
from procsync_teach.course.sign_in import sign_in_and_sleep, signed_in


def show(function):
    """Print the source of a function or class, as the library has it."""
    print(inspect.getsource(function))


def square(x):
    return x * x


def slow_square(x):
    time.sleep(0.02)  # long enough to show on a timeline
    return x * x


# %% [markdown]
# ## 1. The map: the first lines of `pool.py`
#
# Every module of `procsync_teach` opens with a docstring that says how it works.
# `pool.py` opens with a picture of where a task travels:

# %%
print(procsync_teach.pool.__doc__.split("What happens on")[0])

# %% [markdown]
# Read it with three questions in mind, then open the answers.
#
# 1. Which arrows cross from one process to another?
# 2. How many threads does a pool add to *your* process?
# 3. What does the dispatcher learn from a worker's *sentinel*?
#
# <details><summary>Answers</summary>
#
# 1. Only the pipes: one per worker, used in both directions. Everything left of them
#    (the waiting queue, the `AsyncResult`s) lives in your process.
# 2. Two: the dispatcher, and the callback thread that runs your callbacks (plus one
#    for each `imap` while it reads its input). Your thread only pickles the job,
#    queues it and wakes the dispatcher up.
# 3. That the worker process has ended, however it ended. A sentinel is a handle the
#    operating system makes "ready" when the process exits, even after `kill -9`.
#
# </details>

# %% [markdown]
# ## 2. One lap of the dispatcher
#
# The `Pool` you hold is only a handle: the pool's threads hold its inside, a
# `_Dispatcher` (so that a pool you forget to close can be collected). The dispatcher
# thread calls `_dispatch_round` again and again until it returns False. Here is one lap:

# %%
Dispatcher = procsync_teach.pool._Dispatcher
show(Dispatcher._dispatch_round)

# %% [markdown]
# What to notice:
#
# - `wait([...])` is the only place the dispatcher blocks, and it waits for three kinds
#   of event at once: the wake-up pipe (a caller submitted work, or closed the pool), a
#   reply on some worker's pipe, a worker's sentinel. Whatever happens first wakes it.
# - Replies are read before deaths: a worker can send its last reply and exit in the same
#   instant, and that reply must not be lost.
# - The loop ends on `TERMINATE` (and `BROKEN`: a pool that cannot go on) at once, and on
#   `CLOSE` only once nothing waits, no worker is busy and no `imap` still reads its input.
#
# How does a job reach a worker? At the top of every lap the dispatcher gives a waiting
# job to each idle worker, and writes it down in that worker's list of jobs **before**
# anything is sent: the pool knows which jobs each worker holds, in order. A worker
# answers its jobs in the order it got them, so the oldest job it holds is the one it is
# running. That is what later lets the pool say *which* task was lost.
#
# (For tasks that take microseconds, the dispatcher also lines a few jobs up behind a busy
# worker. That, and the other speed tricks, are in the optional
# [14 · Deep dive: the dispatcher](14_deep_dive_the_dispatcher.ipynb).)

# %% [markdown]
# ## 3. A worker's life
#
# This function is all a worker process does, from start to exit (from `worker.py`):

# %%
show(procsync_teach.worker.run_worker)

# %% [markdown]
# Questions to read it with:
#
# - How many messages does a worker send back per job? (Look at the `while` loop.)
# - Name three ways a worker's loop can end.
# - Why would a worker ignore Ctrl-C (`SIGINT`)? (The module docstring of `worker.py`
#   says: Ctrl-C signals every process of the group; only the parent should react.)
#
# <details><summary>Answers</summary>
#
# Exactly one reply per job: a message may bring several jobs, and the `for` loop sends
# `connection.send_bytes(_run_job(...))` for each, as soon as it ends. `_run_job` never
# raises, so even a failing task gets its reply `(ok=False, error)`. The loop ends
# on the `STOP` message, when the pipe reports end-of-file (the pool is gone), or after
# `max_jobs` jobs (`maxtasksperchild`).
#
# </details>

# %% [markdown]
# ## 4. When a worker dies
#
# When a worker's sentinel fires, the dispatcher calls `_replace` for that worker:

# %%
show(Dispatcher._replace)

# %% [markdown]
# It reads a last reply if one is waiting, collects the exit code (on Linux and macOS,
# negative means killed by that signal: `-9` is `SIGKILL`; Windows has no signals, and a
# killed process has whatever exit code its killer gave it), settles the lost job with `WorkerDied`, and starts a
# new worker *in the same slot*, so timelines keep one lane per slot. We will watch it
# happen in section 8.

# %% [markdown]
# ## 5. The Lock: a file that the kernel locks
#
# `Lock` has no thread and no pipe. Acquiring it asks the operating system for an
# exclusive lock on a small file (`flock`). These are the only lines of `lock.py` that
# talk to the kernel, and what a `Lock` becomes when it is pickled. (On Windows, `lock.py`
# asks with `msvcrt.locking` instead, and its `_wait_lock_file` asks again and again:
# Windows' blocking lock gives up after 10 seconds.)

# %%
show(procsync_teach.lock._try_lock_file)
show(procsync_teach.lock._wait_lock_file)
show(Lock.__getstate__)

# %% [markdown]
# - `acquire()` first asks without waiting (`LOCK_NB`: "non-blocking"), a few times in a
#   row: most holds last microseconds. If it must wait and has no timeout, it sleeps in
#   the kernel (`_wait_lock_file`) until the holder lets go. The kernel's wait cannot be
#   given a timeout, so with a timeout a thread of its own waits in the kernel, and
#   `acquire` stops watching it at the deadline: asking again and again instead would
#   miss the moments the lock is free.
# - The kernel drops a process's file locks when that process ends, however it ends. A
#   holder killed by `kill -9` cannot leave everyone else waiting.
# - A `Lock` pickles as the *names* of its files (the lock file, and the trace file if
#   it has one), so it can travel as an ordinary argument of a pool task; each process
#   opens the file for itself on first use. Once pickled, a copy may be anywhere, even
#   unread in a pipe, so `_files.shared()` keeps the files until the process that made
#   the `Lock` ends: `Pool(initializer=init, initargs=(Lock(),))` works although nothing
#   else refers to that `Lock`.

# %% [markdown]
# ## 6. What differs from `multiprocessing`, and why
#
# | | `multiprocessing` | `procsync_teach` | what it buys |
# |---|---|---|---|
# | jobs to workers | one task queue shared by all workers; idle workers compete for it under a shared lock | one pipe per worker; the dispatcher picks the worker | the pool knows which job each worker holds |
# | results back | one result queue shared by all workers | the same pipe, back | a reply's pipe says who sent it |
# | threads in your process | three: worker handler, task handler, result handler | two: the dispatcher, and a thread for callbacks | all the workers' state in one place, read by one thread |
# | worker killed mid-task | that task's `get()` waits forever | `WorkerDied`; a new worker takes the slot | no hang |
# | workers cannot start (an initializer that fails, a main module that fails on import) | new workers are started for ever; `get()` waits forever | the pool breaks: `PoolBroken` says why | no hang |
# | `terminate()` | pending results never settle | each fails with `PoolTerminated` | no hang |
# | `Lock` | a named semaphore with no owner; stays locked if its holder dies; children get it only by inheritance | a file locked with `flock`; the kernel frees it when the holder dies; pickles as its path | no hang; pass it to any task |
# | functions sent | pickled *by name*; under spawn and forkserver a notebook function cannot be found | *by name* where the worker has that very object, *by value* with cloudpickle where it cannot | notebook functions work everywhere; classes keep their identity |
# | cost | a lock acquire is often no system call | a system call per acquire and release | (the price) |
#
# Two words in the table need explaining. A **named semaphore** is a counter kept by the
# operating system under a name (`/mp-k3x9...`), which any process that knows the name can
# open: `multiprocessing.Lock` is one with the value 1 ("free"), and `acquire()` lowers it
# to 0. Nothing in it records *who* lowered it, so when its holder dies, nobody can know
# that it should go back up. **By inheritance** means that a child receives the object as
# it is being started (as an argument of `Process`, or through a pool's `initializer`),
# not later: `multiprocessing` refuses to pickle its lock in any other message, so it
# cannot be an argument of a pool task. Notebook 11 shows the other primitives built the
# same way.
#
# The thread count is easy to check:

# %%
def new_threads(before):
    """Threads running now that were not running before (older ones may come and go)."""
    return len(set(threading.enumerate()) - before)


before = set(threading.enumerate())
with Pool(2) as pool:
    print("threads our Pool adds:            ", new_threads(before))
with multiprocessing.get_context(start_method()).Pool(2) as pool:
    print("threads multiprocessing.Pool adds:", new_threads(before))

# %% [markdown]
# ## 7. A live look at the dispatcher
#
# `repr(pool)` shows the pool's state as the dispatcher sees it: its lifecycle (`RUN`,
# `CLOSE`, `TERMINATE`, or `BROKEN` with the reason), how many workers hold a job
# (`busy`) and how many jobs wait for one; once every worker has exited, it says
# `ended`. `pool.statistics()` gives the same numbers as a record. First a quick `map`
# and a look before and after:

# %%
with Pool(2) as pool:
    print("new:       ", pool)
    print(pool.map(square, range(10)))
    records = pool.records()
print("after with:", pool)

# %% [markdown]
# Leaving the `with` block called `terminate()`, which waits for the workers to exit:
# the pool has ended. On the way, the pool kept one
# `TaskRecord` per job, the raw material of the course's timelines:
#
# | field | meaning |
# |---|---|
# | `task` | the job's number in this pool (a `map` chunk is one job) |
# | `worker` | the slot that ran it: 0 or 1 here; a replacement keeps the slot |
# | `pid` | the worker process that ran it |
# | `calls` | how many function calls the job held: the chunk's size |
# | `submitted`, `started`, `finished` | times on the clock all processes share |
# | `outcome` | `"ok"`, `"error"`, `"worker died"` or `"terminated"` |
#
# Times, pids and which worker took which chunk change from run to run, so we print only
# what does not: the chunks and their outcomes. (Ten items on two workers: `map` aims at
# four chunks per worker, so chunks of two.)

# %%
for record in sorted(records):  # sorted by task number
    print(f"task {record.task}: {record.calls} calls, {record.outcome}")
print("calls in all:", sum(record.calls for record in records))
print("every job ran in slot 0 or 1:", {record.worker for record in records} <= {0, 1})

# %% [markdown]
# Now catch the dispatcher while it is busy. `sign_in_and_sleep(folder, seconds)` writes
# its worker's pid into `folder`, then sleeps; `signed_in(folder, count)` waits until
# `count` tasks have signed in. Three long tasks on two workers: two run, one waits.

# %%
with tempfile.TemporaryDirectory() as folder, Pool(2) as pool:
    results = [pool.apply_async(sign_in_and_sleep, (folder, 60)) for _ in range(3)]
    signed_in(folder, count=2)  # both workers have started a task
    time.sleep(0.1)  # and the dispatcher has had a moment to write down who runs what
    print("busy:      ", pool)
    pool.close()
    print("closed:    ", pool)
    pool.terminate()
    print("terminated:", pool)
for result in results:
    try:
        result.get(timeout=5)
    except Exception as error:
        print(f"{type(error).__name__}: {error}")

# %% [markdown]
# `close()` only changed the state: the two tasks kept running and the third kept its
# place in the queue. `terminate()` stopped the workers, and `_fail_unfinished` settled
# every result, so none of the three `get()` calls could wait forever.

# %% [markdown]
# ## 8. Kill a worker in the middle of a task
#
# Section 4 promised that a dead worker costs only its own task. Let us check. The task
# signs in with its pid, and we kill that process with `psutil.Process(pid).kill()`. On
# Linux and macOS that sends `SIGKILL`, the signal the out-of-memory killer sends, which
# no process can catch or ignore; on Windows it calls `TerminateProcess`, just as final.
# (The message below holds the dead worker's pid, which the course's tests replace with
# `<pid>`, and its slot, which we print as `<slot>`: the task goes to whichever worker was
# ready first, and that changes from run to run. On Windows the exit code is not `-9`:
# there are no signals there.)

# %%
with tempfile.TemporaryDirectory() as folder, Pool(2) as pool:
    lost = pool.apply_async(sign_in_and_sleep, (folder, 60))
    [pid] = signed_in(folder)  # the worker that runs our task
    psutil.Process(pid).kill()
    started = time.perf_counter()
    try:
        lost.get(timeout=5)
    except WorkerDied as error:
        waited = time.perf_counter() - started
        died = error  # `error` itself is forgotten at the end of the except block
        print(f"{type(error).__name__}: {error}".replace(f"worker {died.worker} ", "worker <slot> "))
    print("answered in less than a second:", waited < 1)
    print("slot 0 or 1:", died.worker in (0, 1), "| exit code:", died.exitcode)
    print(pool.map(slow_square, range(10)))  # the pool serves on, with a new worker in that slot
    print(pool)
    records = pool.records()

# %% [markdown]
# The pool answered at once, named the slot, the signal and the task, put a new worker
# in the same slot and went on: the `map` afterwards is complete and correct. The timeline
# shows the lost task hatched, in the lane of the slot it died in, then the `map`'s
# chunks. (Under spawn the new worker takes a moment to start, so the other may run most
# of them.)

# %%
plot_task_timeline(records, title="Task 0 was lost when its worker was killed")
plt.show()

# %% [markdown]
# ## 9. The same kill, with `multiprocessing.Pool`
#
# Now the standard library's pool, with the same start method and the same task. This
# is why the helpers live in a module: `multiprocessing.Pool` sends a function by name,
# so its workers must be able to import it (section 10 shows what happens otherwise).
# We ask with a timeout, because without one `get()` would never return.

# %%
stdlib = multiprocessing.get_context(start_method())  # the method our pools use
with tempfile.TemporaryDirectory() as folder, stdlib.Pool(2) as pool:
    lost = pool.apply_async(sign_in_and_sleep, (folder, 60))
    [pid] = signed_in(folder)
    psutil.Process(pid).kill()
    try:
        lost.get(timeout=1)
    except multiprocessing.TimeoutError as error:
        print("get(timeout=1) raised", type(error).__name__)
    print("the pool still serves other tasks:", pool.apply_async(abs, (-3,)).get(timeout=10))
print("after terminate(), is the lost task ready?", lost.ready())

# %% [markdown]
# `multiprocessing.Pool` replaced the dead worker too, but it had no record of which
# job that worker held: the job left the shared queue when the worker took it, and the
# result queue never hears of it again. Its `get()` waits forever, even after
# `terminate()`.
#
# ⚠️ Do not try this with an *idle* worker. An idle `multiprocessing` worker waits on
# the shared task queue while holding that queue's lock; killed, it never releases it,
# and every later task, and `terminate()` itself, hang. Our pool has no shared queue,
# so it has no such lock to lose.

# %% [markdown]
# ## 10. A function from this notebook, under spawn
#
# `cube` below lives only in this notebook. A spawned worker is a new interpreter that
# never ran this notebook's cells. Spawn is the default start method on macOS and
# Windows (and forkserver, which behaves the same here, is Linux's from Python 3.14),
# so this is the common case, not a corner. Our pool does not mind:

# %%
def cube(x):
    return x**3


with Pool(2, context="spawn") as pool:
    print(pool.map(cube, range(6)))

# %% [markdown]
# `multiprocessing.Pool` does mind. Its workers die trying to unpickle the job, the
# pool starts new ones, which die too, and `map` never finishes. A worker writes its
# error message to its standard error, which Jupyter sends to the server's log or to
# whichever cell happens to run, depending on the setup; `children_stderr()` catches it
# in a file instead, so that we can read it here. Every worker writes the same error;
# we print the first, without the end of the line, which describes the module
# `__main__` differently from one Python version to the next. (On Windows a spawned
# worker inherits no descriptors at all, so `children_stderr()` also tells each Python
# process started in the block, through its environment, to write a file of its own,
# which it reads with that file, in the order written.)

# %%
with children_stderr() as worker_errors:
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        cubes = pool.map_async(cube, range(6))
        worker_errors.wait_for("AttributeError")  # until a worker has failed
        try:
            cubes.get(timeout=1)
        except multiprocessing.TimeoutError as error:
            print("map_async(...).get(timeout=1) raised", type(error).__name__)
print("A worker wrote:", error_line(worker_errors.lines, "AttributeError"))

# %% [markdown]
# ## 11. What cloudpickle does
#
# Why does one pool find `cube` and the other not? The standard `pickle` writes a
# function as a reference: a module name and a function name. Here is all of it:

# %%
by_name = pickle.dumps(cube)
by_value = cloudpickle.dumps(cube)
print(by_name)
print("cloudpickle's is more than ten times bigger:", len(by_value) > 10 * len(by_name))
print("it holds cube's bytecode:", cube.__code__.co_code in by_value)

# %% [markdown]
# `cloudpickle` writes the function itself: its bytecode, constants, argument names and
# the globals it uses. Unpickle both in a fresh interpreter, as a spawned worker would,
# and call the result with 3:

# %%
def call_in_fresh_python(pickled):
    """Unpickle a function in a new interpreter and call it with 3; return what it said."""
    code = "import pickle, sys; f = pickle.loads(sys.stdin.buffer.read()); print(f(3))"
    run = subprocess.run([sys.executable, "-c", code], input=pickled, capture_output=True,
                         env=child_environment(), timeout=30)
    return run.stdout.decode().strip() or error_line(run.stderr.decode(), "AttributeError")


print("pickle:     ", call_in_fresh_python(by_name))
print("cloudpickle:", call_in_fresh_python(by_value))

# %% [markdown]
# That `AttributeError` is the one the spawned workers wrote in section 10. Functions
# from importable modules (`abs`, `sign_in_and_sleep`) still travel by name, with
# cloudpickle too: it sends by value only what a new interpreter could not import.
#
# cloudpickle is written in Python, and costs a few microseconds more per message than
# the standard `pickle`, written in C. And by value, a worker gets a *copy*: a class sent
# by value is a second class there (an Enum member stops being a dict key it knows), and
# a large global is copied into every worker instead of shared. So our pool sends a
# function by value only where the worker cannot find that very object by name. The rule,
# in two sentences, from the header of `procsync_teach/pickling.py` (a module off the
# reading path):
#
# > What your main program defines goes **by reference**, exactly as in
# > `multiprocessing`, wherever the worker already has that very object: a script's
# > top-level functions, classes and Enums (spawn and forkserver import the script
# > again), and under fork whatever existed when the pool started and has not been
# > rebound since. Anything else (notebook cells under spawn and forkserver, what you
# > defined or rebound after the pool started, lambdas, closures, decorated helpers) goes
# > **by value**, with your globals as they are at the call, except a name the worker
# > assigned itself (an initializer's `global`), which wins.
#
# Each pool has a `FunctionPickles` that makes the choice. Ask one made now, for a pool
# started by fork, about a function that existed before it and one defined after:

# %%
from procsync_teach.pickling import FunctionPickles


def defined_before(x):
    return x


fork_pool_pickles = FunctionPickles("fork")  # what a pool forked now would note


def defined_after(x):
    return x


for function in (defined_before, defined_after):
    why_not = fork_pool_pickles.why_not_by_reference(function)
    print(f"{function.__name__}: {'by value: ' + why_not if why_not else 'by reference'}")

# %% [markdown]
# By value, a worker first sets the globals the function reads to your notebook's values
# of the moment of the call (and deletes one you deleted). A name that the worker itself
# assigned stays: an initializer that stores a value with `global` is read by the tasks,
# as in `multiprocessing`:

# %%
SHARED = None


def remember(value):
    global SHARED
    SHARED = value


def add_shared(i):
    return SHARED + i


with Pool(2, initializer=remember, initargs=(10,)) as pool:
    print(pool.map(add_shared, range(3)))

# %% [markdown]
# And a global you rebind between two calls reaches every task of the next call, on every
# worker: no task of one `map` sees an older value than another.

# %%
RATE = 1


def charge(amount):
    return amount * RATE


with Pool(2) as pool:
    print(pool.map(charge, [1, 2, 3, 4], chunksize=1))
    RATE = 10
    print(pool.map(charge, [1, 2, 3, 4], chunksize=1))

# %% [markdown]
# The pool pickles each function once per version, however many calls you make, and each
# large global it reads once per version, which a worker unpickles once; where neither
# way can work (a notebook function that uses a thread lock, under spawn), the call
# raises `PicklingError` at once, saying why and what to do.

# %% [markdown]
# ## Exercise 1: read the source
#
# Answer from the source shown above (or open more of it with `Pool??`):
#
# 1. Which thread runs the `callback` you give to `apply_async`: `"caller"` (the thread
#    that called `apply_async`), `"dispatcher"` or `"callbacks"`? The cell below prints
#    the path a worker's reply takes through the library, one method after the other,
#    from the method that waits on the pipes to the one that calls your callback.
# 2. A `map` cut its items into 8 chunks. How many replies do the workers send back in
#    all?
# 3. Which method of the pool's `_Dispatcher` waits on the workers' sentinels and calls
#    `_replace`? Give its name as a string.

# %%
from procsync_teach.course.exercises.inside import reply_path

path = reply_path()
print(" → ".join(method.__qualname__ for method in path))
for method in path[1:]:  # the first one, the dispatcher's lap, is in section 2
    print()
    show(method)

# %%
callback_thread = ...  # "caller", "dispatcher" or "callbacks"
replies_for_map = ...  # a number
sentinel_watcher = ...  # a method name, such as "_settle"

check_reading(callback_thread, replies_for_map, sentinel_watcher)

# %% tags=["solution"]
callback_thread = "callbacks"  # _settle puts the result on _callbacks; _run_callbacks runs it
replies_for_map = 8  # one reply per job, and a chunk is one job
sentinel_watcher = "_dispatch_round"

check_reading(callback_thread, replies_for_map, sentinel_watcher)

# %% [markdown]
# ## Exercise 2: lose a task on purpose
#
# Write `lost_task_error(pool)`: submit `sign_in_and_sleep` to `pool`, wait until it
# signs in, kill the worker that runs it, and return the **type** of the exception that
# `get()` raises (give `get()` a timeout of a few seconds). The check hands your function
# a fresh pool, and also makes sure a worker really died and the pool still serves.

# %%
def lost_task_error(pool):
    ...


check_lost_task_error(lost_task_error)

# %% tags=["solution"]
def lost_task_error(pool):
    with tempfile.TemporaryDirectory() as folder:
        result = pool.apply_async(sign_in_and_sleep, (folder, 60))
        [pid] = signed_in(folder)
        psutil.Process(pid).kill()
        try:
            result.get(timeout=5)
        except Exception as error:
            return type(error)


check_lost_task_error(lost_task_error)

# %% [markdown]
# ## Key points
#
# - Our `Pool` is one dispatcher thread and one pipe per worker. The dispatcher alone
#   hands out jobs, reads replies and watches sentinels, so it always knows which worker
#   holds which job. Callbacks run on a thread of their own, so a slow one never idles
#   the workers.
# - A worker answers every job with exactly one reply `(ok, value)`; a job is one
#   `apply` call or one `map` chunk.
# - A worker killed mid-task fails only its task, with `WorkerDied`, and is replaced.
#   `multiprocessing.Pool` loses the task silently: its `get()` waits forever, so always
#   give `get()` a timeout there.
# - `repr(pool)` shows the lifecycle state and the busy and waiting counts (and why, if
#   the pool is `BROKEN`);
#   `pool.records()` tells who ran each job, when, and how it ended.
# - Our `Lock` is a file locked by the kernel, which frees it when its holder dies; it
#   travels as a file name.
# - `pickle` sends functions by name, which a spawned worker cannot resolve for a
#   notebook function; cloudpickle sends them by value. Our pool sends by name wherever
#   the worker has that very object, by value elsewhere, with your globals of the moment
#   of the call (but what the worker assigned itself wins).
#
# Open `procsync_teach/pool.py` in an editor and read the rest: you know its plan now.
#
# **Next:** [07 · Pitfalls →](07_pitfalls.ipynb)
