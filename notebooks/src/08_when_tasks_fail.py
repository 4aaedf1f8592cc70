# %% [markdown]
# # 08 · When tasks fail, and the rest of Pool
#
# [← 07 · Pitfalls](07_pitfalls.ipynb) | [course map](00_start_here.ipynb#The-course-map) |
# [09 · The executor →](09_the_executor.ipynb)
#
# So far every task worked. Real tasks fail: a file is missing, a number is zero, a page
# does not answer. This notebook shows where a task's exception goes, and then the rest of
# what `Pool` offers: results as they come (`imap`), tasks with several arguments
# (`starmap`), a set-up once per worker (`initializer`) and workers that make way for fresh
# ones (`maxtasksperchild`).
#
# **Learning objectives.** By the end you can:
#
# - catch a task's exception in the caller, and read the worker's traceback that comes with it;
# - say when `map` raises if one item fails, and hear of each failure with `error_callback`;
# - use `imap` and `imap_unordered` for results as they come, and say what they do with a
#   very long input;
# - call a function of several arguments with `starmap`;
# - prepare each worker once with `initializer`, and renew workers with `maxtasksperchild`,
#   knowing what that costs.

# %% [markdown]
# ## Setup
#
# `invert(x)` returns `1 / x`: for 0 it raises `ZeroDivisionError`, our failing task.
# `nap(seconds)` sleeps, as a task that waits for a disk or a web server.

# %%
import functools
import itertools
import time
import uuid
from collections import Counter

import matplotlib.pyplot as plt

from procsync_teach import Pool, get_context, now
from procsync_teach.course import tasks
from procsync_teach.course.exercises.failures import check_pool_tools, check_results_or_errors
from procsync_teach.course.plots import plot_task_timeline
from procsync_teach.pool import IMAP_READ_AHEAD


def invert(x):
    return 1 / x


def nap(seconds):
    time.sleep(seconds)
    return seconds

# %% [markdown]
# ## 1. A failing task: `get()` raises its exception
#
# A task runs in another process, but its exception is not lost there: the worker catches
# it, pickles it and sends it back in place of a result. `get()` then raises it in *your*
# process, where you can catch it like any other exception.

# %%
with Pool(2) as pool:
    ticket = pool.apply_async(invert, (0,))
    try:
        ticket.get(timeout=5)
    except ZeroDivisionError as error:
        caught = error

print("get() raised:", type(caught).__name__, "-", caught)
print("the task succeeded:", ticket.successful())

# %% [markdown]
# A traceback cannot travel between processes, only its text can. The pool attaches that
# text to the exception as its `__cause__`, a `RemoteTraceback`: when the error is not
# caught, Python prints both tracebacks, the worker's first ("The above exception was the
# direct cause of..."), so you see the line that failed in the worker *and* the line that
# waited for it. `multiprocessing.Pool` does the same.
#
# The worker's traceback names files of this machine, so we print only the function it
# ends in and its last line:

# %%
def where_it_failed(error):
    """The function the worker's traceback ends in, and its last line."""
    lines = str(error.__cause__).strip().strip('"').strip().splitlines()
    last_frame = [line for line in lines if line.strip().startswith("File ")][-1]
    return last_frame.rsplit(" in ", 1)[1], lines[-1]


print("__cause__ is a", type(caught.__cause__).__name__)
print("the worker's traceback ends in %s(), with: %s" % where_it_failed(caught))

# %% [markdown]
# ## 2. `map` with one failing item
#
# `map` is many tasks behind one call. If one of them fails, which result do you get? None:
# `map` raises the first exception, and the list of results, good ones included, is gone.
# **When** it raises matters too: `multiprocessing.Pool.map` waits until every chunk has
# finished, failed or not, and only then raises. So a failure does not stop the other
# tasks, and when `map` returns, with a list or an exception, the pool has nothing of
# this call still running.
#
# Let us see it with the standard library's pool. Its workers import task functions by
# name, so we take them from the course's `tasks` module: `tasks.nap_or_fail(-1)` fails at
# once, the others sleep 0.2 seconds each, four of them on two workers, 0.4 seconds in all.

# %%
with get_context().Pool(2) as std_pool:
    std_pool.map(tasks.square, range(2), chunksize=1)  # both workers up before we time
    start = now()
    try:
        std_pool.map(tasks.nap_or_fail, [-1, 0.2, 0.2, 0.2, 0.2], chunksize=1)
    except ValueError as error:
        raised_after = now() - start
        print("map raised:", type(error).__name__, "-", error)

print("it raised only once the four naps were over:", raised_after >= 0.4)

# %% [markdown]
# The first item failed at once, yet `map` raised only after the naps of the other four:
# the pool let every chunk finish first. `procsync_teach.Pool` keeps the same rule, so the
# same call on it takes as long before it raises:

# %%
with Pool(2) as pool:
    pool.map(tasks.square, range(2), chunksize=1)  # both workers up before we time
    start = now()
    try:
        pool.map(tasks.nap_or_fail, [-1, 0.2, 0.2, 0.2, 0.2], chunksize=1)
    except ValueError as error:
        ours_raised_after = now() - start
        print("map raised:", type(error).__name__, "-", error)

print("ours too raised only once the four naps were over:", ours_raised_after >= 0.4)

# %% [markdown]
# Both pools let every chunk finish before they raise. If you need the good results even
# when some items fail, `map` is the wrong tool: submit one task per item and catch each
# failure on its own, as in the exercise below.

# %% [markdown]
# ## 3. `error_callback`: told of each failure as it happens
#
# Notebook 03 gave `apply_async` a `callback`, called with the result when a task succeeds.
# Its twin `error_callback` is called with the exception when a task fails. Exactly one of
# the two runs for each task. Like the callback, it runs in a thread of the pool, in your
# process: keep it short.

# %%
values, errors = [], []
with Pool(2) as pool:
    tickets = [pool.apply_async(invert, (x,), callback=values.append, error_callback=errors.append)
               for x in [1, 0, 2, 0, 4]]
    for ticket in tickets:
        ticket.wait(timeout=5)  # the callbacks have run when wait() returns

print("callback got:", sorted(values))
print("error_callback got:", [type(error).__name__ for error in errors])

# %% [markdown]
# `map_async` takes an `error_callback` too; it is called once, with the first exception,
# when the whole map is over.
#
# ### Exercise 1: every result, and every failure in its place
#
# Write `results_or_errors(pool, numbers)`. For each number start `invert` with
# `pool.apply_async`, then go through the tickets in order: put the result in a list, or, if
# `get(timeout=5)` raises, the exception itself. Return the list: one entry per number, in
# the order of the numbers, so that nothing is lost when some tasks fail.

# %%
def results_or_errors(pool, numbers):
    """Return 1 / n for each number, or the exception the task raised, in order."""
    ...


check_results_or_errors(results_or_errors)

# %% tags=["solution"]
def results_or_errors(pool, numbers):
    tickets = [pool.apply_async(invert, (n,)) for n in numbers]
    entries = []
    for ticket in tickets:
        try:
            entries.append(ticket.get(timeout=5))
        except ZeroDivisionError as error:
            entries.append(error)
    return entries


check_results_or_errors(results_or_errors)

# %% [markdown]
# ## 4. `imap`: results as they come
#
# `map` hands you every result at once, when the last one is in. `imap` returns an iterator
# at once, and each step of the loop waits only for the *next* result. With eight naps of
# 0.2 seconds on two workers the whole map takes about 0.8 seconds, but the first result is
# there after 0.2. We note when each result reached the loop.

# %%
with Pool(2) as pool:
    pool.map(nap, [0] * 2, chunksize=1)  # both workers up before we time
    start = now()
    arrived = []
    results = pool.imap(nap, [0.2] * 8)
    for _ in range(8):
        results.next(timeout=5)  # next() with a timeout: a lost task cannot freeze the loop
        arrived.append(now())
    records = pool.records(since=start)

# %%
ax = plot_task_timeline(records, origin=start, title="imap: each result reaches the loop as soon as it is in")
for moment in arrived:
    ax.axvline(moment - start, color="crimson", linestyle=":", linewidth=1.5)
ax.plot([], [], color="crimson", linestyle=":", label="a result reached the loop")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
plt.show()

# %% [markdown]
# The bars are the eight naps, four per worker, end to end. Each dotted line marks results
# reaching the loop as a nap ends, the first after 0.2 seconds, long before the last bar
# ends: the loop could show, save or send the first results while the workers were still
# busy with the rest. That is what the plot claims; the measurements say:

# %%
last_task_ended = max(record.finished for record in records)
print("the first result came before half the work was done:",
      arrived[0] - start < (last_task_ended - start) / 2)

# %% [markdown]
# ## 5. `imap_unordered`: the quickest first
#
# `imap` keeps the order of the input: if the first task is slow, the loop waits for it,
# even when later results are in. `imap_unordered` gives each result as soon as it is in,
# whatever its place. Four naps of different lengths on four workers, so that all run at
# once:

# %%
naps = [0.6, 0.0, 0.4, 0.2]
with Pool(4) as pool:
    pool.map(nap, [0.05] * 4, chunksize=1)  # all four workers up before we start
    in_order = list(pool.imap(nap, naps))
    as_ready = list(pool.imap_unordered(nap, naps))

print("imap:          ", in_order)
print("imap_unordered:", as_ready)

# %% [markdown]
# Same results, different order: `imap` kept the input's, `imap_unordered` the order in which
# the naps ended. With work of uneven length, `imap_unordered` lets you start on each result
# sooner; use it when the order does not matter (or when each result says which input it
# belongs to).
#
# ## 6. An input that never ends
#
# `map` first makes a list of its whole input, to cut it into chunks: give it an endless
# generator and it never returns. `imap` reads its input bit by bit, in a thread of its own,
# so it can work on an endless stream: a log being written, messages arriving. How far does
# it read ahead of you? We count the items it takes from `itertools.count()`, stop after
# five results and wait half a second.

# %%
read = 0


def numbers():
    """Every whole number, counting how many were read."""
    global read
    for n in itertools.count():
        read += 1
        yield n


with Pool(2) as pool:
    squares = pool.imap(tasks.square, numbers())
    first_five = [squares.next(timeout=5) for _ in range(5)]
    time.sleep(0.5)
    read_ahead = read  # how many items imap had read when we had taken five results
# leaving the block terminated the pool: imap's reading thread stopped there

print("first five squares:", first_five)
print("imap had read more than a hundred items:", read_ahead > 100)
limit = len(first_five) + IMAP_READ_AHEAD * 2 + 1  # 2 workers; +1: the chunk in the reader's hand
print(f"and no more than {IMAP_READ_AHEAD} chunks per worker beyond what we took:",
      read_ahead <= limit)

# %% [markdown]
# `imap` read far more than we asked for: its thread reads on while the workers work, and
# every result we do not take waits in memory. But not without end: `procsync_teach.Pool`
# reads at most `IMAP_READ_AHEAD` (64) chunks per worker beyond the results you have taken,
# then waits for you, so an endless input costs a bounded amount of memory however slowly
# you take results. `multiprocessing.Pool.imap` has no such bound: it reads its input as
# fast as its thread can, not as fast as you take results, so on an endless input its
# memory grows until the pool ends. With either pool, stop the pool (here the `with` block
# did) when you have enough.
#
# ## 7. `starmap`: several arguments per task
#
# `map` calls `f(item)`: one argument. For a function of several, `starmap` takes an
# iterable of tuples and calls `f(*item)`, as `itertools.starmap` does.

# %%
def power(base, exponent):
    return base**exponent


pairs = [(2, 10), (3, 3), (10, 2)]
with Pool(2) as pool:
    print("starmap:", pool.starmap(power, pairs))
print("the same as a loop:", [power(*pair) for pair in pairs])

# %% [markdown]
# ## 8. `initializer`: set up each worker once
#
# Some tasks need something expensive first: a model to load, a database connection, a
# large table to read. Built inside the task, it is built again for every task. An
# `initializer` runs once in each worker as it starts, before its first task:
# `Pool(2, initializer=f, initargs=(...))`.
#
# The initializer keeps what it built in a global variable of the worker, where the tasks
# that worker runs later find it. Below, `build_resource` stands for the expensive part (a
# pause, then a name no other resource has), `open_resource` is the initializer, and
# `use_resource` a task that returns the name of the resource its worker holds. (With
# `multiprocessing.Pool` under spawn or forkserver, these three would go in a module, for
# the workers to import; the course's Pool takes them from the notebook.)

# %%
resource = None  # in each worker: the resource its initializer built


def build_resource(seconds):
    time.sleep(seconds)  # stands for loading a model, opening a connection...
    return uuid.uuid4().hex  # a name no other resource has


def open_resource(seconds):
    global resource
    resource = build_resource(seconds)


def use_resource(x):
    return resource


def build_and_use(x, seconds):
    return build_resource(seconds)

# %% [markdown]
# Twenty tasks, each needing a resource that takes 0.1 seconds to build, once building it
# inside each task and once with an initializer. Each time counts from the creation of the
# pool, since the initializer runs as each worker starts:

# %%
BUILD = 0.1
start = now()
with Pool(2) as pool:
    built_per_task = pool.map(functools.partial(build_and_use, seconds=BUILD), range(20),
                              chunksize=1)
    per_task_seconds = now() - start

start = now()
with Pool(2, initializer=open_resource, initargs=(BUILD,)) as pool:
    used = pool.map(use_resource, range(20), chunksize=1)
    initializer_seconds = now() - start

print("building in each task: resources built for 20 tasks:", len(set(built_per_task)))
print("with an initializer: every task found one:", None not in used)
print("  and at most one was built per worker:", len(set(used)) <= 2)
print("the initializer was faster:", initializer_seconds < per_task_seconds)

# %% [markdown]
# Two builds, in parallel, instead of twenty, two at a time.
#
# ## 9. `maxtasksperchild`: fresh workers, at a price
#
# A worker lives as long as the pool. If the tasks leak memory (a library that caches too
# much, say), the workers grow and grow. `maxtasksperchild=n` makes each worker exit after
# `n` tasks; the pool starts a fresh one in its place, and the leaked memory goes back to
# the system with the old process.
#
# The price is a new process every `n` tasks. We run 10 quick tasks (`chunksize=1`: one
# task per job) with limits of 10, 5 and 1, and with none, and time the whole pool,
# from start to end, twice each, keeping the faster run. The records say which worker
# process ran each task.

# %%
LIMITS = [None, 10, 5, 1]
seconds_for, most_tasks_for, processes_for, all_right = {}, {}, {}, True
for limit in LIMITS:
    runs = []
    for _ in range(2):
        start = now()
        with Pool(2, maxtasksperchild=limit) as pool:
            squares = pool.map(tasks.square, range(10), chunksize=1)
            all_right = all_right and squares == [x * x for x in range(10)]
            records = pool.records(since=start)
        runs.append(now() - start)
    seconds_for[limit] = min(runs)
    tasks_per_process = Counter(record.pid for record in records)
    most_tasks_for[limit] = max(tasks_per_process.values())
    processes_for[limit] = len(tasks_per_process)

print("every map gave the right squares:", all_right)
for limit in LIMITS[1:]:
    fewest = -(-10 // limit)  # 10 / limit, rounded up
    print(f"limit {limit:>2}: tasks per process never above the limit: "
          f"{most_tasks_for[limit] <= limit}; processes at least 10 / limit = {fewest}: "
          f"{processes_for[limit] >= fewest}")

# %% [markdown]
# 10 tasks at most 5 per process need at least 2 processes, more when, near the end, the
# two workers share the last few tasks; at 1 per process, 10 processes. What each limit
# costs, in time:

# %%
labels = ["none" if limit is None else str(limit) for limit in LIMITS]
_, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
ax.bar(labels, [seconds_for[limit] for limit in LIMITS], color="tab:blue")
ax.set_xlabel("maxtasksperchild")
ax.set_ylabel("time for the pool and 10 tasks (s)")
ax.set_title("Every new worker process costs a start-up")
ax.grid(axis="y", alpha=0.3)
plt.show()

# %% [markdown]
# The bar for 1 towers over the others: 10 process starts instead of 2. How much it costs
# depends on the start method (fork copies the parent; spawn starts a new Python, far
# slower), but it always costs. Pick a limit in the hundreds or thousands, enough to keep
# a leak in check, few enough starts not to notice.

# %%
print("maxtasksperchild=1 was slower than no limit:", seconds_for[1] > seconds_for[None])

# %% [markdown]
# ## Exercise 2: which tool?
#
# For each scenario choose `"imap"`, `"imap_unordered"`, `"starmap"`, `"initializer"`,
# `"maxtasksperchild"` or `"error_callback"`:
#
# - **A.** Process the lines of a log that is still being written, printing each result in
#   the order of the lines.
# - **B.** Make thumbnails of 1,000 photos and show each one as soon as it is ready.
# - **C.** Compute `distance(a, b)` for a list of pairs `(a, b)`.
# - **D.** Each task needs a model that takes 2 seconds to load.
# - **E.** A library the tasks use leaks memory; after an hour the workers fill the machine.
# - **F.** Write each failure to a log the moment it happens, while the caller keeps working.

# %%
choices = {"A": ..., "B": ..., "C": ..., "D": ..., "E": ..., "F": ...}
check_pool_tools(choices)

# %% tags=["solution"]
choices = {"A": "imap", "B": "imap_unordered", "C": "starmap", "D": "initializer",
           "E": "maxtasksperchild", "F": "error_callback"}
check_pool_tools(choices)

# %% [markdown]
# ## Key points
#
# - A task's exception travels back to the caller: `get()` raises it, with the worker's
#   traceback attached as its `__cause__` (a `RemoteTraceback`).
# - `map` raises the first exception, only once every chunk has finished, and the good
#   results are lost with it: for per-item failures, one `apply_async` per item and a
#   `try` around each `get()`, or an `error_callback`.
# - `imap` yields results in order as they come, `imap_unordered` as soon as each is ready;
#   both read the input in a thread, so they work on endless inputs, and read ahead of you:
#   `procsync_teach.Pool` a bounded amount, `multiprocessing.Pool` without limit.
# - `starmap` calls `f(*args)` for each tuple; `initializer` sets each worker up once;
#   `maxtasksperchild` renews workers, at the price of a process start each time.
#
# **Next:** the standard library's other pool, and how it compares:
# [09 · The executor →](09_the_executor.ipynb)
