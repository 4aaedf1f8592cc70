# %% [markdown]
# # 13 · Beyond one machine: the same Pool on a Dask cluster
#
# [← 12 · Threads and the GIL](12_threads_and_the_gil.ipynb) | [course map](00_start_here.ipynb#The-course-map) |
# [next: 14 · Deep dive: the dispatcher →](14_deep_dive_the_dispatcher.ipynb)
#
# A pool has as many workers as your machine has cores. When that is not enough, the next
# step is a **cluster**: many worker processes, on many machines, fed by one *scheduler*.
# This notebook takes that step with **Dask** (the `distributed` package), an engine
# people run in production, and shows what stays the same and what changes.
#
# **Learning objectives.** By the end you can:
#
# - run a `Pool` program unchanged on a Dask cluster, first on this machine, then on a
#   scheduler and workers started as separate programs, reached by their address;
# - translate `Pool` calls into Dask's own API (`submit`, `result`, `map`, `gather`,
#   `as_completed`);
# - predict where a cluster behaves differently: timeouts, cancelling, a worker that dies,
#   code that must travel to the workers;
# - keep a shared counter exact across a cluster with `distributed.Lock`, and use its
#   `Semaphore` and `Event`;
# - measure a cluster's overhead per task, and say from which task size it pays off.

# %% [markdown]
# ## Setup
#
# Dask reports what it does (a worker restarted, a connection closed) by *logging* to the
# error stream, from every process of the cluster. In a notebook those lines land in
# whichever cell happens to run, at whichever moment they are written. We show the same
# facts through results and records instead, so we ask Dask to log only errors. Dask reads
# that setting from the environment variable `DASK_LOGGING__DISTRIBUTED`, and every process
# started from this notebook inherits it, so it is set before `distributed` is imported.

# %%
import os

os.environ["DASK_LOGGING__DISTRIBUTED"] = "error"

import asyncio
import atexit
import builtins
import json
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import distributed
import matplotlib.pyplot as plt
import psutil

import procsync_teach
from procsync_teach.course.exercises.cluster import check_dask_translation, check_task_size
from procsync_teach.course.plots import plot_seconds_against, plot_task_timeline
from procsync_teach.course.sign_in import sign_in_and_sleep, signed_in


def dask_processes():
    """The processes this notebook started and that still run, except the helpers
    multiprocessing keeps for the kernel's whole life (its resource tracker, fork server)."""
    helpers = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")
    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if not any(helper in " ".join(child.cmdline()) for helper in helpers):
                alive.append(child.pid)
        except psutil.NoSuchProcess:
            pass
    return set(alive)


def listening_ports():
    """The ports this kernel listens on (Jupyter's own, and any a scheduler opened here)."""
    return {c.laddr for c in psutil.Process().net_connections() if c.status == psutil.CONN_LISTEN}


at_start = (dask_processes(), listening_ports())

# %% [markdown]
# ## 1. The tutorial's program, on a cluster on this machine
#
# Notebook 03 ran the tutorial's `Pool` example. Here it is again, unchanged except for
# the first line: `Pool` now comes from `procsync_teach.cluster`. `Pool(processes=4)`
# starts a Dask **LocalCluster**: a scheduler in this kernel and 4 worker processes, each
# running one task at a time. The `with` block shuts the cluster down at its end.

# %%
from procsync_teach.cluster import Pool
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
# The same three answers as with `multiprocessing.Pool`. Behind each call, the Pool sent
# Dask **tasks**: one for `apply`, one for `apply_async`, and one per *chunk* for `map`,
# with the standard library's chunksize rule (notebook 05). The header of
# `procsync_teach/cluster.py` draws the whole mapping; in short:
#
# | your program | what the Pool asks of Dask |
# |---|---|
# | `Pool(4)` | start a `LocalCluster` of 4 single-threaded workers, on 127.0.0.1 only |
# | `apply_async(f, args)` | `client.submit(...)`: one task, with a key of its own |
# | `map(f, items)` | one `client.submit` per chunk |
# | `AsyncResult.get(timeout)` | waits for a callback from the task's *future* |
# | leaving the `with` block | cancel what is left, shut the cluster down |

# %% [markdown]
# ## 2. A scheduler and two workers, started as programs of their own
#
# On a real cluster nobody starts the scheduler from your program: it runs already, on
# some machine, and workers on other machines connect to it. We do the same here with
# Dask's command-line programs, on this machine:
#
# ```
# dask scheduler --host 127.0.0.1 --port 0 --scheduler-file scheduler.json
# dask worker --scheduler-file scheduler.json --host 127.0.0.1 --nthreads 1
# ```
#
# `--host 127.0.0.1` keeps every listener on this machine: a scheduler open to the whole
# network would run anyone's code. `--port 0` lets the system pick a free port, and the
# scheduler writes its address to the *scheduler file*, where the workers (and we) read
# it. We run `python -m dask`, which is the same `dask` command for the Python of this
# notebook, and send the programs' logs to a file in a temporary folder.

# %%
folder = Path(tempfile.mkdtemp(prefix="procsync-cluster-"))
scheduler_file = folder / "scheduler.json"
log = open(folder / "cluster.log", "w", encoding="utf-8")


def start(*arguments):
    """Start `dask ...` as a program of its own, its output going to the log file."""
    return subprocess.Popen([sys.executable, "-m", "dask", *arguments], stdout=log,
                            stderr=subprocess.STDOUT)


scheduler = start("scheduler", "--host", "127.0.0.1", "--port", "0",
                  "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file))
workers = [start("worker", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1",
                 "--nthreads", "1", "--no-nanny", "--dashboard-address", "127.0.0.1:0",
                 "--name", f"worker-{number}")
           for number in range(2)]

for program in [scheduler, *workers]:
    atexit.register(program.terminate)  # if the kernel ends before section 8, they end too


def scheduler_address():
    """The address in the scheduler file, once the scheduler has written it."""
    try:
        return json.loads(scheduler_file.read_text(encoding="utf-8"))["address"]
    except (FileNotFoundError, json.JSONDecodeError):  # not yet, or not whole yet
        return None


deadline = time.monotonic() + 30
while scheduler_address() is None and time.monotonic() < deadline:
    time.sleep(0.05)
address = scheduler_address()
client = distributed.Client(address)  # also the default for Dask calls that need one
client.wait_for_workers(2, timeout=30)
print("workers connected:", len(client.scheduler_info()["workers"]))
print("the scheduler listens on this machine only:", address.startswith("tcp://127.0.0.1:"))

# %% [markdown]
# (`--no-nanny` runs each worker in the program itself. By default `dask worker` also starts
# a *nanny*, a process that starts a new worker if this one dies; section 7 shows the
# difference.)
#
# Now the tutorial's program once more. **One line of code changes**: the pool is given the
# scheduler's address instead of a number of processes, because the cluster has the workers
# it has. Leaving the `with` block disconnects from the cluster but does not stop it: it is
# not ours.

# %%
if __name__ == '__main__':
    # Use the cluster that runs at this address
    with Pool(address=address) as pool:
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
# `square_number` was defined in this notebook, yet the workers, separate programs that
# never saw this notebook, could run it: the Pool sends a notebook's functions *by value*,
# their code included (with `cloudpickle`, as notebook 06 showed for our own pool).
# Section 4 shows what happens to a function from a module.

# %% [markdown]
# ## 3. The same work in Dask's own API
#
# Dask has no `Pool`; its unit is the **future**: `client.submit(f, x)` returns at once
# with a future, and `future.result()` waits for the value. Here is the tutorial's work,
# written for Dask directly:

# %%
future = client.submit(square_number, 10)
print("Synchronous result:", future.result(timeout=30))

future = client.submit(square_number, 5)
print("Async result:", future.result(timeout=30))

futures = client.map(square_number, range(6))
print("Squared numbers:", client.gather(futures))

def nap(seconds):
    """Sleep, then say for how long."""
    time.sleep(seconds)
    return seconds


finished = [f.result() for f in distributed.as_completed(client.map(nap, [0.2, 0.0]))]
print("naps, as they finish:", finished)

# %% [markdown]
# `as_completed` hands out futures in the order they finish, as `imap_unordered` does:
# the nap of no time came first. The translation table:
#
# | `Pool` | Dask | note |
# |---|---|---|
# | `apply_async(f, (x,))` | `client.submit(f, x)` | returns a future, not an AsyncResult |
# | `result.get(timeout=1)` | `future.result(timeout=1)` | raises Python's `TimeoutError`, not `multiprocessing`'s (section 4) |
# | `apply(f, (x,))` | `client.submit(f, x).result()` | |
# | `map(f, items)` | `client.gather(client.map(f, items))` | one task **per item**: no chunks |
# | `imap_unordered(f, items)` | `as_completed(client.map(f, items))` | futures, in the order they finish |
# | `callback=` | `future.add_done_callback(...)` | called with the future, in a thread of Dask's |
# | `terminate()` | `client.cancel(futures)` | stops only tasks that have not started |
#
# ### Exercise 1: translate a `map`
#
# Write `squares_on_cluster(client, numbers)`, which returns
# `[square_number(n) for n in numbers]`, computed by the cluster's workers with Dask's own
# API (no `Pool`). The check calls it with twelve numbers and asks the scheduler whether its
# workers really ran the tasks.

# %%
def squares_on_cluster(client, numbers):
    ...


check_dask_translation(squares_on_cluster, client, square_number)

# %% tags=["solution"]
def squares_on_cluster(client, numbers):
    futures = client.map(square_number, numbers)  # one task per number
    return client.gather(futures)  # all the results, in one round trip


check_dask_translation(squares_on_cluster, client, square_number)

# %% [markdown]
# ## 4. What behaves differently
#
# ### Timeouts
#
# The tutorial's timeout example catches `multiprocessing.TimeoutError`. Run through the
# cluster Pool, with shorter waits so the notebook stays quick, it works as written: the
# Pool raises the course's `TimeoutError`, which *is* a `multiprocessing.TimeoutError`.

# %%
from multiprocessing import TimeoutError

def slow_task(duration):
    time.sleep(duration)
    return f"Completed after {duration} seconds"

if __name__ == '__main__':
    with Pool(address=address) as pool:
        try:
            result = pool.apply_async(slow_task, (0.5,))
            # Wait only 0.1 seconds for result
            output = result.get(timeout=0.1)
            print(output)
        except TimeoutError:
            print("Task timed out!")

# %% [markdown]
# Dask's own `future.result(timeout=...)` raises Python's own `TimeoutError` (the built-in
# one; on Python 3.10, `asyncio.TimeoutError`), another class: the tutorial's
# `except TimeoutError` would not catch it, and the error would escape.

# %%
future = client.submit(slow_task, 0.3)
try:
    future.result(timeout=0.05)
except Exception as error:
    print("a multiprocessing.TimeoutError:", isinstance(error, multiprocessing.TimeoutError))
    print("Python's own TimeoutError:",
          isinstance(error, (builtins.TimeoutError, asyncio.TimeoutError)))
print("and the task went on:", future.result(timeout=30))

# %% [markdown]
# ### Cancelling does not stop a running task
#
# `future.cancel()` (and `terminate()` on a cluster the Pool does not own) cancels what has
# not started. A task that is already running runs to its end: Dask cannot stop a Python
# function in a worker's thread without restarting the whole worker. The task below says
# when it starts and when it ends by leaving files behind.

# %%
def start_then_finish(folder, seconds):
    Path(folder, "started").touch()
    time.sleep(seconds)
    Path(folder, "finished").touch()


marks = folder / "marks"
marks.mkdir()
future = client.submit(start_then_finish, str(marks), 0.3)
deadline = time.monotonic() + 30
while not (marks / "started").exists() and time.monotonic() < deadline:
    time.sleep(0.01)
future.cancel()
print("the future says it was cancelled:", future.cancelled())
time.sleep(0.6)
print("the task ran to its end anyway:", (marks / "finished").exists())

# %% [markdown]
# That is why `procsync_teach.cluster.Pool.terminate()` stops a cluster it started itself
# (workers and all), but on a cluster given by address only cancels the waiting tasks, and
# says so in its docstring.
#
# ### Code that must travel
#
# A function defined in the notebook travels by value. A function from a **module** travels
# by *name*, as in `multiprocessing`: the worker imports the module. Our workers are other
# programs, and a module that only this notebook can import is unknown to them. We write a
# small module in the temporary folder and import it here:

# %%
code = folder / "code"
code.mkdir()
(code / "shapes.py").write_text("def area(side):\n    return side * side\n", encoding="utf-8")
sys.path.insert(0, str(code))
import shapes

with Pool(address=address) as pool:
    try:
        pool.apply(shapes.area, (3,))
    except ModuleNotFoundError as error:
        print("on the workers:", type(error).__name__, error)
    client.upload_file(str(code / "shapes.py"))  # sends the file to every worker
    print("after upload_file:", pool.apply(shapes.area, (3,)))

# %% [markdown]
# `client.upload_file` copies a module (a `.py`, `.zip` or `.egg` file) to every worker and
# imports it there. On a real cluster, the usual way is to install the same packages on
# every machine; `upload_file` is for the module you are writing now.

# %% [markdown]
# ## 5. The Lock lesson, on a cluster
#
# Notebook 02's lost update happens on a cluster too, and `procsync_teach.Lock` cannot help:
# it is a file on *this* machine. Dask has its own synchronisation objects, kept by the
# scheduler, which every worker can reach by name: `distributed.Lock`, `Semaphore`,
# `Event`, and `Variable` (a value in the scheduler, our shared counter here).
#
# Two tasks each add 1 to the counter 10 times: read it, pause for 2 ms, write it back plus
# one. An `Event` called "go" is the starting gun: both tasks wait for it, so that they
# really run at the same time.

# %%
def add_ones(times, locked):
    counter = distributed.Variable("counter")
    lock = distributed.Lock("counter-lock")
    distributed.Event("go").wait(timeout=30)  # the starting gun
    for _ in range(times):
        if locked:
            lock.acquire()
        value = counter.get()
        time.sleep(0.002)  # the window in which the other task can read the same value
        counter.set(value + 1)
        if locked:
            lock.release()


def race(locked, times=10):
    """Run add_ones in two tasks at once; return the counter's final value."""
    distributed.Variable("counter", client=client).set(0)
    go = distributed.Event("go", client=client)
    go.clear()
    with Pool(address=address) as pool:
        runs = pool.starmap_async(add_ones, [(times, locked)] * 2, chunksize=1)
        deadline = time.monotonic() + 30
        while sum(map(len, client.processing().values())) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # until both tasks are on their workers
        go.set()
        runs.get(timeout=30)
    return distributed.Variable("counter", client=client).get()


unlocked, locked = race(locked=False), race(locked=True)
print("without a lock, some of the 20 increments were lost:", unlocked < 20)
print("with distributed.Lock: the counter is exact:", locked == 20)

# %% [markdown]
# **A caveat.** A `distributed.Lock` is held by *lease*: the holder's worker renews it in
# the background, and if the scheduler hears nothing for
# `distributed.scheduler.locks.lease-timeout` (30 s by default) it takes the lock back
# and gives it to the next task, though the first may still be running: two holders at
# once. A worker too busy to renew its lease (a long computation that holds the GIL), or
# cut off from the scheduler, can cause it (Dask issue #2362). For locks that must never
# be held twice, set that timeout to `inf`, and accept that a dead holder then never gives
# the lock back.
#
# ### Semaphore: at most *n* at a time
#
# A `Semaphore(max_leases=n)` is a lock that *n* tasks may hold at once: say, a database
# that accepts two connections. With one lease, tasks on two workers take turns:

# %%
def hold_a_lease(name, seconds):
    with distributed.Semaphore(max_leases=1, name=name):
        started = time.time()
        time.sleep(seconds)
        return started, time.time()


def overlapping(spans):
    spans = sorted(spans)
    return any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))


with Pool(address=address) as pool:
    spans = pool.starmap(hold_a_lease, [("one-at-a-time", 0.05)] * 4, chunksize=1)
print("4 tasks with a one-lease Semaphore ran one at a time:", not overlapping(spans))

# %% [markdown]
# ## 6. What a cluster costs
#
# Every Dask task is a message to the scheduler, a message to a worker and a reply: far
# more work than our pool's message through a pipe. We time 20 naps (section 3's `nap`) of
# each length, one task each (`chunksize=1`), on our local Pool and on the cluster, both
# with two workers, and divide by the tasks each worker ran: the time one task costs, from
# its sending to its result.
#
# The local Pool starts its workers with spawn, whatever the course's start method: this
# kernel now runs Dask's threads, and forking a process that runs threads is unsafe
# (notebook 07).

# %%
SIZES = [0.0, 0.002, 0.005, 0.01, 0.02]  # seconds of sleep per task
TASKS = 20


def seconds_per_task(pool):
    """For each size, the best of two runs of TASKS naps, per task and worker."""
    per_task = []
    for size in SIZES:
        runs = []
        for _ in range(2):
            start = procsync_teach.now()
            pool.map(nap, [size] * TASKS, chunksize=1)
            runs.append(procsync_teach.now() - start)
        per_task.append(min(runs) * 2 / TASKS)
    return per_task


with procsync_teach.Pool(2, context="spawn") as local_pool:
    local_pool.map(nap, [0.0] * 2, chunksize=1)  # warm-up: every worker is running
    local = seconds_per_task(local_pool)
with Pool(address=address) as cluster_pool:
    on_cluster = seconds_per_task(cluster_pool)

ax = plot_seconds_against(SIZES, local, "task size (seconds of sleep)",
                          label="procsync_teach.Pool, 2 workers",
                          title="Time per task, from sending to result")
plot_seconds_against(SIZES, on_cluster, "task size (seconds of sleep)", ax=ax,
                     label="cluster Pool, 2 workers")
ax.plot(SIZES, SIZES, color="black", linestyle=":", label="the task alone")
ax.legend()
plt.show()

# %% [markdown]
# Both lines run above the dotted one by a roughly fixed amount, the **overhead per task**,
# and the cluster's is the larger. For the smallest tasks it is nearly all of the time; for
# the largest, a smaller share:

# %%
overhead = on_cluster[0]  # a task of no work: all overhead
share = [(cost - size) / cost for size, cost in zip(SIZES, on_cluster)]
print("the cluster costs more per task than the local pool:", overhead > local[0])
print("its overhead is a smaller share of the longest task than of an empty one:",
      share[-1] < share[0])

# %% [markdown]
# ### Exercise 2: when does a cluster pay off?
#
# A task of `t` seconds costs `t + overhead` on the cluster. From which task size is the
# overhead **under 10 %** of that time? Work it out from `overhead` (measured above, in
# seconds: the cost of a task that does nothing) and set `smallest_task`, in seconds.

# %%
smallest_task = ...

check_task_size(smallest_task, overhead)

# %% tags=["solution"]
# overhead / (t + overhead) = 0.1  <=>  t + overhead = 10 * overhead  <=>  t = 9 * overhead
smallest_task = 9 * overhead

check_task_size(smallest_task, overhead)

# %% [markdown]
# On one machine the cluster cannot beat the local pool: the same cores, more overhead.
# It pays off when the work needs more cores, or more memory, than one machine has, and
# each task is long enough that the trip does not matter: a chunk of work, not a single
# multiplication. That is what `map`'s chunks are for: `cluster.Pool.map` sends one task
# per chunk, while `client.map` sends one per item (`benchmarks/compare.py` measures the
# difference on 10,000 tiny tasks).
#
# Dask's **dashboard**, a live web page of the cluster, needs the `bokeh` package, which
# the course does not install. `pool.dashboard_link()` gives its address when bokeh is
# there, and None otherwise; either way it is on this machine only:

# %%
with Pool(address=address) as pool:
    link = pool.dashboard_link()
print("the dashboard, if any, is on this machine only:",
      link is None or link.startswith("http://127.0.0.1:"))

# %% [markdown]
# ## 7. A worker that dies: Dask runs its task again
#
# `procsync_teach.Pool` settles the task of a worker that dies with `WorkerDied`
# (notebook 08). Dask instead gives the task to another worker. We start the course's
# `sign_in_and_sleep` task, which writes the pid of the worker process that runs it into a
# folder, then sleeps; `signed_in` waits for that pid, and we kill that process with
# psutil's `kill()`: SIGKILL on Linux and macOS, what the out-of-memory killer sends, and
# `TerminateProcess` on Windows, which has no signals.

# %%
who = folder / "who"
who.mkdir()
with Pool(address=address) as pool:
    result = pool.apply_async(sign_in_and_sleep, (str(who), 0.3))
    [victim] = signed_in(str(who), timeout=30)
    psutil.Process(victim).kill()
    survivor = result.get(timeout=30)
    attempts = pool.records()

print("the result arrived:", survivor != victim)
print("attempts:", [record.outcome for record in attempts])
print("workers left:", len(client.scheduler_info()["workers"]))

# %% [markdown]
# The Pool's `records()` come from what the scheduler logs (its *task stream*, and the
# tasks a lost worker held), in the same shape as `procsync_teach.Pool.records()`, so the
# course's timeline draws them. The hatched bar is the attempt that died with its worker.

# %%
ax = plot_task_timeline(attempts, title="A task whose worker was killed, run again")
ax.set_xlim(left=0)
plt.show()

# %% [markdown]
# The plot claims two attempts, in two worker processes, the second starting after the
# first was lost:

# %%
lost, done = attempts
print("two attempts:", len(attempts) == 2)
print("in two different processes:", lost.pid != done.pid)
print("the second began after the first was lost:", done.started >= lost.finished)

# %% [markdown]
# Our workers run without a nanny, so nobody replaced the dead one: the cluster goes on
# with one worker. With a nanny (the default of `dask worker`, and what a LocalCluster has)
# a new worker takes its place.
#
# A task that kills every worker it runs on (one that runs out of memory, say) is not
# retried forever: after `distributed.scheduler.allowed-failures` + 1 deaths (4 by
# default) Dask gives up with `KilledWorker`, which the cluster Pool turns into the
# course's `WorkerDied`, with a message that says why.

# %% [markdown]
# ## 8. Stopping the cluster
#
# We started the scheduler and the workers, so we stop them: `client.shutdown()` asks the
# scheduler to stop every worker, then itself. Then we check that nothing the notebook
# started still runs, or still listens on a port, and remove the temporary folder.

# %%
client.shutdown()
for program in [scheduler, *workers]:
    program.wait(timeout=30)
log.close()
sys.path.remove(str(code))
shutil.rmtree(folder)
print("every Dask program has exited:", all(p.returncode is not None for p in [scheduler, *workers]))
print("no process left running:", dask_processes() == at_start[0])
print("no port left open:", listening_ports() == at_start[1])

# %% [markdown]
# ## Key points
#
# - `procsync_teach.cluster.Pool` runs a `Pool` program on a Dask cluster unchanged; on a
#   cluster that runs already, only `Pool(processes=4)` becomes `Pool(address=...)`.
# - In Dask's own API: `apply_async` → `submit`, `get` → `result`, `map` → `map` +
#   `gather` (one task per item), `imap_unordered` → `as_completed`.
# - A timeout from Dask is Python's own `TimeoutError`, not `multiprocessing`'s; `cancel()`
#   does not stop a running task; a dead worker's task runs again elsewhere; a module's
#   functions must be on the workers (`upload_file`), a notebook's travel by value.
# - Across machines, synchronise through the scheduler: `distributed.Lock` (held by lease:
#   mind the lease timeout), `Semaphore`, `Event`, `Variable`.
# - Every cluster task costs milliseconds of overhead: a cluster pays off for tasks many
#   times longer than that, and when one machine is not enough.
# - Keep every listener on 127.0.0.1 unless the cluster really spans machines.
#
# **Next:** [14 · Deep dive: the dispatcher →](14_deep_dive_the_dispatcher.ipynb) (optional)
