# %% [markdown]
# # 03 · Pool: waiting or not waiting
#
# [← 02 · Locks](02_locks.ipynb) | [course map](00_start_here.ipynb#The-course-map) | [04 · Timeouts and the life of a pool →](04_timeouts_and_lifecycle.ipynb)
#
# A pool runs your function in its worker processes. The question of this notebook is
# what *your* program does in the meantime. Some methods make it wait (they **block**);
# others hand back a ticket at once and let it carry on.
#
# **Learning objectives.** By the end you can:
#
# - run a function in a pool with `apply`, `apply_async`, `map` and `map_async`;
# - tell, from a timeline, whether a call blocked its caller;
# - collect results later with `AsyncResult.get(timeout=...)`, or as they come with a `callback`;
# - choose the right method for a job.

# %% [markdown]
# ## 1. The tutorial's example, as written
#
# This course grew from a short tutorial. Here is its `Pool` example, unchanged except
# for the first line: we import `Pool` from `procsync_teach`, the course's library, which
# has the same interface as `multiprocessing.Pool` and also works with functions defined
# in a notebook, whatever your operating system. (We come back to that in step 2.) In a
# notebook `__name__` is `'__main__'` too, so the guarded block runs.

# %%
from procsync_teach import Pool
import time

def square_number(n):
    return n * n

def slow_function(seconds):
    time.sleep(seconds)
    return f"Slept for {seconds} seconds"

if __name__ == '__main__':
    # Create a pool with 4 worker processes
    with Pool(processes=4) as pool:
        # Synchronous apply
        result = pool.apply(square_number, (10,))
        print(f"Synchronous result: {result}")

        # Asynchronous apply
        async_result = pool.apply_async(square_number, (5,))
        print(f"Async result: {async_result.get()}")

        # Map function to multiple values
        numbers = range(6)
        squared = pool.map(square_number, numbers)
        print(f"Squared numbers: {squared}")

# %% [markdown]
# And its second example: wait at most 1 second for a task that needs 3. `get(timeout=1)`
# gives up with a `TimeoutError`; leaving the `with` block then stops the pool, task and all.
# (Notebook 04 is about timeouts.)

# %%
from procsync_teach import Pool, TimeoutError
import time

def slow_task(duration):
    time.sleep(duration)
    return f"Completed after {duration} seconds"

if __name__ == '__main__':
    with Pool(processes=2) as pool:
        try:
            result = pool.apply_async(slow_task, (3,))
            # Wait only 1 second for result
            output = result.get(timeout=1)
            print(output)
        except TimeoutError:
            print("Task timed out!")

# %% [markdown]
# ## 2. The same programs as scripts, with the standard library
#
# Outside a notebook the tutorial's programs run as they are, with `multiprocessing`.
# `%%writefile` saves a cell as a file and `!"{sys.executable}" tutorial_pool.py` runs it, as
# `python tutorial_pool.py` would in a terminal. `sys.executable` is the Python that runs
# this notebook: a plain `python` may be another one, or missing (macOS's installers
# name it `python3`), and the quotes keep a path with spaces in one piece (Windows).

# %%
%%writefile tutorial_pool.py
from multiprocessing import Pool
import time

def square_number(n):
    return n * n

def slow_function(seconds):
    time.sleep(seconds)
    return f"Slept for {seconds} seconds"

if __name__ == '__main__':
    # Create a pool with 4 worker processes
    with Pool(processes=4) as pool:
        # Synchronous apply
        result = pool.apply(square_number, (10,))
        print(f"Synchronous result: {result}")

        # Asynchronous apply
        async_result = pool.apply_async(square_number, (5,))
        print(f"Async result: {async_result.get()}")

        # Map function to multiple values
        numbers = range(6)
        squared = pool.map(square_number, numbers)
        print(f"Squared numbers: {squared}")

# %%
%%writefile tutorial_timeout.py
from multiprocessing import Pool, TimeoutError
import time

def slow_task(duration):
    time.sleep(duration)
    return f"Completed after {duration} seconds"

if __name__ == '__main__':
    with Pool(processes=2) as pool:
        try:
            result = pool.apply_async(slow_task, (3,))
            # Wait only 1 second for result
            output = result.get(timeout=1)
            print(output)
        except TimeoutError:
            print("Task timed out!")

# %%
import sys

!"{sys.executable}" tutorial_pool.py
!"{sys.executable}" tutorial_timeout.py

# %% [markdown]
# The same outputs. Why not use `multiprocessing.Pool` in the notebook too? With the
# *spawn* start method (the default on Windows and macOS) or *forkserver* (Linux's default
# from Python 3.14), each worker is a fresh Python that must find `square_number` by
# importing your program, and a notebook cell is not a file it can import: the workers
# fail and `map` waits forever. A script is such a file; `procsync_teach.Pool` sends the
# function itself instead. Now tidy up the two files:

# %%
import os

for script in ("tutorial_pool.py", "tutorial_timeout.py"):
    os.remove(script)

# %% [markdown]
# ## 3. Looking at time, not just at results
#
# The tutorial's outputs look alike for all four methods. What differs is *when your
# program gets control back*, which a printed result cannot show. So we measure it: note
# the time before and after each call, and draw it above the pool's own record of which
# worker ran what (`pool.records()`).
#
# A task that takes a moment is easier to see. The tutorial's `slow_function` sleeps, but
# returns a sentence; `slow_square` below sleeps and returns a square, easy to check. The
# helper `draw_caller` adds a lane for the caller, your program: grey while it is
# blocked, dark while it does its own work, and a red dotted line where the call returned.
# (You can skip reading it.)

# %%
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from procsync_teach import now
from procsync_teach.course.plots import legend_outside, plot_task_timeline, subplots

def slow_square(n, seconds=0.2):
    time.sleep(seconds)  # stands for real work: an image to resize, a page to fetch
    return n * n

CALLER_LOOKS = {
    "caller blocked": dict(facecolor="0.88", edgecolor="0.45", hatch="//"),
    "caller's own work": dict(facecolor="0.3", edgecolor="0.3"),
}

def draw_caller(ax, origin, spans, returned):
    """Add a "caller" lane above the workers: spans of (start, end, kind), and the return."""
    for start, end, kind in spans:
        ax.barh(-1, max(end - start, 1e-3), left=start - origin, height=0.6, **CALLER_LOOKS[kind])
    ax.axvline(returned - origin, color="crimson", linestyle=":", linewidth=2)
    labels = [label.get_text() for label in ax.get_yticklabels()]
    lanes = list(ax.get_yticks())
    ax.set_yticks([-1, *lanes], ["caller", *labels])
    ax.set_ylim(max(lanes) + 0.6, -1.6)
    ax.set_ylabel("")
    ax.set_xlim(-0.01 * ax.get_xlim()[1], None)  # start at 0, with the red line in view
    legend = ax.get_legend()  # matplotlib before 3.7 calls its handles legendHandles
    handles = list(getattr(legend, "legend_handles", None) or legend.legendHandles)
    handles += [Patch(label=kind, **CALLER_LOOKS[kind]) for kind in dict.fromkeys(k for *_, k in spans)]
    handles.append(Line2D([], [], color="crimson", linestyle=":", linewidth=2, label="call returned"))
    legend_outside(ax, handles)

# %% [markdown]
# One pool serves the next four steps. A `with` block cannot span several cells, so we
# close this pool ourselves at the end of step 7. Starting a worker takes a moment (a lot
# more with *spawn*), so we first give each worker a task and wait: after that, the
# timelines show the methods, not the start-up.

# %%
pool = Pool(2)
pool.map(square_number, range(2), chunksize=1)  # one task per worker: both are up once it returns
seen = {}  # what we measure for each method; the table in step 8 is built from it

def note(method, returned, records, returns, get_gives=None):
    """Remember whether the call gave control back before its tasks finished, and its types."""
    early = returned < max(record.finished for record in records)
    seen[method] = dict(early=early, returns=returns, get_gives=get_gives)
    print(f"{method} gave control back before its tasks finished: {early}")

print(pool)

# %% [markdown]
# ## 4. `apply`: one call, and the caller waits
#
# `apply(f, args)` runs `f(*args)` in a worker and returns its result. Until then, the line
# after it does not run.

# %%
t0 = now()
value = pool.apply(slow_square, (4,))  # the caller waits here...
returned = now()                        # ...and only gets here once the square is back
print("apply returned", value, "- a", type(value).__name__)

# %%
records = pool.records(since=t0)
ax = plot_task_timeline(records, origin=t0, title="apply: the caller is blocked until the task is done")
draw_caller(ax, t0, [(t0, returned, "caller blocked")], returned)
plt.show()

# %% [markdown]
# The red line sits at the end of the task: while a worker worked, your program only waited.
# With two workers, the other one had nothing to do. Our measurement says the same:

# %%
note("apply", returned, records, type(value).__name__)

# %% [markdown]
# ## 5. `apply_async`: a ticket now, the result later
#
# `apply_async` returns at once with an `AsyncResult`: a ticket you swap for the result
# later with `get(timeout=...)` (always give a timeout, so a lost task cannot freeze your
# program). Meanwhile your program is free. Given a `callback`, the pool also calls it with
# the result as soon as the task is done. Here the caller does 0.1 seconds of its own work
# (a `sleep` stands in for it) while the task runs.

# %%
squares = []  # the callback adds each result here
t0 = now()
ticket = pool.apply_async(slow_square, (4,), callback=squares.append)
returned = now()  # here at once, long before the task is done
print(ticket)

time.sleep(0.1)  # the caller's own work, done while the task runs
worked = now()
value = ticket.get(timeout=5)  # now wait for the result, at most 5 seconds
got = now()
print(ticket)
print("get() gave", value, "and the callback had already added it:", squares)

# %%
records = pool.records(since=t0)
ax = plot_task_timeline(records, origin=t0, title="apply_async: the caller works while the task runs")
draw_caller(ax, t0, [(returned, worked, "caller's own work"), (worked, got, "caller blocked")], returned)
plt.show()

# %% [markdown]
# The red line is at the very start: the call returned as soon as it had handed the task
# over. The
# caller did its own work alongside the worker, and only waited (in `get`) for the rest.
# Where does the callback run? In a thread of the pool, inside your program: keep it short,
# like `squares.append`.

# %%
note("apply_async", returned, records, type(ticket).__name__, type(value).__name__)

# %% [markdown]
# ## 6. `map`: many inputs, and the caller waits for all
#
# `map(f, items)` is the pool's version of `[f(x) for x in items]`: the workers share the
# items, and the call returns the list of results, in the order of the items. Like `apply`,
# it blocks. (`chunksize=1` sends the items one by one, so that each bar is one call; notebook
# 05 is about chunks.)

# %%
t0 = now()
squared = pool.map(slow_square, range(4), chunksize=1)
returned = now()
print("map returned", squared, "- a", type(squared).__name__)

# %%
records = pool.records(since=t0)
ax = plot_task_timeline(records, origin=t0, title="map: both workers busy, the caller blocked")
draw_caller(ax, t0, [(t0, returned, "caller blocked")], returned)
plt.show()

# %%
note("map", returned, records, type(squared).__name__)

# %% [markdown]
# ## 7. `map_async`: many inputs, and the caller carries on
#
# `map_async` is to `map` what `apply_async` is to `apply`: a ticket at once, the list later.

# %%
t0 = now()
ticket = pool.map_async(slow_square, range(4), chunksize=1)
returned = now()
print(ticket)

time.sleep(0.2)  # the caller's own work
worked = now()
squared = ticket.get(timeout=5)
got = now()
print("get() gave", squared)

# %%
records = pool.records(since=t0)
ax = plot_task_timeline(records, origin=t0, title="map_async: the caller works while the workers do")
draw_caller(ax, t0, [(returned, worked, "caller's own work"), (worked, got, "caller blocked")], returned)
plt.show()

# %%
note("map_async", returned, records, type(ticket).__name__, type(squared).__name__)

# %% [markdown]
# That was the last step with our long-lived pool. `close()` lets the workers finish what is
# queued and accept nothing more; `join()` waits until they have exited (a `with` block would
# call `terminate()` instead; notebook 04 tells them apart).

# %%
pool.close()
pool.join()
print(pool)

# %% [markdown]
# ## 8. The four methods side by side
#
# Only the last column of this table is typed in: the others come from what we measured in
# steps 4 to 7. "Blocks" is "yes" when the call only returned after its tasks had finished.

# %%
from IPython.display import Markdown

best_for = {
    "apply": "one call whose answer you need on the next line",
    "apply_async": "one call that runs while you do something else; a callback when done",
    "map": "one function over many inputs, when you need all the results to go on",
    "map_async": "one function over many inputs, while the caller stays free",
}

def as_code(name):
    return f"`{name}`" if name else "—"

rows = [
    f"| `{method}()` | {'no' if m['early'] else 'yes'} | {as_code(m['returns'])} "
    f"| {as_code(m['get_gives'])} | {best_for[method]} |"
    for method, m in seen.items()
]
Markdown("\n".join([
    "| method | blocks the caller? | returns | its `.get()` gives | best for |",
    "|---|---|---|---|---|",
    *rows,
]))

# %% [markdown]
# ## 9. Try it: `map` against `map_async`
#
# The experiment runs the same tasks twice in a fresh pool: once with `map`, once with
# `map_async` while the caller does 0.3 seconds of its own work. Change the number of
# worker processes, of tasks, and how long each task takes, then press **Run**.
#
# Things to try: one process and six tasks (the caller's work hides entirely behind the
# tasks); many short tasks; more processes than this machine has cores.

# %%
import functools

import ipywidgets as widgets

from procsync_teach.course.widgets import Experiment

CALLER_WORK = 0.3  # seconds of the caller's own work in the map_async run
last_run = {}

def map_or_map_async(processes=2, tasks=4, duration=0.2):
    """Run the tasks with map, then with map_async while the caller works; draw both."""
    figure, (top, bottom) = subplots(2, 1, height=5.4, sharex=True)
    task = functools.partial(slow_square, seconds=duration)
    with Pool(processes) as pool:
        pool.map(square_number, range(processes), chunksize=1)  # wait until every worker is up
        t0 = now()
        pool.map(task, range(tasks), chunksize=1)
        returned = now()
        records = pool.records(since=t0)
        plot_task_timeline(records, origin=t0, ax=top, title=f"map: blocked for {returned - t0:.1f} s")
        draw_caller(top, t0, [(t0, returned, "caller blocked")], returned)
        last_run["map early"] = returned < max(r.finished for r in records)

        t0 = now()
        ticket = pool.map_async(task, range(tasks), chunksize=1)
        returned = now()
        time.sleep(CALLER_WORK)
        worked = now()
        ticket.get(timeout=60)
        got = now()
        records = pool.records(since=t0)
        plot_task_timeline(records, origin=t0, ax=bottom,
                           title=f"map_async: blocked for {got - worked:.1f} s after its own work")
        draw_caller(bottom, t0, [(returned, worked, "caller's own work"), (worked, got, "caller blocked")], returned)
        last_run["map_async early"] = returned < max(r.finished for r in records)
    return figure

Experiment(
    map_or_map_async,
    processes=widgets.IntSlider(2, min=1, max=4, description="processes"),
    tasks=widgets.IntSlider(4, min=1, max=12, description="tasks"),
    duration=widgets.FloatSlider(0.2, min=0.05, max=0.5, step=0.05, description="task (s)"),
)

# %% [markdown]
# Whatever the settings, one thing does not change:

# %%
print("map gave control back before its tasks finished:", last_run["map early"])
print("map_async gave control back before its tasks finished:", last_run["map_async early"])

# %% [markdown]
# ## 10. Exercise: gather results with a callback
#
# Write `collect_squares(pool, numbers)`. For each number, call
# `pool.apply_async(square_number, (n,), callback=...)` with a callback that appends the
# square to a list. Keep the tickets, wait for each with `.get(timeout=5)`, then return the
# list. (The order of the list does not matter: callbacks run in the order tasks finish.)
#
# The check runs your function on a pool of its own, with each task slowed down a little.

# %%
from procsync_teach.course.exercises.pools import check_collect_squares, check_method_choices

def collect_squares(pool, numbers):
    """Return the squares of numbers, computed with pool.apply_async, gathered by a callback."""
    ...

check_collect_squares(collect_squares)

# %% tags=["solution"]
def collect_squares(pool, numbers):
    squares = []
    tickets = [pool.apply_async(square_number, (n,), callback=squares.append) for n in numbers]
    for ticket in tickets:
        ticket.get(timeout=5)  # when get returns, the callback has already run
    return squares

check_collect_squares(collect_squares)

# %% [markdown]
# ## 11. Exercise: the right method for the job
#
# For each scenario, choose `"apply"`, `"apply_async"`, `"map"` or `"map_async"`:
#
# - **A.** You need one slow result before the next line of your program can run.
# - **B.** One slow computation starts, the notebook's progress bar must keep moving, and you
#   want to be told when it is done.
# - **C.** Square 10,000 numbers; there is nothing else to do until all of them are back.
# - **D.** Resize 500 images while the main program keeps answering its user.

# %%
choices = {"A": ..., "B": ..., "C": ..., "D": ...}
check_method_choices(choices)

# %% tags=["solution"]
choices = {"A": "apply", "B": "apply_async", "C": "map", "D": "map_async"}
check_method_choices(choices)

# %% [markdown]
# ## Key points
#
# - `apply` and `map` **block**: your program waits until every result is back, and then
#   has it in hand (a value, a list).
# - `apply_async` and `map_async` return at once with an `AsyncResult`; your program keeps
#   working and collects with `get(timeout=...)`, or gets each result through a `callback`.
# - A timeline with the caller's lane shows blocking at a glance: where the call returned,
#   and what the caller did while the workers worked.
# - Starting workers costs time, so reuse one pool for many tasks, and close it
#   (`close()` then `join()`, or a `with` block) when done.
#
# Next: what happens when a result is late, and how a pool ends:
# [04 · Timeouts and the life of a pool →](04_timeouts_and_lifecycle.ipynb)
