# %% [markdown]
# # 10 · Queues and shared state: processes that talk
#
# [← 09 · The executor](09_the_executor.ipynb) | [course map](00_start_here.ipynb#The-course-map) |
# [11 · The other primitives →](11_other_primitives.ipynb)
#
# Processes share no memory: each has its own copy of every variable (notebook 01). A pool
# hides that: it sends arguments and results for you. When processes must talk while they
# run, or share a number or a big array, you need the tools of this notebook.
#
# **Learning objectives.** By the end you can:
#
# - pass work between processes with a `Queue`, and stop consumers with a sentinel;
# - explain, and avoid, the deadlock of joining a process before reading what it queued;
# - connect two processes with a `Pipe`;
# - share a number or an array with `Value` and `Array`, and say why `v.value += 1` loses
#   updates unless it holds `v.get_lock()`;
# - choose between sending big data and sharing it (`shared_memory`), from measurements,
#   and say what a `Manager` costs.

# %% [markdown]
# ## Setup
#
# Processes are started with `procsync_teach.Process`, which works with functions defined
# in this notebook under every start method (notebook 01), and what they print is caught
# with `capture_output`. The queues, pipes and shared values come from `ctx`, the
# `multiprocessing` context of the course's start method.

# %%
import pickle
from multiprocessing import shared_memory

import matplotlib.pyplot as plt

from procsync_teach import Pool, Process, capture_output, get_context, now
from procsync_teach.course.exercises.sharing import check_count_safely, check_which_channel

ctx = get_context()


def start_all(processes):
    for process in processes:
        process.start()


def join_all(processes, timeout=10):
    """Join each process (at most `timeout` seconds each); True if all exited with code 0."""
    for process in processes:
        process.join(timeout)
    return all(process.exitcode == 0 for process in processes)

# %% [markdown]
# ## 1. A `Queue`: producer, consumers and a sentinel
#
# A `Queue` is a pipe with manners: any process may `put` an item (anything picklable) and
# any process may `get` one; each item is got by exactly one process, in the order put.
# A typical use: one producer makes work items, several consumers take them.
#
# How does a consumer know there will be no more items? An empty queue is no proof: the
# producer may just be slow. So the producer puts a **sentinel**, a value that means "stop"
# (here `None`), once per consumer: each consumer stops at the first one it reads, so each
# needs its own.

# %%
STOP = None  # the sentinel


def produce(work, items, consumers):
    for item in items:
        work.put(item)
    for _ in range(consumers):
        work.put(STOP)


def consume(work, results, name):
    while (item := work.get(timeout=10)) is not STOP:
        results.put(item * item)
    # One write for the whole line: two consumers stopping at once cannot cut into each
    # other's lines (print's text and its "\n" are two writes: notebook 01).
    print(f"{name} read the sentinel and stops\n", end="")


work, results = ctx.Queue(), ctx.Queue()
with capture_output() as screen:
    processes = [Process(target=produce, args=(work, range(20), 2))]
    processes += [Process(target=consume, args=(work, results, f"consumer {n}")) for n in range(2)]
    start_all(processes)
    squares = [results.get(timeout=10) for _ in range(20)]  # read before joining: see step 2
    all_ended = join_all(processes)

print("every process ended cleanly:", all_ended)
print("all 20 squares came back:", sorted(squares) == [n * n for n in range(20)])
print(*sorted(screen.lines()), sep="\n")

# %% [markdown]
# Which consumer squared which number, and in what order the squares came back, changes
# from run to run; that each consumer stopped, and that every square arrived, does not.
#
# ## 2. The deadlock of joining before draining
#
# Step 1 read the results *before* joining the processes. The other way round can hang for
# ever, and the reason is worth knowing. `put` does not write to the pipe itself: it hands
# the item to a thread of the process, which writes it. A pipe holds only so much (64 KiB
# on Linux); a bigger item waits until someone reads. And a process that has put something
# on a queue does not exit before its thread has written it all. So:
#
# - the child put 1 MB and wants to exit, but waits for the parent to read;
# - the parent waits in `join()` for the child to exit, and reads nothing.
#
# Each waits for the other: a deadlock. We show it safely: `join(timeout=2)` gives up after
# 2 seconds instead of waiting for ever. The child sets an `Event` once its `put` has
# returned, so we know it has reached the end of its function.

# %%
def send_big(queue, sent):
    queue.put(b"x" * 1_000_000)  # 1 MB: far more than the pipe holds
    sent.set()                   # put() has returned; the function ends here


queue, sent = ctx.Queue(), ctx.Event()
child = Process(target=send_big, args=(queue, sent))
child.start()
print("the child finished its function:", sent.wait(timeout=10))

child.join(timeout=2)  # the mistake: join before reading
print("after join(timeout=2), the child has exited:", not child.is_alive())

data = queue.get(timeout=10)  # drain the queue...
child.join(timeout=10)        # ...and now the child can exit
print("after reading", len(data), "bytes, the child has exited:", not child.is_alive(),
      "- exit code", child.exitcode)

# %% [markdown]
# The rule: **read everything a child has queued before you join it**. (Small items fit in
# the pipe and hide the bug: it appears the day the data grows.)
#
# ## 3. A `Pipe`: two ends, both ways
#
# A queue is built on a pipe. `ctx.Pipe()` gives you the pipe itself: two connection
# objects, one per end, each of which can `send` and `recv` (both ways). No thread, no
# lock: quicker than a queue, but only for two parties. `poll(timeout)` waits until
# something can be read, so the parent never waits for ever.

# %%
def shout_back(connection):
    while (text := connection.recv()) is not None:
        connection.send(text.upper() + "!")
    connection.close()


parent_end, child_end = ctx.Pipe()
child = Process(target=shout_back, args=(child_end,))
child.start()
for word in ["ping", "pong"]:
    parent_end.send(word)
    if parent_end.poll(timeout=10):
        print(word, "->", parent_end.recv())
parent_end.send(None)  # the sentinel again
print("the child ended cleanly:", join_all([child]))

# %% [markdown]
# ## 4. `Value` and `Array`: shared memory with a lock
#
# Queues and pipes *copy* data from one process to another. `ctx.Value("i", 0)` is one C
# integer (`"i"`; `"d"` is a float) in memory that the processes really share; `ctx.Array("i", 8)`
# is eight of them. Every process that gets it (as an argument of `Process`) sees the same
# memory:

# %%
def fill(table, start):
    for i in range(start, len(table), 2):  # one process the even places, one the odd
        table[i] = i * i


table = ctx.Array("i", 8)
processes = [Process(target=fill, args=(table, start)) for start in (0, 1)]
start_all(processes)
print("both ended cleanly:", join_all(processes))
print("the shared array:", table[:])

# %% [markdown]
# The two processes wrote to different places, so they never got in each other's way. Now
# both add to the same number. `counter.value += 1` looks like one step, but it is two: read
# the value, then write the value plus one. If the other process writes in between, one of
# the two additions is lost (notebook 02 showed the same with a file). Two processes add
# 20,000 each; they wait for one `Event` to start together:

# %%
def add_many(counter, go, n):
    go.wait(timeout=10)
    for _ in range(n):
        counter.value += 1


def race(adder, n=20_000):
    """Run adder(counter, go, n) in two processes at once; return the counter's value."""
    counter, go = ctx.Value("i", 0), ctx.Event()
    processes = [Process(target=adder, args=(counter, go, n)) for _ in range(2)]
    start_all(processes)
    go.set()
    if not join_all(processes, timeout=60):
        raise RuntimeError("an adding process failed")
    return counter.value

# %% tags=["nbval-ignore-output"]
counted = race(add_many)
print(f"counted {counted:,} of {2 * 20_000:,}")

# %% [markdown]
# How many are lost depends on how the two processes happen to be scheduled, so the number
# above changes from run to run (on a busy machine it could even, by luck, be right).
# What is certain is that none can be *gained*:

# %%
print("the counter never counts more than the additions:", counted <= 2 * 20_000)

# %% [markdown]
# To *see* a loss for certain, we can force the bad timing: both processes read, wait for
# each other at a `Barrier` (a meeting point: nobody passes until all have arrived), then
# both write. Every round, both read the same number and both write that number plus one:

# %%
def add_in_step(counter, barrier, rounds):
    for _ in range(rounds):
        barrier.wait(timeout=10)
        current = counter.value      # both read the same number...
        barrier.wait(timeout=10)
        counter.value = current + 1  # ...and both write the same number plus one


counter, barrier = ctx.Value("i", 0), ctx.Barrier(2)
processes = [Process(target=add_in_step, args=(counter, barrier, 50)) for _ in range(2)]
start_all(processes)
print("both ended cleanly:", join_all(processes))
print(f"two processes added 50 each; the counter says {counter.value}: one lost per round")

# %% [markdown]
# The fix is a lock around the read *and* the write. Every `Value` comes with one:
# `counter.get_lock()`. (Reading or writing `counter.value` alone takes that lock too, but
# only for the one read or write: not across both.)
#
# ### Exercise 1: count without losing
#
# Write `count_safely(counter, n)`: add 1 to `counter.value`, n times, so that two processes
# running it at once lose nothing. The check watches your function on a counter of its own
# (was the lock held at every read and write?), then runs it in two processes.

# %%
def count_safely(counter, n):
    """Add 1 to counter.value n times, holding counter's lock for each addition."""
    ...


check_count_safely(count_safely)

# %% tags=["solution"]
def count_safely(counter, n):
    for _ in range(n):
        with counter.get_lock():
            counter.value += 1


check_count_safely(count_safely)

# %% [markdown]
# With the lock, the race of the start of this step gives the right count every time:

# %%
def add_many_safely(counter, go, n):
    go.wait(timeout=10)
    for _ in range(n):
        with counter.get_lock():
            counter.value += 1


print(f"with the lock: counted {race(add_many_safely):,} of {2 * 20_000:,}")

# %% [markdown]
# ## 5. Big data: send it, or share it?
#
# Everything a pool sends to a worker is pickled, written to a pipe, read and unpickled. For
# a number that costs nothing; for an array of tens of megabytes it costs a copy or three.
# `multiprocessing.shared_memory.SharedMemory` is a block of bytes that several processes
# map into their memory: you fill it once, and pass a worker only its *name*, a short string.
#
# We measure both, from 10 KB to 40 MB: the time to pickle the bytes alone, the time of a
# `pool.apply` that sends them to a worker (which reads their last byte), and the time of a
# `pool.apply` that sends the name of a shared block holding the same bytes (the worker
# attaches to it and reads its last byte). Best of three runs each.

# %%
def last_byte(data):
    return data[-1]


def last_byte_shared(name, size):
    block = shared_memory.SharedMemory(name=name)
    try:
        return block.buf[size - 1]
    finally:
        block.close()


def best_of_three(run):
    seconds = []
    for _ in range(3):
        start = now()
        run()
        seconds.append(now() - start)
    return min(seconds)


SIZES = [10_000, 100_000, 1_000_000, 10_000_000, 40_000_000]
arguments = [bytes(size - 1) + b"\x07" for size in SIZES]  # all zeros, and a 7 at the end
blocks = [shared_memory.SharedMemory(create=True, size=size) for size in SIZES]
pickling, sending, sharing, all_right = [], [], [], True
try:
    for block, data in zip(blocks, arguments):
        block.buf[:len(data)] = data  # filled once, outside the timing
    with Pool(1) as pool:  # started after the blocks: see below
        pool.apply(last_byte, (b"warm-up",))  # the worker is up before we time
        for size, data, block in zip(SIZES, arguments, blocks):
            pickling.append(best_of_three(lambda: pickle.dumps(data)))
            sending.append(best_of_three(lambda: pool.apply(last_byte, (data,))))
            sharing.append(best_of_three(lambda: pool.apply(last_byte_shared, (block.name, size))))
            all_right = all_right and pool.apply(last_byte, (data,)) == 7
            all_right = all_right and pool.apply(last_byte_shared, (block.name, size)) == 7
finally:
    for block in blocks:
        block.close()
        block.unlink()  # shared memory outlives processes: remove it when done

print("every worker read the right byte:", all_right)

# %%
megabytes = [size / 1e6 for size in SIZES]
_, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
ax.plot(megabytes, sending, marker="o", label="pool.apply(f, (data,)): sent, pickled")
ax.plot(megabytes, pickling, marker="s", linestyle="--", label="pickle.dumps(data) alone")
ax.plot(megabytes, sharing, marker="^", label="pool.apply(f, (name,)): shared memory")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("size of the argument (MB)")
ax.set_ylabel("time (s)")
ax.set_title("Sending data costs in proportion to its size; sharing it does not")
ax.legend(fontsize="small")
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# Up to about 100 KB, sending costs what any message costs: the same as passing a name.
# Beyond, it climbs with the size, roughly ten times longer for ten times more data, and
# pickling alone is only part of it (the bytes are also written to the pipe, read and
# unpickled). The cost of passing a name stays flat. At 10 KB the difference does not
# matter; at 40 MB sharing wins by far. In words:

# %%
print("sending 40 MB took longer than sending 10 KB:", sending[-1] > sending[0])
print("at 40 MB, sending took over ten times as long as sharing:", sending[-1] > 10 * sharing[-1])

# %% [markdown]
# The price of shared memory: it holds raw bytes (NumPy can view them as an array with
# `np.ndarray(shape, dtype, buffer=block.buf)`), your code must decide who writes where,
# with a lock if two may write the same place, and somebody must `unlink()` the block. On
# Linux and macOS a block outlives the processes that use it until it is unlinked; if the
# program forgets, Python's resource tracker unlinks it when the program ends, with a
# warning about "leaked shared_memory objects". On Windows `unlink()` does nothing: the
# block goes when the last process that has it open closes it.
#
# Why were the blocks made before the pool? Python notes every shared block in a helper
# process, the *resource tracker*, which removes the blocks a crashed program forgot. A
# process that attaches to a block notes it too, with its own tracker if it has none: a
# worker forked before this notebook had a tracker would start one, and on exiting
# "clean up" blocks it only borrowed, with warnings (python/cpython#82300; Python 3.13 adds
# `SharedMemory(..., track=False)`). Making the blocks first starts the notebook's tracker,
# and every worker forked afterwards shares it.
#
# ## 6. A `Manager`: shared objects by proxy
#
# A `Value` holds a number, an `Array` numbers of one type. For a dict or a list of
# anything, `ctx.Manager()` starts a **server process** that holds the real objects; the
# others get **proxies**, which send every operation to the server and wait for its answer.

# %%
def record_square(squares, n):
    squares[n] = n * n


with ctx.Manager() as manager:
    squares = manager.dict()
    processes = [Process(target=record_square, args=(squares, n)) for n in range(5)]
    start_all(processes)
    print("all ended cleanly:", join_all(processes))
    print("the manager's dict:", dict(sorted(squares.items())))

# %% [markdown]
# Convenient: any picklable object, no lock to think about for one operation. But each
# operation is a message to another process and back. We time 2,000 updates three ways:
# a plain dict (no sharing at all), a shared `Value` under its lock, and a `Manager`'s dict.

# %%
UPDATES = 2_000


def time_updates(update):
    start = now()
    for i in range(UPDATES):
        update(i)
    return (now() - start) / UPDATES


plain, counter = {}, ctx.Value("i", 0)


def set_value(i):
    with counter.get_lock():
        counter.value = i


with ctx.Manager() as manager:
    proxy = manager.dict()
    per_update = {
        "plain dict": min(time_updates(lambda i: plain.__setitem__("n", i)) for _ in range(3)),
        "Value + get_lock()": min(time_updates(set_value) for _ in range(3)),
        "Manager dict": min(time_updates(lambda i: proxy.__setitem__("n", i)) for _ in range(3)),
    }
    proxy_right = proxy["n"] == UPDATES - 1

print("the manager's dict holds the last update:", proxy_right)

# %%
_, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
ax.bar(list(per_update), [seconds * 1e6 for seconds in per_update.values()],
       color=["tab:gray", "tab:blue", "tab:red"])
ax.set_yscale("log")
ax.set_ylabel("time per update (µs, log scale)")
ax.set_title("A proxy's every operation is a round trip to the server")
ax.grid(axis="y", alpha=0.3)
plt.show()

# %% [markdown]
# Each grid line is ten times the one below: the manager's dict is in another league. Use
# a Manager for a few updates of rich objects, not in a tight loop:

# %%
print("a Manager dict update was over ten times slower than a Value update:",
      per_update["Manager dict"] > 10 * per_update["Value + get_lock()"])

# %% [markdown]
# ## Exercise 2: which channel?
#
# For each scenario choose `"Queue"`, `"Pipe"`, `"Value"`, `"shared_memory"` or `"Manager"`:
#
# - **A.** Eight workers send their finished reports to one writer process.
# - **B.** A parent and one child play a game, sending moves back and forth.
# - **C.** Workers count the pages they have processed, in one total.
# - **D.** Four processes read the same 2 GB of numbers, and must not each copy them.
# - **E.** Workers add entries to a dict whose keys nobody knows in advance; a few per
#   second, so speed does not matter.

# %%
channels = {"A": ..., "B": ..., "C": ..., "D": ..., "E": ...}
check_which_channel(channels)

# %% tags=["solution"]
channels = {"A": "Queue", "B": "Pipe", "C": "Value", "D": "shared_memory", "E": "Manager"}
check_which_channel(channels)

# %% [markdown]
# ## Key points
#
# - A `Queue` carries picklable items from any process to any other; stop consumers with a
#   sentinel, one per consumer.
# - Read what a child has queued before you `join()` it: its queue's thread cannot finish
#   writing a big item until someone reads, and the child cannot exit before.
# - A `Pipe` connects exactly two ends, both ways, quicker than a queue.
# - `Value` and `Array` live in shared memory; `v.value += 1` is a read and a write, so wrap
#   it in `with v.get_lock():` or updates are lost.
# - Sending big data costs in proportion to its size; `shared_memory` passes only a name
#   (and must be `unlink()`ed). A `Manager` shares any object through proxies, at the price
#   of a round trip per operation.
#
# **Next:** the other synchronisation primitives, `RLock`, `Semaphore`, `Event`,
# `Condition` and `Barrier`:
# [11 · The other primitives →](11_other_primitives.ipynb)
