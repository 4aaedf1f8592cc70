# %% [markdown]
# # 14 · Deep dive (optional): the dispatcher's speed tricks
#
# [← 13 · Beyond one machine](13_beyond_one_machine.ipynb) |
# [course map](00_start_here.ipynb#The-course-map) |
# [back to 06 · Inside the library](06_inside_the_library.ipynb)
#
# **This notebook is optional.** Notebook 06 showed the core of our `Pool`: one pipe per
# worker, one dispatcher thread that hands out jobs, reads replies and watches sentinels.
# That core is all you need to use a pool well and to reason about it. This notebook is
# for the curious: the three things the dispatcher does on top, to be fast with tiny
# tasks and with endless inputs, and what each one costs in simplicity.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# - say when the dispatcher lines jobs up behind a busy worker (`LINE_UP_JOBS`), and
#   measure what that saves;
# - explain what the `imap` *feeder* threads do, and why the dispatcher waits for them
#   (`_feeders`) after `close()`;
# - explain why the dispatcher reads every reply waiting in a pipe in one go.

# %% [markdown]
# ## Setup
#
# Private method names change as a library is improved, so this notebook finds the code
# it shows by what the code mentions, not by the method's name: `methods_mentioning(cls,
# text)` lists the methods of `cls` whose source contains `text`.

# %%
import inspect
import itertools
import threading
import time

import matplotlib.pyplot as plt

import procsync_teach
from procsync_teach import Pool, now
from procsync_teach.course.plots import subplots

Dispatcher = procsync_teach.pool._Dispatcher  # the pool's inside: see notebook 06


def show(function):
    """Print the source of a function or class, as the library has it."""
    print(inspect.getsource(function))


def methods_mentioning(cls, text):
    """The methods of cls whose source contains text, in the order of the file."""
    methods = [value for value in vars(cls).values() if inspect.isfunction(value)]
    return [method for method in methods if text in inspect.getsource(method)]



# %% [markdown]
# ## 1. Lining jobs up behind a busy worker
#
# In notebook 06, a job reaches a worker only when that worker is idle. For a task that
# takes a few microseconds, that is slow: the worker finishes, its reply travels to the
# dispatcher, the dispatcher wakes up, and a new job travels back, while the worker sits
# idle. That round trip takes far longer than the task.
#
# So a worker that has just run a function **quickly** (in under `QUICK_JOB` seconds)
# gets more jobs of the **same function** lined up behind the one it runs, up to
# `LINE_UP_JOBS`, all in one message: when it finishes one, the next is already in its
# pipe. Any other job never waits behind a busy worker: it stays in the pool for whichever
# worker falls idle first. The two constants, from `pool.py`:

# %%
print("LINE_UP_JOBS =", procsync_teach.pool.LINE_UP_JOBS)
print("QUICK_JOB =", procsync_teach.pool.QUICK_JOB)

# %% [markdown]
# And the methods that apply it: the dispatcher's hand-out at the top of each lap, and
# the test a job must pass to wait behind a busy worker.

# %%
for method in methods_mentioning(Dispatcher, "LINE_UP_JOBS"):
    show(method)

# %% [markdown]
# What does it save? We time a `map` of 2000 tiny tasks at `chunksize=1` (so 2000 jobs)
# with lining up and with `LINE_UP_JOBS = 0`, which turns it off: then every job waits
# for an idle worker. The two take turns, 5 rounds (as in notebook 12: a busy moment of
# the machine then falls on both alike); the chart shows each one's best time.

# %%
import statistics


def time_tiny_map(pool, line_up):
    """Seconds for a map of 2000 tiny jobs, with LINE_UP_JOBS set to line_up."""
    procsync_teach.pool.LINE_UP_JOBS = line_up  # the dispatcher reads it at every lap
    began = now()
    pool.map(abs, range(2000), chunksize=1)
    return now() - began


saved = procsync_teach.pool.LINE_UP_JOBS
lined_up, one_at_a_time = [], []
try:
    with Pool(2) as pool:
        pool.map(abs, range(10))  # both workers up before we time
        for _ in range(5):
            lined_up.append(time_tiny_map(pool, saved))
            one_at_a_time.append(time_tiny_map(pool, 0))  # no lining up
finally:
    procsync_teach.pool.LINE_UP_JOBS = saved

fig, ax = subplots(height=2.2)
ax.barh(["jobs lined up", "one job at a time"], [min(lined_up), min(one_at_a_time)],
        color=["tab:blue", "grey"])
ax.set_xlabel("time (s), best of 5")
ax.set_title("map(abs, range(2000), chunksize=1) on 2 workers")
plt.show()

# %% [markdown]
# Lining up makes such a map several times faster. Checked on the median of the rounds'
# ratios, with a margin that holds on a busy machine too:

# %%
ratio = statistics.median(off / on for on, off in zip(lined_up, one_at_a_time))
print("lining up made the map of tiny jobs faster:", ratio > 1.5)

# %% [markdown]
# The price: a job lined up behind a worker cannot go to another worker that falls idle.
# That is why only jobs of a function that *just ran quickly* line up. The rule judges a
# job by the worker's last run, because the job itself has not run yet: so a slow call of
# a function whose last call was quick (one long item in a map of tiny ones) does line up.
# So when a worker falls idle and nothing else waits, the dispatcher *takes back* the jobs
# lined up behind a busy worker that it has not started yet, and hands them to the idle
# one (`procsync_teach/takeback.py`: the worker and the pool check, under one shared lock,
# that each job is either started or taken back, never both). No job waits behind a
# running one while another worker is idle.
#
# ## 2. The imap feeders
#
# `map` knows all its items at once: it cuts them into chunks and queues them. `imap` and
# `imap_unordered` accept any iterable, even a generator that produces items slowly, and
# hand out results as they come. So they cannot cut the input up front. Each `imap` call
# starts a **feeder** thread of its own, which reads the input, turns each chunk into a job
# and wakes the dispatcher. The pool counts the feeders still running in `_feeders`. The
# feeder's loop is `feed_chunks`, in `chunks.py`, which the cluster pool of notebook 13
# shares; `_submit_chunk` is what our pool does with each chunk:

# %%
for method in methods_mentioning(Dispatcher, "_feeders"):
    print(method.__qualname__)
show(methods_mentioning(Dispatcher, "self._feeders -= 1")[0])
show(Dispatcher._submit_chunk)
show(procsync_teach.chunks.feed_chunks)

# %% [markdown]
# Watch one feed. `slow_numbers` produces a number every 20 ms. We call `imap`, then
# `close()` at once, while the feeder is still reading the input.

# %%
def slow_numbers(count):
    for number in range(count):
        time.sleep(0.02)
        yield number


with Pool(2) as pool:
    returned = pool.imap(abs, slow_numbers(10))
    feeding = [thread.name for thread in threading.enumerate() if "feeder" in thread.name]
    pool.close()  # no more calls; what is queued, or still being fed, runs
    results = [returned.next(timeout=10) for _ in range(10)]
    pool.join()
print("a feeder thread was running:", len(feeding) == 1)
print("results after close():", results)

# %% [markdown]
# `close()` came while the input was still being read, and every result arrived. The
# feeder's jobs are queued work, and `close()` promises that queued work runs; so the
# dispatcher does not stop while `_feeders` is not zero (look for it in the condition of
# the dispatcher's lap in notebook 06, section 2). `terminate()`, on the other hand,
# makes the feeder stop and fail the rest.
#
# ## 3. Replies read in bulk
#
# When the dispatcher wakes up because a worker's pipe is readable, often several replies
# are waiting there: a worker with lined-up jobs answers them one after the other.
# `Connection.recv_bytes` reads one message with two system calls (its length, then its
# body). `read_messages`, in `inbox.py`, reads all that has arrived with one call and cuts
# the messages out of it. That needs a pipe that is a file descriptor, as on Linux and
# macOS; on Windows, whose pipes are not, it falls back to one `recv_bytes` per message:

# %%
show(procsync_teach.inbox.read_messages)
print("Dispatcher methods that read replies this way:",
      [method.__qualname__ for method in methods_mentioning(Dispatcher, "read_messages(")])

# %% [markdown]
# Less work per reply for the dispatcher, which is the one thread every result goes
# through. The cost is code to review: framing messages by hand must match
# `Connection.send_bytes` exactly, which is why `tests/test_inbox.py` sends messages with
# the standard library's `send_bytes` (several at once, one longer than a read, one with
# the long length header) and checks that `read_messages` cuts them out whole.

# %% [markdown]
# ## 4. Exercises
#
# ### Exercise 1: who lines up?
#
# Read the methods of section 1 again. Which of these statements are true? Give their
# letters, e.g. `{"A", "D"}` or `"AD"`.
#
# - **A.** A job waits behind a busy worker only if that worker's last job ran the same
#   function in under `QUICK_JOB` seconds.
# - **B.** A job can wait in a busy worker's pipe when that worker's last job, of the same
#   function, took one second.
# - **C.** The jobs a worker is given in one lap of the dispatcher travel to it in one
#   message.
# - **D.** `LINE_UP_JOBS` limits how many jobs wait in the pool's queue, in all.

# %%
from procsync_teach.course.exercises.deep_dive import check_feeders, check_line_up

true_statements = ...  # letters, e.g. {"A", "D"}
check_line_up(true_statements)

# %% tags=["solution"]
true_statements = {"A", "C"}
check_line_up(true_statements)

# %% [markdown]
# ### Exercise 2: why wait for the feeders?
#
# After `close()`, the dispatcher goes on while `_feeders` is not zero. Why? Give one
# letter.
#
# - **A.** The feeder still turns the input into jobs, and `close()` promises that
#   queued work still runs.
# - **B.** The feeder threads need the dispatcher to read the `imap` input for them.
# - **C.** `close()` has stopped the workers, and the dispatcher must start new ones for
#   the feeder's jobs.

# %%
reason = ...  # "A", "B" or "C"
check_feeders(reason)

# %% tags=["solution"]
reason = "A"
check_feeders(reason)

# %% [markdown]
# ## Key points
#
# - For tiny tasks, the round trip between the dispatcher and a worker costs more than the
#   task. The dispatcher lines up to `LINE_UP_JOBS` jobs of a function that just ran
#   quickly behind the worker that runs it, in one message; other jobs wait for an idle
#   worker. Jobs lined up behind a call that turns out slow are taken back for a worker
#   that falls idle.
# - `imap` reads its input in a feeder thread of its own; the dispatcher counts the feeders
#   (`_feeders`) and does not stop after `close()` until they are done.
# - The dispatcher reads every reply waiting in a pipe in one go (`read_messages`).
# - Each trick is a little more code to trust; each is tested against the standard
#   library's behaviour.
#
# This is the last notebook. [Back to the course map](00_start_here.ipynb#The-course-map).
