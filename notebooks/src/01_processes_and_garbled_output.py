# %% [markdown]
# # 01 · Processes and garbled output
#
# [← 00 · Start here](00_start_here.ipynb) | [course map](00_start_here.ipynb#The-course-map) |
# [next: 02 · Locks →](02_locks.ipynb)
#
# When several processes print at the same time, their output gets mixed up: words of one
# line land in the middle of another. In this notebook you make that happen, watch it
# happen on a timeline, and fix it with a lock.
#
# ## Learning objectives
#
# By the end of this notebook you will be able to:
#
# - run a function in a new process with `Process`, `start()` and `join()`;
# - explain why the output of processes that print at once gets garbled;
# - see who wrote what, and when, with `capture_output()` and a timeline;
# - keep lines whole with a `Lock`, and say what a lock does *not* promise;
# - run the classic `multiprocessing` lock example, as a script and in a notebook.

# %% [markdown]
# ## 1. One process
#
# A **process** is a running program with its own memory. `Process(target=f, args=(...))`
# describes a process that will call `f(...)`; `start()` launches it, and from then on
# two processes run side by side: the notebook's and the new one. `join()` waits until the
# new one has finished.
#
# We use `Process` from `procsync_teach`. It is `multiprocessing.Process` with one change:
# the function is sent to the new process **by value**, its code included, where the
# standard one sends only its *name*. With the spawn and forkserver start methods, a new
# process cannot find a function defined in a notebook cell by its name, and the standard
# `Process` fails with `AttributeError: Can't get attribute 'greet' on <module '__main__'>`;
# ours works under every start method.
#
# What a new process prints does not reliably reach the notebook either (it depends on the
# start method), so we catch it: every process started inside a `with capture_output()`
# block writes to a shared record, which the notebook shows with one colour per process.

# %%
import os
import re
import time
from pathlib import Path

import procsync_teach.course  # the course's helpers: each process's output in its colour
from procsync_teach import Lock, Process, capture_output, get_context


def greet(name):
    print("Hello from", name)


with capture_output() as screen:
    p = Process(target=greet, args=("P0",), name="P0")
    p.start()  # launch it: from here on, two processes run
    p.join(timeout=10)  # wait until it has finished (at most 10 s, so nothing can hang)

screen

# %% [markdown]
# `start()` does not wait for the new process: it returns at once, and the notebook goes
# on while the process runs. `join()` is what waits. Here the process sleeps for a moment,
# so we can catch it alive. Its **exit code**, 0, means it ran to the end without an error.

# %%
def nap(seconds):
    time.sleep(seconds)


p = Process(target=nap, args=(0.2,), name="P0")
p.start()
print("right after start(): alive?", p.is_alive())
p.join(timeout=10)
print("after join():        alive?", p.is_alive(), "| exit code:", p.exitcode)

# %% [markdown]
# ## 2. Several processes, one screen
#
# Printing is not one step. `print("Process", 0)` makes several `write()` calls: one for
# `"Process"`, one for the space, one for `"0"`, one for the line break. When processes
# share a screen, the operating system takes each write as it comes, so the pieces of
# different processes' lines can end up mixed.
#
# To make this easy to see, `print_slowly` prints a line one word at a time and pauses
# after each word, like a program that does some work between two prints. `flush=True`
# sends each word out at once, instead of keeping it until the line is complete.

# %%
def print_slowly(text, pause=0.01):
    """Print text one word at a time, pausing after each word."""
    for word in text.split():
        print(word, end=" ", flush=True)  # a word, but no line break yet
        time.sleep(pause)  # meanwhile, other processes may write
    print(flush=True)  # the line break


# %% [markdown]
# Processes that start one after the other might each finish before the next one begins.
# To make them print at the same moment, each one first waits at a **barrier**, a meeting
# point made for a number of processes: whoever arrives waits there until the last one
# has arrived, then all go on at once. So they start printing together, however long
# each took to start (spawn, the slowest start method, can take a second on a busy
# machine). `get_context().Barrier(3)` makes one for 3 processes, in the course's start
# method; notebook 11 shows it in full.

# %%
def announce(n, start):
    start.wait()  # until all the processes have arrived at the barrier
    print_slowly(f"Process {n} is running")


def every_line_intact(screen):
    """True if every line on the screen is one whole "Process N is running"."""
    return all(re.fullmatch(r"Process \d+ is running", line.strip()) for line in screen.lines())


# %% [markdown]
# Three processes, P0, P1 and P2, now print their line at the same moment. Hover over a
# word to see which process wrote it.

# %% tags=["nbval-ignore-output"]
start = get_context().Barrier(3)
with capture_output() as garbled:
    processes = [Process(target=announce, args=(n, start), name=f"P{n}") for n in range(3)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=10)

print("every line intact:", every_line_intact(garbled))
garbled

# %% [markdown]
# Garbled! Run the cell again: the mix changes every time, because the order of the writes
# is up to the operating system's scheduler. (Words can even stick together, such as
# `ProcessProcess`, when two words arrive before either space.) Since it changes, this
# cell's output is not checked by the course's tests. What never changes is checked next:
# put each process's own writes back together (`garbled.text_of(name)`), and its line is
# whole. Nothing was lost; the pieces were only mixed on their way to the shared screen.

# %%
for name in sorted(garbled.writers()):
    print(f"{name} wrote: {garbled.text_of(name).strip()!r}")
print("line breaks on the screen:", garbled.text.count("\n"))

# %% [markdown]
# ## 3. Who wrote, and when
#
# Each piece that `capture_output()` recorded carries its writer and the time it was
# written: `garbled.records()` is the list. Drawn on a timeline, one lane per process, a
# tick per word, the story is plain: the three processes were writing during the same
# milliseconds, so their words alternate.

# %%
import matplotlib.pyplot as plt

from procsync_teach.course.colours import colour_of
from procsync_teach.course.plots import legend_outside, subplots


def plot_writes(screen, ax=None, title="Who wrote, and when"):
    """One lane per process: a tick for each word it wrote, a bar from its first to last."""
    if ax is None:
        _, ax = subplots(height=2.2)
    words = [record for record in screen.records() if record.text.strip()]  # no spaces
    origin = min(record.time for record in words)
    names = sorted({record.who for record in words})
    for lane, name in enumerate(names):
        ms = [(record.time - origin) * 1000 for record in words if record.who == name]
        ax.plot([min(ms), max(ms)], [lane, lane], color=colour_of(lane), linewidth=10,
                alpha=0.3, solid_capstyle="butt")
        ax.plot(ms, [lane] * len(ms), "|", color=colour_of(lane), markersize=16,
                markeredgewidth=2, label=name)
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)  # P0 at the top
    ax.set_xlabel("time since the first word (ms)")
    ax.set_ylabel("process")
    ax.set_title(title)
    legend_outside(ax)
    ax.grid(axis="x", alpha=0.3)
    return ax


plot_writes(garbled, title="Without a lock: the bursts overlap")
plt.show()

# %% [markdown]
# ## 4. A lock keeps each line whole
#
# A `Lock` lets one process at a time through. A process that wants to print takes the
# lock (`with lock:`); any other process that asks for it meanwhile waits until the
# holder lets go at the end of the block. The code inside the block is a **critical
# section**: one process at a time runs it.
#
# `run_together` is the cell above in a function: start processes P0, P1, ... that run
# `target(n, ..., start)`, meet at the barrier `start` and go on together, and return what
# they printed.

# %%
def announce_locked(n, lock, start):
    start.wait()
    with lock:  # one process at a time from here to the end of the block
        print_slowly(f"Process {n} is running")


def run_together(target, processes, *args):
    """Run target(n, *args, start) in processes P0, P1, ... that wait for each other at the
    barrier start, then go on at once; return the screen."""
    start = get_context().Barrier(processes)
    with capture_output() as screen:
        started = [Process(target=target, args=(n, *args, start), name=f"P{n}")
                   for n in range(processes)]
        for p in started:
            p.start()
        for p in started:
            p.join(timeout=10)
    return screen


# %% tags=["nbval-ignore-output"]
lock = Lock()
locked = run_together(announce_locked, 3, lock)
locked

# %% [markdown]
# Every line is whole. The order of the lines, though, may differ from run to run: it is
# the order in which the processes happened to get the lock. The check:

# %%
print("every line intact:", every_line_intact(locked))
print("lines, sorted:", sorted(line.strip() for line in locked.lines()))

# %% [markdown]
# Side by side, the two timelines show what the lock changed: without it, the bursts of
# writes overlap; with it, each process writes its whole line in one burst while the
# others wait their turn. Taking turns costs time: the locked run lasts longer.

# %%
fig, (left, right) = subplots(1, 2, height=2.4, width=11, sharex=True)
plot_writes(garbled, ax=left, title="Without a lock: overlapping bursts")
plot_writes(locked, ax=right, title="With a Lock: one burst at a time")
plt.show()

# %% [markdown]
# ## 5. The classic example, as written
#
# Tutorials on `multiprocessing` show the lock with this program: five processes, each
# printing one line while holding the lock. It is a script, meant to be run as a program,
# so we save it to a file exactly as written and run it as a program: in a terminal,
# `python tutorial_lock.py`; here, `run_script`, which runs the script with the Python that
# runs this notebook, stops it if it has not ended after `timeout` seconds, and gives back
# what it and its processes printed.

# %%
%%writefile tutorial_lock.py
from multiprocessing import Process, Lock

def my_function(lock, num):
    lock.acquire()
    try:
        print('Process', num, 'is running')
    finally:
        lock.release()

if __name__ == '__main__':
    lock = Lock()
    processes = []
    
    for num in range(5):
        p = Process(target=my_function, args=(lock, num))
        processes.append(p)
        p.start()
    
    for p in processes:
        p.join()

# %% tags=["nbval-ignore-output"]
from procsync_teach.course.scripts import run_script

tutorial = Path("tutorial_lock.py").read_text(encoding="utf-8")
print(run_script(tutorial, timeout=60).stdout, end="")

# %% [markdown]
# The tutorial shows the lines in the order 0 to 4, and you probably see that too: the
# processes are started in that order, and each has little to do. But nothing makes it
# so; run the cell a few times. Sorted, the lines are always the same, which we check
# while we run it once more.

# %%
lines = run_script(tutorial, timeout=60).stdout.splitlines()
os.remove("tutorial_lock.py")  # tidy up: leave the folder as we found it
print("\n".join(sorted(lines)))

# %% [markdown]
# Why a script? The line `if __name__ == '__main__':` matters there: with spawn (Windows,
# macOS) and forkserver (Linux from Python 3.14), each new process imports the program's
# file, and without that line every one of them would start processes of its own. A
# notebook is not a file the new processes can import, so pasted into a cell, the program
# meets two problems under spawn and forkserver: the new processes cannot find
# `my_function`, and what they print may not reach the cell.
#
# With `procsync_teach`'s `Process` and `Lock`, and `capture_output()` to see the output,
# the same program runs in a notebook under every start method. Only the import and the
# capture are new; `name=f"P{num}"` gives the processes short names for the display.
# (`lock.acquire()` ... `finally: lock.release()` does what `with lock:` does.)

# %% tags=["nbval-ignore-output"]
from procsync_teach import Lock, Process  # instead of: from multiprocessing import ...


def my_function(lock, num):
    lock.acquire()
    try:
        print('Process', num, 'is running')
    finally:
        lock.release()


lock = Lock()
with capture_output() as screen:
    processes = []
    for num in range(5):
        p = Process(target=my_function, args=(lock, num), name=f"P{num}")
        processes.append(p)
        p.start()
    for p in processes:
        p.join(timeout=10)

screen

# %%
print("every line intact:", every_line_intact(screen))
print("\n".join(sorted(screen.lines())))

# %% [markdown]
# ## 6. Experiment: more processes, longer lines
#
# Choose how many processes print and how many words each line has, then press **Run**.
# Each process prints words numbered after it (`P1.3` is P1's third word), once without a
# lock and once with one. The titles count the lines that came out whole.
#
# Things to try: with 2 words, is the output still garbled? With 6 processes, how much
# longer does the locked run take than the unlocked one?

# %%
from contextlib import nullcontext

import ipywidgets as widgets

from procsync_teach.course.widgets import Experiment


def line_of(n, words):
    """Process n's line: "P1.1 P1.2 P1.3" for n=1, words=3."""
    return " ".join(f"P{n}.{k}" for k in range(1, words + 1))


def speak(n, words, lock, start):
    start.wait()
    with lock or nullcontext():  # nullcontext(): a "with" that does nothing
        print_slowly(line_of(n, words))


def garbled_vs_locked(processes=3, words=4):
    """Run the experiment without and with a lock; draw the two timelines side by side."""
    fig, axes = subplots(1, 2, height=2.8, width=11, sharex=True)
    for ax, lock, label in [(axes[0], None, "Without a lock"), (axes[1], Lock(), "With a Lock")]:
        screen = run_together(speak, processes, words, lock)
        expected = {line_of(n, words) for n in range(processes)}
        whole = sum(line.strip() in expected for line in screen.lines())
        plot_writes(screen, ax=ax, title=f"{label}: {whole} of {processes} lines whole")
    return fig


Experiment(garbled_vs_locked,
           processes=widgets.IntSlider(value=3, min=2, max=6, description="processes"),
           words=widgets.IntSlider(value=4, min=2, max=8, description="words"))

# %% [markdown]
# ## 7. Exercises
#
# ### Exercise 1: a report that stays together
#
# Each process prints a two-line report with `print_report`. Make it safe: the two lines
# of a report must come out together, with no other process cutting in, neither inside a
# line nor **between** the two lines. The lock to use is given as an argument.
#
# The check runs your function in three processes at once, with a lock that records when
# each process held it, and looks at when each word was written.

# %%
from procsync_teach.course.exercises.garbled import check_possible_outputs, check_report


def print_report(n, lock, start):
    """Print process n's two-line report, with no other process cutting in."""
    start.wait()
    ...  # your code: use the lock so that the two lines below stay together
    print_slowly(f"Report from process {n}:")
    print_slowly(f"process {n} is doing fine")


check_report(print_report)

# %% tags=["solution"]
def print_report(n, lock, start):
    """Print process n's two-line report, with no other process cutting in."""
    start.wait()
    with lock:  # one hold around both lines: no one can print between them
        print_slowly(f"Report from process {n}:")
        print_slowly(f"process {n} is doing fine")


check_report(print_report)

# %% [markdown]
# ### Exercise 2: what can the lock print?
#
# Three processes run `announce_locked` (section 4), started in the order P0, P1, P2.
# Which of these screens can appear? Set `possible` to the set of letters of **every**
# screen that can, for example `{"A", "C"}`.
#
# **A**
# ```
# Process 0 is running
# Process 1 is running
# Process 2 is running
# ```
# **B**
# ```
# Process 2 is running
# Process 0 is running
# Process 1 is running
# ```
# **C**
# ```
# Process 0 Process 1 is running
# is running
# Process 2 is running
# ```
# **D**
# ```
# Process 0 is running
# Process 2 is running
# ```

# %%
possible = ...  # your answer: a set of letters

check_possible_outputs(possible)

# %% tags=["solution"]
possible = {"A", "B"}  # whole lines, all of them, in any order

check_possible_outputs(possible)

# %% [markdown]
# ## Key points
#
# - `Process(target=f, args=(...), name=...)` describes a process; `start()` launches it
#   and returns at once; `join(timeout=...)` waits for it; `exitcode` 0 means it ran to
#   the end.
# - `procsync_teach.Process` is `multiprocessing.Process` with the function sent by value,
#   so functions defined in a notebook work under every start method; `capture_output()`
#   shows what the processes print, one colour each.
# - Processes printing at once share one screen: their writes interleave, even inside a
#   line, and differently on every run. Nothing is lost; it is only mixed.
# - A `Lock` turns the code inside `with lock:` into a critical section, run by one
#   process at a time. Hold it around **everything** that must stay together.
# - A lock keeps lines whole; it does not choose their order.
#
# **Next:** [02 · Locks →](02_locks.ipynb)
