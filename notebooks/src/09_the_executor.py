# %% [markdown]
# # 09 · The executor: `ProcessPoolExecutor` beside `Pool`
#
# [← 08 · When tasks fail](08_when_tasks_fail.ipynb) | [course map](00_start_here.ipynb#The-course-map) |
# [10 · Queues and shared state →](10_queues_and_shared_state.ipynb)
#
# Python has two process pools in its standard library. `multiprocessing.Pool`, the one
# this course has used so far, and `concurrent.futures.ProcessPoolExecutor`, newer, with a
# smaller interface that is the same for threads (`ThreadPoolExecutor`). Much code you will
# read uses the executor. This notebook puts the two side by side: what each call is called
# in the other, what happens when things go wrong, and which to pick.
#
# **Learning objectives.** By the end you can:
#
# - translate between `submit`/`result`/`as_completed`/`map` and
#   `apply_async`/`get`/`imap_unordered`/`imap`;
# - collect results in the order they finish with `as_completed`;
# - say what a dead worker does to an executor (`BrokenProcessPool`), to
#   `multiprocessing.Pool` and to the course's `Pool`;
# - renew an executor's workers with `max_tasks_per_child` (Python 3.11 and later);
# - choose between the two for a job.

# %% [markdown]
# ## Setup
#
# The executor sends a task function to its workers *by name*, as `multiprocessing.Pool`
# does (notebook 07): under spawn or forkserver, a worker cannot find a function defined in
# this notebook. So the tasks come from the course's `tasks` module, which every worker can
# import: `square`, `invert` (fails for 0), `nap_or_fail` (sleeps), `worker_pid` and `die`
# (its worker is killed). `mp_context=get_context()` makes the executor use the course's
# start method, like every pool in the course.

# %%
import multiprocessing
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

import matplotlib.pyplot as plt
from IPython.display import Markdown

from procsync_teach import Pool, WorkerDied, get_context, now
from procsync_teach.course import tasks
from procsync_teach.course.platforms import exit_code_meaning
from procsync_teach.course.exercises.executor import (
    check_in_finishing_order,
    check_pool_or_executor,
)

# %% [markdown]
# ## 1. `submit` and `result`: `apply_async` and `get` by other names
#
# `executor.submit(f, *args)` starts `f(*args)` in a worker and returns at once with a
# **future**, the executor's `AsyncResult`. `future.result(timeout=...)` waits for the value,
# as `get(timeout=...)` does. Side by side:

# %%
with ProcessPoolExecutor(max_workers=2, mp_context=get_context()) as executor:
    future = executor.submit(tasks.square, 7)
    print("executor:", future.result(timeout=5), "- done:", future.done())

with Pool(2) as pool:
    ticket = pool.apply_async(tasks.square, (7,))
    print("Pool:    ", ticket.get(timeout=5), "- ready:", ticket.ready())

# %% [markdown]
# Note the arguments: `submit(f, 7)`, not `apply_async(f, (7,))`. A future can do a little
# more than an `AsyncResult`: `future.exception(timeout=...)` returns a task's exception
# instead of raising it, `future.add_done_callback(fn)` calls `fn(future)` when it is done
# (the `callback` and `error_callback` of `apply_async` in one), and `future.cancel()`
# withdraws a task that has not started yet. Leaving the `with` block calls
# `executor.shutdown(wait=True)`: it waits for the tasks, where `Pool`'s `with` block
# terminates them (notebook 04).
#
# A failed task's exception comes back as in notebook 08, with the worker's traceback as
# its `__cause__`:

# %%
with ProcessPoolExecutor(max_workers=2, mp_context=get_context()) as executor:
    future = executor.submit(tasks.invert, 0)
    error = future.exception(timeout=5)  # returned, not raised
    try:
        future.result(timeout=5)  # raised
    except ZeroDivisionError as raised:
        print("result() raised the same exception:", raised is error)

print("exception() gave:", type(error).__name__, "-", error)
print("its __cause__ is a", type(error.__cause__).__name__)

# %% [markdown]
# ## 2. `as_completed`: results as they finish
#
# With a list of futures, `as_completed(futures, timeout=...)` hands out each future as it
# finishes, whichever it is: the executor's `imap_unordered`. Four naps of different
# lengths on four workers (after a first round of naps, so that every worker has started):

# %%
naps = [0.6, 0.0, 0.4, 0.2]
with ProcessPoolExecutor(max_workers=4, mp_context=get_context()) as executor:
    for warm_up in [executor.submit(tasks.nap_or_fail, 0.2) for _ in range(4)]:
        warm_up.result(timeout=10)
    futures = [executor.submit(tasks.nap_or_fail, seconds) for seconds in naps]
    as_finished = [future.result() for future in as_completed(futures, timeout=5)]
    in_order = [future.result(timeout=5) for future in futures]

print("submitted:     ", naps)
print("as_completed:  ", as_finished)
print("futures in turn:", in_order)

# %% [markdown]
# Going through the futures in turn gives the input's order; `as_completed` gives the
# shortest nap first. A future does not know which input it came from, so when the order of
# `as_completed` is not the input's, keep a dict `{future: item}` to find out.
#
# ### Exercise 1: in the order they finish
#
# Write `in_finishing_order(executor, naps)`: submit `tasks.nap_or_fail` once for each nap,
# then return the results in the order the tasks finished, using `as_completed` with a
# timeout of 5 seconds. The check gives your function a real executor and watches the order
# in which its futures finish.

# %%
def in_finishing_order(executor, naps):
    """Return the results of one nap per item, in the order the naps finished."""
    ...


check_in_finishing_order(in_finishing_order)

# %% tags=["solution"]
def in_finishing_order(executor, naps):
    futures = [executor.submit(tasks.nap_or_fail, seconds) for seconds in naps]
    return [future.result() for future in as_completed(futures, timeout=5)]


check_in_finishing_order(in_finishing_order)

# %% [markdown]
# ## 3. `executor.map`: `imap`, with one chunk per item
#
# `executor.map(f, items, timeout=...)` returns an iterator of the results in the order of
# the items, like `Pool.imap`. Two differences matter.
#
# **An error stops the iterator, not the results before it.** `Pool.map` (notebook 08)
# loses every result when one item fails; the executor's iterator gives the results up to
# the failing item, then raises:

# %%
with ProcessPoolExecutor(max_workers=2, mp_context=get_context()) as executor:
    got = []
    try:
        for value in executor.map(tasks.invert, [1, 2, 0, 4], timeout=5):
            got.append(value)
    except ZeroDivisionError as error:
        print("the iterator raised", type(error).__name__, "after giving", got)

# %% [markdown]
# **Its chunksize is 1.** Notebook 05 showed that sending tiny tasks one per message is
# the slowest way to use a pool, and that `Pool.map` picks about four chunks per worker by
# itself. `executor.map` sends one item per message unless told otherwise
# (`chunksize=...`, which only process executors take). We time 5,000 tiny tasks three
# ways, best of two runs each, with the workers started beforehand.

# %%
ITEMS = range(5_000)
expected = [tasks.square(x) for x in ITEMS]


def best_of_two(run):
    """The faster of two runs of run(), in seconds, and whether both gave the right list."""
    seconds, right = [], True
    for _ in range(2):
        start = now()
        right = right and list(run()) == expected
        seconds.append(now() - start)
    return min(seconds), right


timings, all_right = {}, True
with Pool(2) as pool:
    pool.map(tasks.square, range(2), chunksize=1)  # both workers up
    timings["Pool.map\n(chunksize picked)"], right = best_of_two(lambda: pool.map(tasks.square, ITEMS))
    all_right = all_right and right
with ProcessPoolExecutor(max_workers=2, mp_context=get_context()) as executor:
    list(executor.map(tasks.square, range(4)))  # both workers up
    timings["executor.map\n(chunksize 1)"], right = best_of_two(
        lambda: executor.map(tasks.square, ITEMS))
    all_right = all_right and right
    timings["executor.map\n(chunksize 625)"], right = best_of_two(
        lambda: executor.map(tasks.square, ITEMS, chunksize=625))
    all_right = all_right and right

print("every run gave the serial results:", all_right)

# %%
_, ax = plt.subplots(figsize=(6.5, 3.2), layout="constrained")
ax.bar(list(timings), list(timings.values()), color=["tab:blue", "tab:red", "tab:orange"])
ax.set_yscale("log")
ax.set_ylabel("time for 5,000 squares (s, log scale)")
ax.set_title("One message per tiny task is slow")
ax.grid(axis="y", alpha=0.3)
plt.show()

# %% [markdown]
# The red bar is far taller than the others (the scale is logarithmic: each grid line is ten
# times the one below). Given a chunksize, the executor is in the same league as
# `Pool.map`; without one it pays a message per item. The measurements, in words:

# %%
chunked, one_by_one, pool_map = (timings["executor.map\n(chunksize 625)"],
                                 timings["executor.map\n(chunksize 1)"],
                                 timings["Pool.map\n(chunksize picked)"])
print("executor.map with chunksize 1 was slower than Pool.map:", one_by_one > pool_map)
print("and slower than with chunksize 625:", one_by_one > chunked)

# %% [markdown]
# One more difference: `executor.map` submits every item before it returns (before
# Python 3.14 it has no way to read ahead only a little), so an endless input never
# returns. Use `Pool.imap` for a stream.
#
# ## 4. When a worker dies
#
# A worker process can die in the middle of a task: the out-of-memory killer, a crash in a
# C extension, `os._exit` in a library. `tasks.die` plays that part (its worker is killed
# with SIGKILL; on Windows with `TerminateProcess`). What does each pool do? We try the
# three, each with a timeout, so that nothing waits for ever, and note what we see.

# %%
seen = {}

with ProcessPoolExecutor(max_workers=2, mp_context=get_context()) as executor:
    try:
        executor.submit(tasks.die).result(timeout=10)
    except BrokenProcessPool as error:
        print("executor: result() raised", type(error).__name__, "-", error)
    try:
        executor.submit(tasks.square, 3)
        works_on = True
    except BrokenProcessPool as error:
        print("executor: then submit() raised", type(error).__name__, "-", error)
        works_on = False
seen["ProcessPoolExecutor"] = ("`BrokenProcessPool`", works_on)

# %% [markdown]
# The executor is **broken**: the task fails with `BrokenProcessPool`, so do all the others
# that were pending, and it takes no new work. Your program must build a new executor.
# The course's `Pool`:

# %%
with Pool(2) as pool:
    try:
        pool.apply_async(tasks.die).get(timeout=10)
    except WorkerDied as error:
        print("Pool: get() raised", type(error).__name__, "- exit code", error.exitcode,
              f"({exit_code_meaning(error.exitcode)})")
    works_on = pool.apply_async(tasks.square, (3,)).get(timeout=10) == 9
    print("Pool: the next task ran:", works_on)
seen["procsync_teach.Pool"] = ("`WorkerDied`", works_on)

# %% [markdown]
# Only the task that was running fails; the exit code says how its worker ended (on
# Linux and macOS -9, SIGKILL; on Windows, which has no signals, 15, the code psutil's
# `kill()` gives `TerminateProcess`). The pool starts a new worker in the dead one's place
# and goes on. And `multiprocessing.Pool`? It replaces the dead worker too, but it never
# learns that the task is lost: `get()` would wait for ever. With a timeout of one second:

# %%
with get_context().Pool(2) as std_pool:
    std_pool.map(tasks.square, range(2), chunksize=1)  # both workers up
    try:
        std_pool.apply_async(tasks.die).get(timeout=1)
    except multiprocessing.TimeoutError:
        print("multiprocessing.Pool: get(timeout=1) raised TimeoutError; without a timeout it "
              "would wait for ever")
    works_on = std_pool.apply_async(tasks.square, (3,)).get(timeout=10) == 9
seen["multiprocessing.Pool"] = ("nothing: `get()` waits for ever", works_on)

Markdown("\n".join([
    "| pool | the lost task's caller gets | new tasks still run |",
    "|---|---|---|",
    *[f"| `{name}` | {gets} | {'yes' if runs else 'no'} |" for name, (gets, runs) in seen.items()],
]))

# %% [markdown]
# ## 5. `max_tasks_per_child`: fresh workers, from Python 3.11
#
# Notebook 08 renewed `Pool`'s workers with `maxtasksperchild`. The executor gained the same
# limit in Python 3.11, as `max_tasks_per_child`. It refuses it with the `fork` start method
# (it would fork new workers from a parent that runs the executor's threads), so the cell
# below gives it a spawn context.
#
# A warning from experience: with a limit **above 1** and more tasks waiting than the
# workers can take, the executor of Python 3.11, 3.12 and 3.13 can stop starting new
# workers and wait for ever: a known bug
# ([python/cpython#115634](https://github.com/python/cpython/issues/115634)), fixed only in
# releases of 2026. On this machine's 3.11 and 3.13, a limit of 2 with 8 tasks hangs. So we
# use a limit of 1, which works. On Python 3.10 the executor has no limit at all: there the
# cell does the same with `Pool`, so that you see what the limit does whichever Python you run.

# %%
if sys.version_info >= (3, 11):
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"),
                             max_tasks_per_child=1) as executor:
        pids = list(executor.map(tasks.worker_pid, range(8), timeout=60))
else:  # Python 3.10: the executor has no limit; Pool's maxtasksperchild does the same job
    with Pool(2, maxtasksperchild=1) as pool:
        pids = pool.map(tasks.worker_pid, range(8), chunksize=1)

tasks_per_process = Counter(pids)
print("each worker process ran one task:", set(tasks_per_process.values()) == {1})
print("so 8 processes ran the 8 tasks:", len(tasks_per_process) == 8)

# %% [markdown]
# ## 6. Which to pick
#
# Both run functions in worker processes; what differs is the interface around them. In
# short:
#
# | you need | `ProcessPoolExecutor` | `multiprocessing.Pool` |
# |---|---|---|
# | wait for results from many places at once | `as_completed`, `wait` | — |
# | cancel tasks not yet started | `future.cancel()`, `shutdown(cancel_futures=True)` | — |
# | `asyncio` (`loop.run_in_executor`) | yes | — |
# | the same code with threads | `ThreadPoolExecutor` | `multiprocessing.pool.ThreadPool` |
# | a good chunksize without thinking | — (one item per message) | `map` picks one |
# | a stream of input, read as it comes | — (`map` reads it all first) | `imap`, `imap_unordered` |
# | `starmap`, callbacks per task | `map(f, xs, ys)`, `add_done_callback` | `starmap`, `callback=` |
# | renewing workers | `max_tasks_per_child` (3.11+; above 1 it can hang, see step 5) | `maxtasksperchild` |
# | a worker dies | `BrokenProcessPool`: build a new executor | the task is lost: always use timeouts |
#
# A rule of thumb: for new code that submits separate tasks, especially beside threads or
# `asyncio`, the executor; for a big `map` over many small items, or a stream, `Pool`.
#
# ### Exercise 2: Pool or executor?
#
# For each scenario write `"Pool"` or `"executor"`:
#
# - **A.** A web crawler submits fetches from several places in its code and handles each
#   page as soon as it arrives, whichever task fetched it.
# - **B.** An `asyncio` server must run a CPU-heavy function without blocking its loop.
# - **C.** Square 1,000,000 numbers as fast as possible, with the least code.
# - **D.** You want to try the same program with threads instead of processes by changing
#   one line.
# - **E.** Your tasks leak memory, and the program must run on Python 3.10.
# - **F.** When the user presses Stop, the tasks that have not started yet must not run.

# %%
picks = {"A": ..., "B": ..., "C": ..., "D": ..., "E": ..., "F": ...}
check_pool_or_executor(picks)

# %% tags=["solution"]
picks = {"A": "executor", "B": "executor", "C": "Pool", "D": "executor", "E": "Pool",
         "F": "executor"}
check_pool_or_executor(picks)

# %% [markdown]
# ## Key points
#
# - `submit` / `result(timeout=...)` / `as_completed` / `map` are the executor's
#   `apply_async` / `get(timeout=...)` / `imap_unordered` / `imap`. Futures can also be
#   cancelled, waited for together, and awaited from `asyncio`.
# - `executor.map` sends one item per message unless given a `chunksize`, and reads all of
#   its input first; its iterator keeps the results before a failing item.
# - A dead worker breaks the whole executor (`BrokenProcessPool`); `multiprocessing.Pool`
#   loses the task silently (only a timeout saves you); the course's `Pool` fails that task
#   with `WorkerDied` and goes on.
# - `max_tasks_per_child` (3.11+, not with fork) is the executor's `maxtasksperchild`;
#   above 1 it can hang on releases before the fix of cpython#115634.
# - Both pools send functions by name: put task functions in a module.
#
# **Next:** processes that talk to each other and share memory:
# [10 · Queues and shared state →](10_queues_and_shared_state.ipynb)
