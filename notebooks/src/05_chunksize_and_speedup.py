# %% [markdown]
# # 05 · Chunksize and speed-up: when more workers help
#
# [← 04 · Timeouts and the life of a pool](04_timeouts_and_lifecycle.ipynb) | [course map](00_start_here.ipynb#The-course-map) |
# [next: 06 · Inside the library →](06_inside_the_library.ipynb)
#
# A pool promises to go faster. Sometimes it does, sometimes it makes things slower, and
# sometimes adding workers changes nothing at all. This notebook measures why.
#
# **Learning objectives.** By the end you can:
#
# - explain why sending a pool many tiny tasks one by one is slow, and fix it with `chunksize`;
# - compute the chunksize `map` picks by itself, and count the messages it sends;
# - predict when more workers give a speed-up: CPU-bound work stops scaling at the number of
#   cores, waiting work does not;
# - use Amdahl's law to see why a speed-up stays below the number of workers.

# %% [markdown]
# ## Setup
#
# Three kinds of task, used all through the notebook:
#
# - `tiny` does almost nothing: the time goes into sending it to a worker and back;
# - `spin` keeps a core busy for about 20 ms with pure-Python arithmetic (*CPU-bound*);
# - `nap` sleeps 20 ms: it waits, like a task that waits for a disk or a web server, and
#   needs no core while it waits.

# %%
import os
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt

from procsync_teach import Pool, now
from procsync_teach.course.exercises.speedup import check_default_chunksize, check_few_messages
from procsync_teach.course.plots import (
    legend_outside,
    plot_seconds_against,
    plot_speedup,
    plot_task_timeline,
)
from procsync_teach.course.widgets import Experiment


def tiny(x):
    return x * x


def spin(n):
    """CPU-bound: add up n squares in a Python loop (n = 200_000 takes about 20 ms)."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def nap(seconds):
    """Waiting: sleep, then say for how long."""
    time.sleep(seconds)
    return seconds

# %% [markdown]
# ## 1. Many tiny tasks: the cost of a message
#
# A pool sends each piece of work to a worker as a *message*: the function and its
# arguments are pickled, written to a pipe, read and unpickled by the worker, and the
# result travels back the same way. That costs a fraction of a millisecond, much more than
# `x * x` itself.
#
# So `map` does not send items one by one. It cuts the list into **chunks** of `chunksize`
# items and sends one message per chunk. Let us map `tiny` over 2,000 numbers with
# chunksizes from 1 to 256, and with no chunksize at all (`None`: the pool chooses). Each
# map runs three times and we keep the fastest run: the slower ones were held up by
# something else on the machine. `pool.records()` tells us how many messages each map sent.
#
# (Strictly, a chunk is one *job*. When a worker runs a map's chunks in well under a
# millisecond, our pool sends it the next few chunks together, in one write to its pipe;
# notebook 06 shows how. Each chunk is still pickled, run, answered and settled on its
# own, and that per-chunk work is what a bigger chunksize saves.)

# %%
N = 2_000
CHUNKSIZES = [1, 4, 16, 64, 256, None]  # None: the pool's default
expected = [tiny(x) for x in range(N)]  # the serial answer, to compare with

seconds, records_of, all_equal = {}, {}, True
with Pool(2) as pool:
    for chunksize in CHUNKSIZES:
        runs = []
        for _ in range(3):
            since = now()
            results = pool.map(tiny, range(N), chunksize=chunksize)
            runs.append(now() - since)
            all_equal = all_equal and results == expected
        seconds[chunksize] = min(runs)
        records_of[chunksize] = pool.records(since=since)  # the last run's messages

print("every map gave the serial results:", all_equal)
print("chunksize  messages  items per message")
for chunksize, records in records_of.items():
    name = "default" if chunksize is None else chunksize
    print(f"{name:>9}  {len(records):>8}  {records[0].calls:>17}")

# %% [markdown]
# The counts are certain: 2,000 items in chunks of 16 make 2,000 / 16 = 125 messages.
# The default sent 8 messages of 250 items; section 2 explains why 250.
#
# The times are not certain (they depend on the machine and on what else runs), so we
# plot them instead of printing them. Both axes are logarithmic: each step right is a
# chunksize four times larger.

# %%
sizes = [c for c in CHUNKSIZES if c is not None]
ax = plot_seconds_against(sizes, [seconds[c] for c in sizes], "chunksize (items per message)",
                          label="chunksize given", log_x=True,
                          title=f"pool.map(tiny, range({N:,})) on 2 workers")
default_size = records_of[None][0].calls
ax.plot([default_size], [seconds[None]], marker="*", markersize=14, linestyle="",
        label=f"default (chunksize {default_size})")
ax.set_yscale("log")
legend_outside(ax)
plt.show()

# %% [markdown]
# The time falls roughly as fast as the number of messages: with chunksize 1, nearly all
# of it goes into sending messages and answering them, hardly any into `x * x`. The
# difference between the extremes is large enough to state as a fact:

# %%
print("chunksize 1 was slower than the default:", seconds[1] > seconds[None])
print("the axis is ticked at the chunksizes used:",
      [tick.get_text() for tick in ax.get_xticklabels()] == [str(c) for c in sizes])

# %% [markdown]
# Chunks can also be too big. With chunksize 2,000, one message carries everything and one
# worker does all the work while the other waits. For tasks as quick and even as `tiny`
# that hardly matters; for tasks that take different times, a few chunks per worker let a
# worker that finished early take another chunk. The experiment at the end of this
# notebook lets you see both effects.

# %% [markdown]
# ## 2. The chunksize `map` picks by itself
#
# `multiprocessing.Pool.map`, and our `Pool.map`, choose the chunksize with one line:
#
# ```python
# chunksize, extra = divmod(len(items), 4 * workers)   # then +1 if extra is not 0
# ```
#
# that is, about **four chunks per worker**: few messages, yet enough chunks that the work
# can be shared out again if some chunks take longer. For 2,000 items on 2 workers:

# %%
chunksize, extra = divmod(2_000, 4 * 2)
print("chunksize:", chunksize, "remainder:", extra)
print("messages:", len(records_of[None]))

# %% [markdown]
# No remainder, so the chunksize is 250: 8 messages, as the records said. (`imap` and
# `imap_unordered` do not use this formula: their default chunksize is 1.)
#
# ### Exercise 1: the default chunksize
#
# Write `default_chunksize(n_items, workers)`, returning the chunksize `map` picks when it
# is given none. Try it on 2,001 items and 2 workers: what happens to the extra item?

# %%
def default_chunksize(n_items, workers):
    ...


check_default_chunksize(default_chunksize)

# %% tags=["solution"]
def default_chunksize(n_items, workers):
    chunksize, extra = divmod(n_items, 4 * workers)
    if extra:
        chunksize += 1  # the leftover items still need a place
    return chunksize


check_default_chunksize(default_chunksize)

# %% [markdown]
# ### Exercise 2: at most ten messages
#
# You have 1,000 items and want `map` to send **at most 10 messages**. Which is the
# smallest chunksize that does it? (Why the smallest: smaller chunks share the work more
# evenly.) The check runs a real `map` with your chunksize and counts the messages.

# %%
my_chunksize = ...

check_few_messages(my_chunksize)

# %% tags=["solution"]
my_chunksize = 1_000 // 10  # 10 messages of 100 items each

check_few_messages(my_chunksize)

# %% [markdown]
# ## 3. Speed-up: what more workers buy
#
# Chunks settled how to *send* the work. Now: how much faster do several workers finish
# than no pool at all? The **speed-up** with *n* workers is *(time of a plain loop) /
# (time with n workers)*; the ideal is *n*. The baseline is the plain loop, not a pool of
# one worker: that pool pays for messages too, and would flatter the others.
#
# The CPU-bound work is real arithmetic: π from its series, π = 4 (1 − 1/3 + 1/5 − 1/7 + …),
# cut into pieces of 250,000 terms (about 20 ms each); the waiting work is `nap(0.02)`.
# We try from 1 worker up to **two more than this machine has cores**, so that on any
# machine the curves show what happens when the cores run out. Each pool first runs one
# `tiny` task per worker, so that starting processes is not what we measure; each map
# runs three times, and a plain loop runs twice before each pool: we keep the fastest of
# each, since the slower runs were held up by something else on the machine.

# %%
def pi_piece(k, terms=250_000):
    """CPU-bound: the k-th piece of π's series, terms k·terms to (k+1)·terms − 1."""
    total, first = 0.0, k * terms
    sign = -1.0 if first % 2 else 1.0
    for i in range(first, first + terms):
        total += sign / (2 * i + 1)
        sign = -sign
    return 4 * total


def usable_cores():
    """The cores this process may run on (fewer than the machine's if it is restricted)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def fastest(run, repeats):
    """The shortest of a few runs of run(), in seconds, and the last run's result."""
    best = float("inf")
    for _ in range(repeats):
        start = now()
        result = run()
        best = min(best, now() - start)
    return best, result


cores = usable_cores()
WORKERS = list(range(1, cores + 3))
TASKS = 3 * (cores + 2)  # 3 rounds of tasks for the most workers, more for fewer
pi_items, nap_items = list(range(TASKS)), [0.02] * TASKS

loop_seconds, pi_seconds, nap_seconds, all_equal = float("inf"), [], [], True
for workers in WORKERS:
    took, pieces = fastest(lambda: [pi_piece(k) for k in pi_items], repeats=2)
    loop_seconds = min(loop_seconds, took)
    with Pool(workers) as pool:
        pool.map(tiny, range(workers), chunksize=1)  # warm-up: every worker is running
        took, results = fastest(lambda: pool.map(pi_piece, pi_items, chunksize=1), repeats=3)
        pi_seconds.append(took)
        all_equal = all_equal and results == pieces
        took, results = fastest(lambda: pool.map(nap, nap_items, chunksize=1), repeats=3)
        nap_seconds.append(took)
        all_equal = all_equal and results == nap_items
nap_loop = TASKS * 0.02  # a plain loop of naps takes what its sleeps add up to, or longer

print("every pool gave the same results as a plain loop:", all_equal)
print(f"π from the pieces: {sum(pieces):.5f}")

# %%
ax = plot_speedup(WORKERS, nap_seconds, label="waiting task (time.sleep)", baseline=nap_loop,
                  cores=cores)
plot_speedup(WORKERS, pi_seconds, ax=ax, label="CPU-bound task (π's series)",
             baseline=loop_seconds, title=None)
plt.show()

# %% [markdown]
# The dotted line marks this machine's cores. There the two curves part ways:
#
# - **CPU-bound** pieces need a core each. With as many workers as cores, every core is
#   busy; the workers past the core count only take turns on the same cores, so the curve
#   flattens (lower still if other programs are busy). On **Binder**, which usually gives
#   one CPU, there is no CPU speed-up at all: every worker shares the same core.
# - **Waiting** tasks need no core while they sleep, so the curve goes on rising past the
#   core count, close to the ideal, on any machine.
# - Neither curve goes above the ideal: *n* workers cannot do more than *n* times the work of
#   one loop. (A measured speed-up above *n*, "super-linear", does happen: when the loop was
#   held up by another program and the pool was not, or when each worker's share of the data
#   fits in its core's cache and the whole did not. Here the loop and the pools run the same
#   code on small data, and keeping the fastest of several runs removes most of the
#   first cause; the check allows 10 % for what is left on a busy machine.)
#
# The checks, the same on any machine:

# %%
def speedups(seconds, baseline):
    return {n: baseline / s for n, s in zip(WORKERS, seconds)}


pi_speedup, nap_speedup = speedups(pi_seconds, loop_seconds), speedups(nap_seconds, nap_loop)
print("CPU-bound: two workers past the core count add less than one worker's worth:",
      pi_speedup[cores + 2] - pi_speedup[cores] < 1)
print("waiting: two workers past the core count add more than one worker's worth:",
      nap_speedup[cores + 2] - nap_speedup[cores] > 1)
print("CPU-bound: never above the ideal, n:", all(pi_speedup[n] <= 1.1 * n for n in WORKERS))
print("waiting: never above the ideal, n:", all(nap_speedup[n] <= 1.1 * n for n in WORKERS))

# %% [markdown]
# ### Amdahl's law: why the ideal is out of reach
#
# Even with enough cores, some of the work is not parallel: starting the map, pickling,
# collecting results, and whatever your program does before and after. If a fraction *p*
# of the work runs in parallel and the rest, *1 − p*, does not, then *n* workers give at
# most
#
# $$\text{speed-up}(n) = \frac{1}{(1 - p) + p / n},$$
#
# and no number of workers gives more than $1 / (1 - p)$. A small serial part caps the
# speed-up hard:

# %%
def amdahl(p, n):
    """The largest speed-up n workers can give when a fraction p of the work is parallel."""
    return 1 / ((1 - p) + p / n)


print("parallel part   2 workers   4 workers   16 workers   limit")
for p in (0.5, 0.9, 0.99):
    row = "   ".join(f"{amdahl(p, n):>9.2f}" for n in (2, 4, 16))
    print(f"{p:>13.0%}   {row}   {1 / (1 - p):>6.0f}")

# %% [markdown]
# With 90 % of the work parallel, 16 workers give a speed-up of 6.4, not 16, and no number
# of workers ever reaches 10.
#
# ## 4. Your turn to experiment
#
# The experiment below maps a task over a list and draws who ran which chunk, and when:
# one bar per message. The title says how many messages the map sent and how long it
# took. Choose the number of workers, the chunksize and the kind of task, then press
# **Run**. Things to try:
#
# - `tiny` (500 items here) with chunksize 1, then 16, then the default: watch the number
#   of bars and the time (drawing 500 bars takes a few seconds too);
# - `spin` (CPU-bound) with 1, 2 and 4 workers: more bars side by side, but does it end sooner?
# - `nap` with 4 workers: the same question, another answer;
# - `spin` with chunksize 16: one chunk holds every task, so one worker does everything.

# %%
KINDS = {
    "tiny": (tiny, list(range(500))),  # 500, not 2,000: each message is a bar to draw
    "spin": (spin, [200_000] * 16),
    "nap": (nap, [0.02] * 16),
}


last_map = {}


def run_map(workers=2, chunksize=0, kind="tiny"):
    """Map one kind of task on a new pool and draw its timeline; chunksize 0 is the default."""
    task, items = KINDS[kind]
    with Pool(workers) as pool:
        pool.map(tiny, range(workers), chunksize=1)  # warm-up: every worker is running
        since = now()
        last_map["results"] = pool.map(task, items, chunksize=chunksize or None)
        took = now() - since
        records = pool.records(since=since)
    last_map["messages"] = len(records)
    plural = "s" * (len(records) != 1)
    title = f"{kind}: {len(items):,} items in {len(records):,} message{plural}, {took:.3f} s"
    ax = plot_task_timeline(records, origin=since, title=title)
    ax.set_xlim(left=0)  # 0 is when map() was called
    return ax.figure


Experiment(
    run_map,
    workers=widgets.IntSlider(value=2, min=1, max=4, description="workers"),
    chunksize=widgets.Dropdown(
        options=[("default", 0), ("1", 1), ("4", 4), ("16", 16), ("64", 64), ("256", 256)],
        value=0, description="chunksize",
    ),
    kind=widgets.Dropdown(options=list(KINDS), value="tiny", description="task"),
)

# %% [markdown]
# The first run maps `tiny` over 500 items on 2 workers at the default chunksize. Its
# title's count of messages is certain, and so are its results:

# %%
first_chunksize = -(-500 // (4 * 2))  # 500 / 8, rounded up: the default chunksize
print("messages the first run sent, as the default chunksize says:",
      last_map["messages"] == -(-500 // first_chunksize))
print("its results are the serial ones:", last_map["results"] == [tiny(x) for x in range(500)])

# %% [markdown]
# ## Key points
#
# - Every message to a worker costs far more than a tiny task: `map` groups items into
#   chunks, one message per chunk. Chunksize 1 on tiny tasks is the slowest way to use a pool.
# - `map`'s default chunksize is `divmod(len(items), 4 * workers)`, plus 1 for a remainder:
#   about four chunks per worker. `imap` defaults to 1.
# - CPU-bound work speeds up at most to the number of cores (`os.cpu_count()`), and not at
#   all on one CPU; waiting work keeps scaling with more workers.
# - Amdahl's law: with a serial fraction *1 − p*, no number of workers gives more than
#   *1 / (1 − p)*.
# - Measured times vary from run to run: compare them in plots, and trust only large differences.
#
# **Next:** [06 · Inside the library →](06_inside_the_library.ipynb)
