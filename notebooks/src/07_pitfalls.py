# %% [markdown]
# # 07 · Pitfalls: what goes wrong with processes, and why
#
# [← 06 · Inside the library](06_inside_the_library.ipynb) | [course map](00_start_here.ipynb#The-course-map) |
# [next: 08 · When tasks fail →](08_when_tasks_fail.ipynb)
#
# Programs with processes fail in ways that programs without them never do: a script that
# works on Linux crashes on a Mac, a pool waits forever, Ctrl-C fills the screen with
# tracebacks. Each failure has a simple cause. This notebook shows them one at a time,
# each in a place where it can do no harm.
#
# **Learning objectives.** By the end you can:
#
# - explain why a script needs `if __name__ == "__main__":` under spawn and forkserver, and
#   spot a script that lacks it;
# - explain why a lambda or a notebook function breaks `multiprocessing.Pool`, and why
#   ours accepts them;
# - choose a start method, and say why `fork` with threads can deadlock;
# - keep no zombie or forgotten worker behind, and collect results before a `with`
#   block ends the pool;
# - say what Ctrl-C does to a pool's workers.

# %% [markdown]
# ## Setup
#
# Some pitfalls must not happen inside this notebook's kernel: one would crash it, one
# would hang it. For those, `run_script(source, timeout)` runs a piece of code as a
# separate Python script and returns its exit code and what it printed. The script runs in
# a session of its own, and after `timeout` seconds it is killed together with every
# process it started, whatever state it is in.
#
# A few sections show what only Linux and macOS have (`fork`, zombies, Ctrl-C sent to a
# group of processes). On Windows those cells say so and explain what you would see there.

# %%
import enum
import multiprocessing
import os
import pickle
import sys
import time
from multiprocessing.connection import wait

import psutil

from procsync_teach import Pool, PoolTerminated, Process
from procsync_teach.course.child_output import error_line
from procsync_teach.course.exercises.pitfalls import check_needs_guard, check_squares
from procsync_teach.course.scripts import CAN_PRESS_CTRL_C, run_script


def square(x):
    return x * x

# %% [markdown]
# ## 1. The `__main__` guard
#
# Under the **spawn** start method (the default on Windows and macOS), a child process is
# a brand-new Python interpreter. To find the function it must run, it first *imports
# your script* (under the name `__mp_main__`). Importing runs every line at the top level
# of the script. If one of those lines starts a process, the child, still busy starting
# up, tries to start a process of its own.
#
# Here is such a script. We run it under spawn and look at what it printed.

# %%
NO_GUARD = """
import multiprocessing


def work():
    print("the child did its work")


print("top of the script")
p = multiprocessing.get_context("spawn").Process(target=work)
p.start()
p.join()
print("exit code of the child:", p.exitcode)
"""

run = run_script(NO_GUARD, timeout=30)
print(run.stdout, end="")
message = run.stderr.split("RuntimeError:")[-1].split("\n\n")[0]  # the error's first sentence
print("the child's error: RuntimeError:", " ".join(message.split()))

# %% [markdown]
# "top of the script" was printed twice: once by the script, once by the child importing
# it. Then the child reached `p.start()`, and `multiprocessing` stopped it with a
# `RuntimeError` (exit code 1) instead of letting it start a child, which would import the
# script and start a child, and so on forever. Its work never ran.
#
# The cure is the guard: code that starts processes goes under
# `if __name__ == "__main__":`. In the script you ran, `__name__` is `"__main__"`; in a
# child that imports it, `__name__` is `"__mp_main__"`, so the guarded block is skipped.

# %%
WITH_GUARD = """
import multiprocessing


def work():
    print("the child did its work")


print("top of the script")
if __name__ == "__main__":
    p = multiprocessing.get_context("spawn").Process(target=work)
    p.start()
    p.join()
    print("exit code of the child:", p.exitcode)
"""

print(run_script(WITH_GUARD, timeout=30).stdout, end="")

# %% [markdown]
# The top level still ran twice (keep it to definitions and constants), but the child
# did its work and ended well.
#
# Under **fork** a child is a copy of its parent and imports nothing, which is why a
# script without the guard works on Linux up to Python 3.13 and then fails on a Mac, on
# Windows, and on Linux from Python 3.14 (section 3). **forkserver** children import the
# main script too. Write the guard every time.
#
# ### Exercise 1: which scripts need the guard?
#
# Each of these is a whole script, run under spawn. Which ones fail because they lack
# `if __name__ == "__main__":`?
#
# **A**
# ```python
# from multiprocessing import Pool
#
# def square(x):
#     return x * x
#
# if __name__ == "__main__":
#     with Pool(2) as pool:
#         print(pool.map(square, range(10)))
# ```
#
# **B**
# ```python
# from multiprocessing import Pool
#
# def square(x):
#     return x * x
#
# with Pool(2) as pool:
#     print(pool.map(square, range(10)))
# ```
#
# **C**
# ```python
# from multiprocessing import Pool
#
# print("loading the script")
#
# def square(x):
#     return x * x
#
# if __name__ == "__main__":
#     with Pool(2) as pool:
#         print(pool.map(square, range(10)))
# ```
#
# **D**
# ```python
# from multiprocessing import Process
#
# def greet():
#     print("hello")
#
# def main():
#     p = Process(target=greet)
#     p.start()
#     p.join()
#
# main()
# ```
#
# Answer with a set of letters, such as `{"A", "C"}`.

# %%
need_guard = ...

check_needs_guard(need_guard)

# %% tags=["solution"]
need_guard = {"B", "D"}  # both start a process while the script is being imported

check_needs_guard(need_guard)

# %% [markdown]
# ## 2. Pickling: functions travel by name
#
# A pool sends each task to a worker as bytes, made by `pickle`. And `pickle` does not
# send a function's code: it sends its module and its name, and the worker looks the
# name up. Protocol 0 writes them as plain text:

# %%
print(pickle.dumps(square, protocol=0))

# %% [markdown]
# "`square` in the module `__main__`". A lambda has no name to look up, so `pickle`
# refuses it outright:

# %%
try:
    pickle.dumps(lambda x: x * x)
except pickle.PicklingError as error:
    print(f"{type(error).__name__}: {error}")

# %% [markdown]
# A function defined in a notebook cell has a name, but under spawn or forkserver the
# worker's `__main__` is not your notebook, so the name is not there. Each worker that
# receives the task dies with an `AttributeError`, the pool starts another, and
# `multiprocessing.Pool.map` waits forever for results that will never come.
#
# We run it as a script given to `python -c`, which, like a notebook, has no file a child
# could import, and we stop waiting after 2 seconds. (The end of the worker's error line
# describes the module `__main__`, differently in each Python version: we leave it out.)

# %%
NOTEBOOK_LIKE = """
import multiprocessing


def square(x):
    return x * x


if __name__ == "__main__":
    pool = multiprocessing.get_context("spawn").Pool(2)
    result = pool.map_async(square, range(4))
    try:
        print(result.get(timeout=2))
    except multiprocessing.TimeoutError:
        print("no result after two seconds: map() would wait forever")
"""

run = run_script(NOTEBOOK_LIKE, timeout=30, as_file=False)
print(run.stdout, end="")
print("a worker died with:", error_line(run.stderr, "AttributeError") or "(nothing yet)")

# %% [markdown]
# `procsync_teach.Pool` pickles with **cloudpickle**, which sends a notebook's functions
# and lambdas *by value*, their code included. They work under every start method:

# %%
with Pool(2, context="spawn") as pool:
    print(pool.map(square, range(6)))
    print(pool.map(lambda x: x + 100, range(6)))

# %% [markdown]
# But it sends by value only what a worker cannot find by name: a copy is not the
# original. The rule, in two sentences: **what your main program defines goes by
# reference, exactly as in `multiprocessing`, wherever the worker already has that very
# object (a script's top-level functions, classes and Enums; under fork, whatever existed
# when the pool started and has not been rebound since). Anything else (notebook cells
# under spawn and forkserver, what you defined or rebound after the pool started,
# lambdas, closures, decorated helpers) goes by value, with your globals as they are at
# the call, except a name the worker assigned itself, which wins.**
#
# So an Enum member stays a key the worker's dict knows, and what a task returns is a
# member of your class, whatever the start method:

# %%
class Size(enum.Enum):
    SMALL = "S"
    LARGE = "L"


CUPS = {Size.SMALL: "250 ml", Size.LARGE: "400 ml"}


def cup(size):
    return CUPS[size]


with Pool(2) as pool:
    print(pool.map(cup, list(Size)), pool.apply(Size, ("L",)) is Size.LARGE)

# %% [markdown]
# With `multiprocessing.Pool`, put the functions your tasks call in a module (a `.py`
# file next to the notebook) and import them: the workers can import that module too.
#
# ## 3. Start methods
#
# A start method is how a new process comes to life:
#
# | method | how | where it is the default |
# |---|---|---|
# | **fork** | copies the parent, memory and all: fast, and the child inherits everything | Linux and other POSIX systems except macOS, up to Python 3.13 |
# | **spawn** | starts a fresh interpreter that imports your main script | Windows, and macOS from Python 3.8 |
# | **forkserver** | a small, clean server process, started once, forks each new child | Linux and other POSIX systems except macOS, from Python 3.14 |
#
# To choose one:
#
# - for this whole course, set the environment variable before starting Jupyter:
#   `PROCSYNC_START_METHOD=spawn jupyter lab`;
# - for one pool of ours: `Pool(2, context="spawn")`; with the standard library:
#   `multiprocessing.get_context("spawn").Pool(2)`;
# - for a whole program using the standard library: `multiprocessing.set_start_method("spawn")`,
#   once, under the `__main__` guard.
#
# Each Python version is explicit about its default: 3.14 changed Linux's from fork to
# forkserver, because fork is unsafe in a process that runs threads (section 4), and 3.12
# and 3.13 print a `DeprecationWarning` when a process that runs threads forks. This
# course uses Python's default, or the method you choose, whatever the version.
#
# What a child inherits is the big difference. A forked worker has a copy of everything
# in the notebook; a spawned or forkserver worker starts clean. The cell asks a worker of
# each start method this system has (Linux and macOS have the three, Windows spawn alone):

# %%
in_the_notebook = "set in a notebook cell"


def look_in_main(_):
    import __main__  # the worker's main module, whatever it is

    return getattr(__main__, "in_the_notebook", "(not there)")


found = {}
for method in multiprocessing.get_all_start_methods():  # Windows has spawn alone
    with Pool(1, context=method) as pool:
        found[method] = pool.apply(look_in_main, (0,))
reached = {method for method, value in found.items() if value == in_the_notebook}
print("a spawned worker finds:", found["spawn"])
print("only a forked worker finds the notebook's variable (where the system has fork):",
      reached == {"fork"} & set(found))

# %% [markdown]
# ## 4. Fork and threads: a lock nobody will release
#
# `fork` copies a process's memory, but only **one** of its threads: the one that called
# `fork`. If another thread held a lock at that moment, the child gets the lock *locked*,
# and no thread in the child will ever release it:
#
# ```
# parent:  thread A ── takes lock ───────────────── releases lock ──
#          thread B ───────────── fork() ──────────────────────────
#                                    │
# child:   thread B (the only one) ──┴── lock.acquire() ... waits forever
# ```
#
# Such locks hide everywhere: in `logging`, in the buffer behind `print`, in the memory
# allocator. A script can show it safely, with a timeout on the child's wait:

# %%
FORK_WITH_THREAD = """
import os
import threading
import time

lock = threading.Lock()
taken = threading.Event()


def hold_the_lock():
    with lock:
        taken.set()
        time.sleep(0.5)  # the main thread forks while we hold the lock


threading.Thread(target=hold_the_lock).start()
taken.wait()
pid = os.fork()  # Python 3.12 and newer warn here: this process runs two threads
if pid == 0:  # the child: a copy of the process with one thread, the one that forked
    print("child: took the lock within a second:", lock.acquire(timeout=1))
    os._exit(0)
os.waitpid(pid, 0)
print("parent: took the lock within a second:", lock.acquire(timeout=1))
"""

if hasattr(os, "fork"):
    run = run_script(FORK_WITH_THREAD, timeout=30)
    print(run.stdout, end="")
    warned = "DeprecationWarning" in run.stderr and "multi-threaded" in run.stderr
    print("Python warned about fork with a thread exactly if it is 3.12 or newer:",
          warned == (sys.version_info >= (3, 12)))
else:
    print("Windows has no fork: every process there starts with spawn, so this cannot happen.")

# %% [markdown]
# The parent's thread released its lock after half a second; the child's copy stays
# locked forever. With `acquire()` and no timeout, the child would hang: a deadlock that
# happens only when a fork falls at the wrong moment, the hardest kind to find. That is
# why Python 3.12 and newer warn when a process with threads forks (`DeprecationWarning:
# This process ... is multi-threaded, use of fork() may lead to deadlocks in the child`,
# which the cell above looked for in the script's error output), why 3.14 moved Linux to
# forkserver, and why `procsync_teach.Pool` starts its workers before it starts its
# dispatcher thread. (A Jupyter kernel runs several threads, and still the course uses
# fork on Linux by default, as `multiprocessing` does: it works nearly always, which is
# exactly what makes the rare failure so puzzling. The warning is not shown in a
# notebook: Python shows a `DeprecationWarning` only when your own code, not a library's,
# triggers it, and here `multiprocessing` calls `fork`. `python -W default` shows every
# one, and so does pytest, which runs the course's tests.)
#
# ## 5. Zombies: finished, but not yet joined
#
# When a child process ends, the operating system keeps a small record of it, its exit
# code, until the parent asks for it. A child that has ended but has not been asked about
# is a **zombie**, shown by `ps` in the state `Z` (Linux adds `<defunct>` to its command,
# macOS puts its name in brackets). `join()` asks, and the record goes. Windows has no
# zombies: there a process's record stays as long as someone holds a handle to it.
#
# We start a child that waits for our go-ahead (an `Event`), let it finish, and ask the
# operating system about its state, with `psutil` (the same on Linux and macOS, where `ps`
# prints it differently). We use spawn here because under forkserver the child belongs to
# the fork server, which asks about it for us.

# %%
def process_state(pid):
    """The operating system's word for a process's state ("gone" once it has no record)."""
    try:
        return psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return "gone"


def wait_for_go(go):
    go.wait(30)


go = multiprocessing.get_context("spawn").Event()
p = Process(target=wait_for_go, args=(go,), context="spawn")
p.start()
print("while it runs, exit code:", p.exitcode)
go.set()
print("it has ended:", bool(wait([p.sentinel], timeout=30)))  # watching does not join

# %%
if sys.platform == "win32":
    print("Windows has no zombies: an ended process is gone once nobody holds a handle to it.")
else:
    deadline = time.monotonic() + 10
    while process_state(p.pid) != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.01)  # the state changes a moment after the sentinel fires
    print("its state now:", process_state(p.pid))
p.join(timeout=30)
print("after join, exit code:", p.exitcode, "| its state:", process_state(p.pid))

# %% [markdown]
# A zombie uses no memory or CPU, only an entry in the process table; but a long-running
# program that starts processes and never joins them fills that table up. `multiprocessing`
# helps: reading `p.exitcode` or `p.is_alive()`, or starting a new process, also collects
# ended children. Still, `join()` every process you start.
#
# ## 6. Forgetting `close()` and `join()`
#
# A pool's workers live until the pool is closed or terminated. Forget it, and they keep
# running, waiting for work that never comes. `multiprocessing.active_children()` lists
# this process's live children:

# %%
before = len(multiprocessing.active_children())  # children of earlier cells, if any

pool = Pool(2)
print(pool.map(square, range(6)))
print("worker processes still running:", len(multiprocessing.active_children()) - before)

# %%
pool.close()  # no more work: the workers finish what they have and exit
pool.join()  # wait until they have
print("after close() and join():", len(multiprocessing.active_children()) - before)

# %% [markdown]
# A `with` block does it for you: leaving the block calls `terminate()`, which stops the
# workers at once, even if an exception is leaving the block.

# %%
with Pool(2) as pool:
    print(pool.map(square, range(6)))
    print("inside the with block:", len(multiprocessing.active_children()) - before)
print("after the with block:", len(multiprocessing.active_children()) - before)

# %% [markdown]
# "At once" has a consequence: results must be collected *inside* the block. This
# function asks for its results after the block has ended. Our pool says the tasks were
# terminated; `multiprocessing.Pool` would leave each `get()` waiting forever.

# %%
def slow_square(x):
    time.sleep(0.1)
    return x * x


def squares_too_late(numbers):
    with Pool(2) as pool:
        pending = [pool.apply_async(slow_square, (n,)) for n in numbers]
    return [result.get(timeout=10) for result in pending]  # the pool is gone by now


try:
    squares_too_late([1, 2, 3, 4])
except PoolTerminated as error:
    print(f"{type(error).__name__}: {error}")

# %% [markdown]
# ### Exercise 2: collect in time
#
# Complete `squares(numbers)`: it squares each number with `slow_square`, one
# `apply_async` per number, in a pool of 2 workers, and returns the list of squares. The
# check runs it and also makes sure no worker is left running.

# %%
def squares(numbers):
    with Pool(2) as pool:
        pending = [pool.apply_async(slow_square, (n,)) for n in numbers]
        ...  # collect the results here, while the pool still runs
    return ...


check_squares(squares)

# %% tags=["solution"]
def squares(numbers):
    with Pool(2) as pool:
        pending = [pool.apply_async(slow_square, (n,)) for n in numbers]
        results = [result.get(timeout=10) for result in pending]  # inside the block
    return results


check_squares(squares)

# %% [markdown]
# ## 7. Ctrl-C
#
# In a terminal, Ctrl-C sends the signal SIGINT to every process of the program (the
# terminal's foreground process group): the parent *and* each worker. In the parent it raises `KeyboardInterrupt`, which is what
# you want. In `multiprocessing.Pool`'s workers it raises `KeyboardInterrupt` too: each
# worker prints a traceback of its own and dies. `procsync_teach.Pool`'s workers ignore
# SIGINT and leave the decision to the parent, whose `with` block then stops them.
#
# The script below keeps both workers busy, says so, and the notebook then presses
# Ctrl-C for it (SIGINT to the script's whole process group). We run it twice, changing
# only the line that imports `Pool`.

# %%
CTRL_C = """
import os
import tempfile
import time
from multiprocessing import active_children
from pathlib import Path

{import_pool}


def long_task(folder):
    Path(folder, str(os.getpid())).touch()  # tell the parent: this worker has started
    time.sleep(30)


if __name__ == "__main__":
    folder = tempfile.mkdtemp()
    with Pool(2) as pool:
        workers = active_children()
        pool.map_async(long_task, [folder, folder], chunksize=1)
        while len(os.listdir(folder)) < 2:  # wait until both workers are busy
            time.sleep(0.01)
        try:  # printed inside: the Ctrl-C that the line sets off always lands in here
            print("both workers busy")  # the notebook presses Ctrl-C now
            # The parent waits, as a map() would, in short naps: the kernel may hand the
            # Ctrl-C to one of the pool's threads, and one long sleep would not notice it.
            for _ in range(3000):
                time.sleep(0.01)
        except KeyboardInterrupt:
            print("the parent got KeyboardInterrupt")
            for worker in workers:
                worker.join(1)  # a worker that got the Ctrl-C too ends now
            ended = sum(worker.exitcode is not None for worker in workers)
            print("workers ended by the Ctrl-C:", "some" if ended else "none")
            raise
"""

for import_pool in ("from multiprocessing import Pool", "from procsync_teach import Pool"):
    if not CAN_PRESS_CTRL_C:
        print("Windows sends Ctrl-C to a console, not to a process group: nothing to show here.")
        break
    run = run_script(CTRL_C.format(import_pool=import_pool), timeout=30,
                     ctrl_c_after="both workers busy")
    print(import_pool)
    for line in run.stdout.splitlines()[1:]:  # after "both workers busy"
        print("  " + line)
    tracebacks = run.stderr.count("Traceback (most recent call last)")
    print("  tracebacks printed:", "the parent's only" if tracebacks == 1 else "the workers' too")

# %% [markdown]
# The standard library's run printed the workers' tracebacks as well as the parent's,
# and its workers died before the parent could decide anything. Ours printed one: the
# parent's, the one that says where the program was when you pressed Ctrl-C.
#
# Jupyter's ■ (Interrupt) button does the same on Linux and macOS: it sends SIGINT to the
# kernel's whole process group, pool workers included. On Windows, Ctrl-C reaches the
# processes attached to the console, and the ■ button interrupts only the kernel.

#
# ## Key points
#
# - Under spawn and forkserver, children import your script: anything that starts a
#   process belongs under `if __name__ == "__main__":`.
# - `pickle` sends functions by name: lambdas and notebook functions break
#   `multiprocessing.Pool` under spawn (it can hang forever). Put task functions in a
#   module, or use a pool that pickles by value where it must, as ours does with
#   cloudpickle (by reference wherever the worker has that very object).
# - fork copies one thread and every lock: with threads running it can deadlock. spawn is
#   the default on Windows and macOS, forkserver on Linux from Python 3.14.
# - `join()` every process (no zombies), close or terminate every pool (a `with` block),
#   and collect results inside the block.
# - Ctrl-C reaches every worker; `procsync_teach`'s workers ignore it and let the parent
#   decide.

# %% [markdown]
# ## The course so far
#
# Eight notebooks in, you can:
#
# - start processes and wait for them (01), and keep them out of each other's way with a
#   lock: whole lines of output (01), no lost updates, no deadlock, and a lock that
#   survives its holder's death (02);
# - share out work with a pool, waiting or not (03), with timeouts and a clean end (04),
#   in chunks that make tiny tasks worth it, and with a measured speed-up (05);
# - read how a pool and a lock are built, and what happens when a worker dies (06);
# - avoid the mistakes that crash or hang programs with processes (07).
#
# ## Where next
#
# The next notebooks teach what a real program also needs: what happens when a task
# raises, and the rest of `Pool` (08); the standard library's other pool, the executor
# (09); queues and shared memory (10); the other synchronisation primitives (11); and
# when threads or asyncio are the better tool (12). Notebook 13 goes past one machine;
# 14 is an optional deep dive into our pool. The [course map](00_start_here.ipynb#The-course-map)
# lists them all.
#
# **Next:** [08 · When tasks fail →](08_when_tasks_fail.ipynb)
