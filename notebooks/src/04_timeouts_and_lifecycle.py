# %% [markdown]
# # 04 · Timeouts and the life of a pool
#
# [← 03 · Pool: waiting or not waiting](03_pool_sync_vs_async.ipynb) | [course map](00_start_here.ipynb#The-course-map) | [05 · Chunksize and speed-up →](05_chunksize_and_speedup.ipynb)
#
# In notebook 03 every result came back. Here we ask what happens when one is late, and
# how a pool ends: politely, abruptly, or at the end of a `with` block, and what becomes
# of the results still on their way.
#
# **Learning objectives.** By the end you can:
#
# - wait for a result at most a given time with `get(timeout=...)`, and handle the `TimeoutError`;
# - explain why a task goes on running after its caller gave up;
# - tell `close()`, `terminate()` and `join()` apart, and call them in a working order;
# - collect results inside a `with` block, before it terminates the pool;
# - say what `terminate()` does to unfinished results, here and in `multiprocessing`.

# %% [markdown]
# ## 1. Waiting, but not for ever
#
# First our tools: a task that sleeps and then returns a value, the pool and its timeline
# from notebook 03, and a helper that marks a moment on a timeline with a vertical line.

# %%
import time

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from procsync_teach import Pool, PoolTerminated, TimeoutError, get_context, now
from procsync_teach.course.plots import legend_outside, plot_task_timeline, subplots

def slow(seconds, value=None):
    time.sleep(seconds)  # stands for real work
    return value

def mark(ax, when, origin, label, colour="crimson"):
    """Draw a dotted vertical line at the time `when` and add it to the legend."""
    ax.axvline(when - origin, color=colour, linestyle=":", linewidth=2)
    legend = ax.get_legend()  # matplotlib before 3.7 calls its handles legendHandles
    handles = [*(getattr(legend, "legend_handles", None) or legend.legendHandles),
               Line2D([], [], color=colour, linestyle=":", linewidth=2, label=label)]
    legend_outside(ax, handles)
    ax.set_xlim(left=0)

# %% [markdown]
# A task needs 1 second; we are willing to wait 0.2. `get(timeout=0.2)` waits that long,
# then raises `TimeoutError`. The result is not ready, but the task was not cancelled: a
# second `get` later still collects it.

# %%
with Pool(1) as pool:
    pool.apply(slow, (0,))  # wait until the worker is up, so the timeline starts with our task
    t0 = now()
    ticket = pool.apply_async(slow, (1.0, "done"))
    try:
        ticket.get(timeout=0.2)
    except TimeoutError as error:
        caught = error  # kept for step 2 (Python forgets `error` after the except block)
        print("get(timeout=0.2) raised", type(error).__name__)
    print("ready after giving up?", ticket.ready())
    print("a second get, with time to spare, gives:", ticket.get(timeout=5))
    collected = now()
    records = pool.records(since=t0)

# %%
ax = plot_task_timeline(records, origin=t0, deadline=t0 + 0.2,
                        title="get(timeout=0.2) gives up at the deadline; the task runs on")
mark(ax, collected, t0, "second get() returned", colour="green")
plt.show()

# %% [markdown]
# The bar runs well past the deadline: giving up only stopped the *waiting*. The pool's
# record says the same:

# %%
task = records[0]
print("the task finished after the deadline:", task.finished > t0 + 0.2)
print("its outcome:", task.outcome)

# %% [markdown]
# ## 2. Which `TimeoutError`?
#
# Python has several classes of that name. `procsync_teach.TimeoutError` *is a*
# `multiprocessing.TimeoutError`, so code written for the standard library catches it too.
# But Python's built-in `TimeoutError` (the one you get without importing anything) is
# another class: `except TimeoutError:` catches nothing here unless you imported the right one.

# %%
import builtins
import multiprocessing

print("our error is a multiprocessing.TimeoutError:", isinstance(caught, multiprocessing.TimeoutError))
print("our error is a built-in TimeoutError:", isinstance(caught, builtins.TimeoutError))

# %% [markdown]
# ## 3. Three ways a pool's life goes on or ends
#
# | call | what it does | tasks already submitted | then |
# |---|---|---|---|
# | `close()` | accept no more work | run to the end | the workers exit when the queue is empty |
# | `terminate()` | stop the workers now | unfinished ones are lost | the workers are gone at once |
# | `join()` | wait until every worker has exited | (no effect) | only allowed after `close()` or `terminate()` |
#
# A pool is in one of three states: RUN while it accepts work, then CLOSE or TERMINATE.
# `join()` waits until every worker has exited: the pool has *ended* (the "joined" box
# below), and its `repr` says so beside the last state, as in `state=CLOSE, ended`. (A
# fourth state, BROKEN, is for a pool that cannot go on; its `repr` says why.)

# %%
def draw_lifecycle():
    """The states of a pool as boxes, the calls that move it along as arrows."""
    figure, ax = subplots(height=3)
    places = {"RUN": (0.1, 0.5), "CLOSE": (0.5, 0.85), "TERMINATE": (0.5, 0.15), "joined": (0.9, 0.5)}
    says = {"RUN": "accepts work", "CLOSE": "finishes its queue,\naccepts nothing",
            "TERMINATE": "workers stopped", "joined": "every worker\nhas exited"}
    boxes = {state: ax.text(x, y, f"{state}\n{says[state]}", ha="center", va="center",
                            bbox=dict(boxstyle="round", facecolor="white"))
             for state, (x, y) in places.items()}
    for start, end, call in [("RUN", "CLOSE", "close()"), ("RUN", "TERMINATE", "terminate(),\nend of with"),
                             ("CLOSE", "TERMINATE", "terminate()"), ("CLOSE", "joined", "join()"),
                             ("TERMINATE", "joined", "join()")]:
        ax.annotate("", xy=places[end], xytext=places[start],
                    arrowprops=dict(arrowstyle="->", patchA=boxes[start].get_bbox_patch(),
                                    patchB=boxes[end].get_bbox_patch()))
        (x0, y0), (x1, y1) = places[start], places[end]
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, call, ha="center", va="center",
                color="crimson", bbox=dict(facecolor="white", edgecolor="none", pad=1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    ax.set_title("The life of a pool")
    return figure

draw_lifecycle()
plt.show()

# %% [markdown]
# Let's walk through it. A new pool is in RUN. `join()` would wait for workers that will
# never exit, so it refuses:

# %%
pool = Pool(2)
print(pool)
try:
    pool.join()
except ValueError as error:
    print("join() on a running pool:", type(error).__name__, "-", error)

# %% [markdown]
# Four tasks go in, then `close()`. The pool now refuses new work, but what was submitted
# goes on:

# %%
tickets = [pool.apply_async(slow, (0.2, n)) for n in range(4)]
pool.close()
try:
    pool.apply(slow, (0, 4))
except ValueError as error:
    print("apply() after close():", type(error).__name__, "-", error)

# %% [markdown]
# `join()` waits for the four tasks, then for the workers to exit: the pool has ended.
# Every ticket is settled:

# %%
pool.join()
print(pool)
print("results:", [ticket.get(timeout=1) for ticket in tickets])

# %% [markdown]
# ## 4. `terminate()` in the middle of work
#
# Now the abrupt way. Two quick tasks finish; four lengthy ones follow, of which two start
# (one per worker) and two wait their turn. Then `terminate()`.
#
# The workers warm up on another function, `abs`. Had they warmed up on `slow(0)`, a task
# done in under a millisecond, the pool would take `slow` for a quick function and line up
# the next jobs of it behind one worker (which speeds up a `map` of many quick tasks),
# and the lengthy tasks would queue on worker 0 while worker 1 sat idle.

# %%
pool = Pool(2)
pool.map(abs, [0, 0], chunksize=1)  # wait until both workers are up
t0 = now()
quick = [pool.apply_async(slow, (0.2, n)) for n in range(2)]
lengthy = [pool.apply_async(slow, (2.0, n)) for n in range(2, 6)]
for ticket in quick:
    ticket.get(timeout=5)
time.sleep(0.2)  # the lengthy tasks are under way now
stopping = now()
pool.terminate()
pool.join()
records = pool.records(since=t0)

# %%
ax = plot_task_timeline(records, origin=t0, title="terminate() in the middle of work")
mark(ax, stopping, t0, "terminate()")
plt.show()

# %% [markdown]
# The dotted bars are the tasks cut short. The two that never reached a worker have no bar,
# but they were not forgotten: with `procsync_teach`, `terminate()` settles every unfinished
# ticket with a `PoolTerminated` error, so no `get()` waits for ever.

# %%
def outcome(ticket):
    """A ticket's value, or the name of the error its get() raises."""
    try:
        return ticket.get(timeout=1)
    except Exception as error:
        return type(error).__name__

from collections import Counter

print([outcome(ticket) for ticket in quick + lengthy])
print("outcomes in the pool's records:", dict(sorted(Counter(r.outcome for r in records).items())))
cut_short = [r for r in records if r.outcome == "terminated" and r.worker >= 0]
print("tasks cut short:", len(cut_short), "- one on each worker:",
      sorted(r.worker for r in cut_short) == [0, 1])

# %% [markdown]
# ## 5. A `with` block ends with `terminate()`
#
# Leaving a `with Pool(...)` block calls `terminate()`, not `close()` and `join()`. A task
# still running at the end of the block is lost:

# %%
with Pool(2) as pool:
    ticket = pool.apply_async(slow, (0.3, "made it"))
# here the block has ended, and the pool with it
try:
    print(ticket.get(timeout=5))
except PoolTerminated as error:
    print(type(error).__name__, "-", error)

# %% [markdown]
# So collect your results *inside* the block:

# %%
with Pool(2) as pool:
    ticket = pool.apply_async(slow, (0.3, "made it"))
    print(ticket.get(timeout=5))

# %% [markdown]
# ## 6. The same with `multiprocessing.Pool`: a wait without end
#
# The standard library's pool never settles a result that `terminate()` cut short: its
# `ready()` stays `False` and a `get()` without a timeout never returns. We show it safely,
# with a timeout. (The task is `time.sleep` itself, a function every worker can import
# whatever the start method; the pool is `multiprocessing`'s, with the course's start method.)

# %%
std_pool = get_context().Pool(1)
ticket = std_pool.apply_async(time.sleep, (1.0,))
std_pool.terminate()
try:
    ticket.get(timeout=0.5)  # without the timeout, this line would never return
except multiprocessing.TimeoutError as error:
    print("get(timeout=0.5) raised", type(error).__name__)
print("ready() after terminate():", ticket.ready())
std_pool.join()

# %% [markdown]
# With `multiprocessing`, then, collect before you terminate; or use `close()` and `join()`,
# which let every submitted task finish.

# %% [markdown]
# ## 7. Try it: a timeout against a task
#
# Set how long the task takes and how long `get()` waits, then press **Run**. The timeline
# marks the deadline; the title says whether `get()` returned in time. Whatever happens, the
# experiment collects the task afterwards, so you always see its whole bar.
#
# Things to try: a timeout just above, then just below, the task's duration. Close to
# equality the answer can change from run to run: a pool needs a moment to pass a task to
# a worker and to bring the result back.

# %%
import ipywidgets as widgets

from procsync_teach.course.widgets import Experiment

last_run = {}

def timeout_against_task(timeout=0.2, duration=1.0):
    """Ask for a task's result with a timeout; draw the task and the deadline."""
    with Pool(1) as pool:
        pool.apply(slow, (0,))  # wait until the worker is up
        t0 = now()
        ticket = pool.apply_async(slow, (duration, "done"))
        try:
            ticket.get(timeout=timeout)
            last_run["verdict"] = "in time"
        except TimeoutError:
            last_run["verdict"] = "timed out"
        ticket.get(timeout=duration + 10)  # collect it anyway, to draw the whole task
        records = pool.records(since=t0)
    figure, ax = subplots(height=2.4)
    plot_task_timeline(records, origin=t0, ax=ax, deadline=t0 + timeout,
                       title=f"a {duration:.2f} s task, a {timeout:.2f} s timeout: {last_run['verdict']}")
    ax.set_xlim(left=0)
    return figure

Experiment(
    timeout_against_task,
    timeout=widgets.FloatSlider(0.2, min=0.1, max=2.0, step=0.1, description="timeout (s)"),
    duration=widgets.FloatSlider(1.0, min=0.1, max=2.0, step=0.1, description="task (s)"),
)

# %% [markdown]
# With the first settings (a 1-second task, 0.2 seconds of patience) the outcome is never
# in doubt:

# %%
print("get() with the first settings:", last_run["verdict"])

# %% [markdown]
# ## 8. Exercise: a result, or a default
#
# Write `get_or_default(result, timeout, default)`: return the result of the `AsyncResult`
# if it comes within `timeout` seconds, otherwise `default`. If the task itself failed,
# its error must still reach the caller. (Mind which `TimeoutError` you catch: this
# notebook imported `procsync_teach`'s in step 1.)

# %%
from procsync_teach.course.exercises.lifecycle import check_get_or_default, check_shutdown_order

def get_or_default(result, timeout, default):
    """Return result.get(timeout=timeout), or default if the result is not ready in time."""
    ...

check_get_or_default(get_or_default)

# %% tags=["solution"]
def get_or_default(result, timeout, default):
    try:
        return result.get(timeout=timeout)
    except TimeoutError:  # procsync_teach's, which is also multiprocessing's
        return default

check_get_or_default(get_or_default)

# %% [markdown]
# ## 9. Exercise: the right order
#
# A program submits four tasks to a pool of two workers, and must end with **every result
# collected and every worker gone**. Put the steps it needs in order, as a list of names:
# `"submit"` (four `apply_async` calls), `"get"` (a `get(timeout=5)` on each ticket),
# `"close"`, `"join"`, and `"terminate"` if you want it. The check performs your steps, in
# your order, on a real pool.

# %%
order = ...
check_shutdown_order(order)

# %% tags=["solution"]
order = ["submit", "close", "join", "get"]  # ["submit", "get", "close", "join"] works too
check_shutdown_order(order)

# %% [markdown]
# ## Key points
#
# - `get(timeout=...)` waits at most that long, then raises `TimeoutError`; the task goes
#   on running, and a later `get()` can still collect it. Always give a timeout.
# - Catch `procsync_teach.TimeoutError` or `multiprocessing.TimeoutError`, not Python's
#   built-in `TimeoutError`.
# - `close()` stops new work and lets the queue finish; `terminate()` stops the workers now;
#   `join()` waits for the workers to exit and needs one of the two first.
# - A `with` block ends with `terminate()`: collect results inside it.
# - After `terminate()`, `procsync_teach` settles unfinished results with `PoolTerminated`;
#   `multiprocessing` leaves them unsettled, and a `get()` without a timeout waits for ever.
#
# Next: when more workers make things faster, and when they do not:
# [05 · Chunksize and speed-up →](05_chunksize_and_speedup.ipynb)
