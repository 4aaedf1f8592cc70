# %% [markdown]
# # 00 · Start here
#
# **You are here: the start** | [course map](#The-course-map) |
# [next: 01 · Processes and garbled output →](01_processes_and_garbled_output.ipynb)
#
# Welcome! This course shows how Python programs do several things at once with
# **processes**: how processes keep out of each other's way (**synchronisation**, with
# locks) and how a **pool** of processes shares out a pile of work. It takes an
# afternoon or two: fifteen short notebooks (the last one optional), each a story of small
# steps you run yourself.
# Teaching it? The [teacher guide](../docs/teacher-guide.md) plans the sessions; the [cheat-sheet](../docs/cheat-sheet.md) maps it to `multiprocessing`.
#
# ## Learning objectives
#
# In this notebook you will:
#
# - learn what the course covers and how its notebooks work;
# - check that your computer is ready for it, and learn how to fix it if not;
# - try an exercise, check your answer and open its solution;
# - start your first process and wait for it to finish.

# %% [markdown]
# ## What the course teaches
#
# A Python program normally does one thing at a time. To use several CPU cores at once
# it can start more **processes**: separate running copies of Python, each with its own
# memory, that the operating system runs side by side. Two questions follow, and the
# course answers both:
#
# 1. **Sharing.** Processes that use the same thing at once (the screen, a file, a
#    counter) get in each other's way. A **lock** lets one of them in at a time.
# 2. **Sharing out work.** Starting a process is slow. A **pool** starts a few workers
#    once and hands them task after task.
#
# We use `procsync_teach`, a small library written for this course. Its `Lock`, `Pool`
# and `Process` have the same interface as those of Python's `multiprocessing` module,
# so what you learn here works there too (change the import). They also behave better in
# a notebook, and they record what happened, so that we can draw it.

# %% [markdown]
# ## How to use these notebooks
#
# - **Run the cells in order**, from the top: click a cell, then press **Shift-Enter**
#   to run it and move to the next. A cell that shows `[*]` on its left is still running.
# - The outputs you see before running anything were saved when the notebook was made.
#   Running a cell replaces them with yours; timings and timelines will differ a little,
#   and that is expected.
# - **Exercises** give you a cell with `...` to replace by your code. The last line of that
#   cell checks your answer: ⏳ means not answered yet, ❌ comes with a hint that says which
#   part is not right yet, ✅ means you got it. Right below is the **solution**, in a cell
#   whose code and output are hidden: try first, then click the collapsed cell (or the `…`
#   in it) to open it.
# - **If something hangs or goes wrong**: the ■ button (or *Kernel → Interrupt Kernel*)
#   stops the running cell. To start afresh, use *Kernel → Restart Kernel and Run All
#   Cells…*. A restart forgets every variable, so after one, run the cells again from the top.

# %% [markdown]
# ## 1. Check your environment
#
# Run the next cell. Each line says ✅ when something is ready, or ❌ and what to do.

# %%
import os
import sys


def report(ok, what, fix):
    """Print ✅ and what was checked, or ❌ and how to fix it."""
    print(f"✅ {what}" if ok else f"❌ {what}\n   → {fix}")


report(sys.version_info >= (3, 10), "Python 3.10 or newer",
       f"this is Python {sys.version.split()[0]}: install Python 3.10 or newer.")

if (os.cpu_count() or 1) >= 2:
    print("✅ cores: 2 or more, enough to run processes side by side")
else:  # Binder, for one: everything works, but nothing can run side by side
    print("⚠️ cores: only 1. The course works, but a pool cannot beat a plain loop here.")

try:
    import procsync_teach
    report(True, "procsync_teach imports", "")
except ImportError:
    procsync_teach = None
    report(False, "procsync_teach imports",
           "run `pip install -e .` in the course's folder, then restart the kernel.")

if procsync_teach is not None:
    try:
        procsync_teach.start_method()  # which one it is does not matter: all are supported
        report(True, "start method: one of fork, spawn or forkserver, all supported", "")
    except ValueError as error:  # PROCSYNC_START_METHOD names a method this system lacks
        report(False, "start method", str(error))

try:
    import matplotlib
    backend = matplotlib.get_backend().lower()
    report("inline" in backend or "widget" in backend, "matplotlib draws plots in the notebook",
           f"plots go to {backend!r}: run %matplotlib inline in a cell (and unset MPLBACKEND "
           "before you next start Jupyter).")
except ImportError:
    report(False, "matplotlib imports", "run `pip install matplotlib`, then restart the kernel.")

try:
    import ipywidgets
    report(int(ipywidgets.__version__.split(".")[0]) >= 8, "ipywidgets 8 or newer",
           "run `pip install -U ipywidgets`, then restart the kernel.")
except ImportError:
    report(False, "ipywidgets imports", "run `pip install ipywidgets`, then restart the kernel.")

# %% [markdown]
# ### Your operating system
#
# The outputs you see in the notebooks come from Linux. On Windows and macOS the course
# works too, but a few cells show what only some systems have (`fork`, zombies, Ctrl-C
# sent to a group of processes); there they say so instead. This cell lists them for
# your system:

# %%
from procsync_teach.course.platforms import print_platform_notes

print_platform_notes()

# %% [markdown]
# ### Start methods
#
# There are three ways for Python to start a process, called **start methods**:
#
# - **fork** copies the running program: fast (the default on Linux up to Python 3.13;
#   not on Windows);
# - **spawn** starts a fresh Python that imports what it needs: slower (the default on
#   Windows and macOS, and the only one Windows has);
# - **forkserver** copies a small, clean helper process (the default on Linux from
#   Python 3.14; not on Windows).
#
# fork is fast but copies only the thread that asked for it: in a program that runs
# threads it can deadlock, which is why Python 3.12 and 3.13 warn about it
# (`DeprecationWarning`) and 3.14 moved Linux to forkserver. Notebook 07 shows it.
#
# The course works the same under all three; the check above only makes sure yours is one
# of them. The next cell shows which one you have: its output depends on your machine.
#
# To try another one, set the environment variable `PROCSYNC_START_METHOD` to `fork`,
# `spawn` or `forkserver` before starting Jupyter, for example
# `PROCSYNC_START_METHOD=spawn jupyter lab` in a terminal on Linux or macOS
# (`$env:PROCSYNC_START_METHOD = "spawn"` in PowerShell, `set PROCSYNC_START_METHOD=spawn`
# in cmd, then `jupyter lab`). Running
# `os.environ["PROCSYNC_START_METHOD"] = "spawn"` in a notebook works too: processes
# started after that line use spawn.

# %% tags=["nbval-ignore-output"]
procsync_teach.start_method()

# %% [markdown]
# ### Plots
#
# If a plot shows up below, plots work. It also shows a rule of the course: every worker
# process keeps **one colour** in every plot of every notebook. Worker 0 is always blue.

# %%
import matplotlib.pyplot as plt

from procsync_teach.course.colours import colour_of

fig, ax = plt.subplots(figsize=(6, 1.6), layout="constrained")
for worker in range(4):
    ax.bar(worker, 1, color=colour_of(worker), label=f"worker {worker}")
ax.set_xticks(range(4))
ax.set_xlabel("worker number")
ax.set_yticks([])
ax.set_title("One colour per worker, in every plot")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
plt.show()

# %% [markdown]
# ### Widgets
#
# Some notebooks let you re-run an experiment with a slider and a **Run** button. If a
# slider shows up below, widgets work. (Opened without a running kernel, you will see
# its description as text instead.)

# %%
ipywidgets.IntSlider(value=2, min=1, max=8, description="workers")

# %% [markdown]
# ## 2. Your first process
#
# Here is a taste of notebook 01. We define a function, then run it in a **new process**:
# `Process(...)` describes the process, `start()` launches it, `join()` waits until it
# has finished. What the new process prints is caught by `capture_output()`, so we can
# show it here whatever your start method.

# %%
from procsync_teach import Process, capture_output


def greet(name):
    print(f"Hello from {name}!")


with capture_output() as screen:
    process = Process(target=greet, args=("another process",), name="P0")
    process.start()
    process.join(timeout=10)  # wait at most 10 s, so a mistake cannot hang the notebook

screen

# %% [markdown]
# The text above was printed by another process, not by this notebook. Its **exit code**
# says how it ended: 0 means it ran to the end without an error.

# %%
print("exit code:", process.exitcode)

# %% [markdown]
# ## 3. Two warm-up exercises
#
# ### Exercise 1: how many workers?
#
# A pool made with `Pool()`, with no argument, starts one worker process per CPU core that
# the program may use: `os.process_cpu_count()` on Python 3.13 and newer, which leaves out
# the cores this process is not allowed to run on, and `os.cpu_count()` before (both the
# standard library's pool and ours count this way). Set `workers` to the number of workers `Pool()` would start **on this
# machine**. Compute it rather than typing a number, so that your answer stays right on
# another computer.

# %%
from procsync_teach.course.exercises.start_here import check_pool_size, check_run_in_a_process

workers = ...  # your code: how many workers would Pool() start here?

check_pool_size(workers)

# %% tags=["solution"]
# one worker per usable core, counted as the running Python's multiprocessing counts them
workers = os.process_cpu_count() if hasattr(os, "process_cpu_count") else os.cpu_count()

check_pool_size(workers)

# %% [markdown]
# ### Exercise 2: start a process and wait for it
#
# Complete `run_in_a_process(function, argument)`: it must run `function(argument)` in a
# **new process**, wait until that process has finished, and return the process. Look
# back at section 2 for the three steps. Give `join()` a timeout (10 seconds is plenty).

# %%
def run_in_a_process(function, argument):
    """Run function(argument) in a new process, wait for it, and return the process."""
    ...  # your code


check_run_in_a_process(run_in_a_process)

# %% tags=["solution"]
def run_in_a_process(function, argument):
    """Run function(argument) in a new process, wait for it, and return the process."""
    process = Process(target=function, args=(argument,))
    process.start()
    process.join(timeout=10)
    return process


check_run_in_a_process(run_in_a_process)

# %% [markdown]
# ## The course map
#
# Take the notebooks in order: each builds on the one before.
#
# - [00 · Start here](00_start_here.ipynb): how the course works, and your environment
#   (this notebook).
# - [01 · Processes and garbled output](01_processes_and_garbled_output.ipynb): start
#   processes, watch their output get mixed up, and fix it with a lock.
# - [02 · Locks](02_locks.ipynb): updates lost without a lock, what a lock costs, the
#   deadlock, and a lock whose holder dies.
# - [03 · Pool: waiting or not waiting](03_pool_sync_vs_async.ipynb): `apply`, `map` and
#   their `_async` twins; results collected later, or as they come with a callback.
# - [04 · Timeouts and the life of a pool](04_timeouts_and_lifecycle.ipynb): give up
#   waiting with a timeout; `close`, `terminate` and `join`; results still on their way.
# - [05 · Chunksize and speed-up](05_chunksize_and_speedup.ipynb): when more workers
#   help, why tiny tasks are slow, and how `chunksize` fixes it.
# - [06 · Inside the library](06_inside_the_library.ipynb): read how `procsync_teach`'s
#   `Lock` and `Pool` work, then break them on purpose.
# - [07 · Pitfalls](07_pitfalls.ipynb): the mistakes that crash, hang or leak processes,
#   and how to avoid them. It ends with a recap of 00–07.
# - [08 · When tasks fail](08_when_tasks_fail.ipynb): exceptions from tasks, `error_callback`,
#   `imap` and `starmap`, `initializer` and `maxtasksperchild`: the rest of `Pool`.
# - [09 · The executor](09_the_executor.ipynb): `concurrent.futures.ProcessPoolExecutor`
#   beside `Pool`, and when to pick which.
# - [10 · Queues and shared state](10_queues_and_shared_state.ipynb): `Queue`, `Pipe`,
#   `Value` and `Array`, shared memory and `Manager`: how processes talk and share.
# - [11 · The other primitives](11_other_primitives.ipynb): `RLock`, `Semaphore`,
#   `Event`, `Condition` and `Barrier`, each on a timeline.
# - [12 · Threads and the GIL](12_threads_and_the_gil.ipynb): processes, threads and
#   asyncio measured against each other; what free-threaded Python changes.
# - [13 · Beyond one machine](13_beyond_one_machine.ipynb): the same ideas on a cluster,
#   with Dask.
# - [14 · Deep dive: the dispatcher](14_deep_dive_the_dispatcher.ipynb) (**optional**):
#   the speed tricks inside our `Pool`, for the curious.

# %% [markdown]
# ## Key points
#
# - Run cells in order with **Shift-Enter**; if something hangs, interrupt (■), or restart
#   the kernel and run from the top.
# - Each exercise has a check (⏳ not answered yet, ❌ with a hint, or ✅) and a hidden
#   solution below it.
# - A process is a separate running copy of Python: `Process(target=f, args=(...))`,
#   then `start()`, then `join(timeout=...)`.
# - The course works under every start method: fork, spawn and forkserver.
#
# **Next:** [01 · Processes and garbled output →](01_processes_and_garbled_output.ipynb)
