"""Functions the tests run in other processes: pool tasks and process targets.

They live in an importable module, not in the test files, because
``multiprocessing.Pool`` under spawn or forkserver sends a function by name and the
worker must import it (``procsync_teach.Pool`` could send functions by value, but the
tests give both pools the same functions).

The shared counter is a file holding a fixed-width number. ``add_one`` reads it, pauses,
and writes it back plus one: a read-modify-write whose pause is the window in which
another process, unless a lock keeps it out, can read the same old value.
"""

from __future__ import annotations

import os
import sys
import threading
import time

#: The repository's root, for a fresh interpreter's PYTHONPATH.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# -- pool tasks ------------------------------------------------------------------------


def square(x):
    return x * x


def add(a, b):
    return a + b


def slow(seconds, value=None):
    """Sleep, then return ``value``: a task that is still running when asked too early."""
    time.sleep(seconds)
    return value


def big_reply_after(seconds, size):
    """Sleep, then return ``size`` bytes: a reply far bigger than a pipe holds."""
    time.sleep(seconds)
    return b"r" * size


def sleep_for(seconds):
    """Sleep, then return how long: one argument, for map and imap."""
    time.sleep(seconds)
    return seconds


class Unloadable:
    """A task function that pickles, but that no worker can unpickle, like a function
    from a module the worker cannot import."""

    def __call__(self, x):
        return x

    def __reduce__(self):
        return _refuse_to_load, ()


def _refuse_to_load():
    raise ImportError("this function cannot be loaded here")


def raise_value_error(x):
    raise ValueError(f"raise_value_error got {x!r}")


def fail_on_three(x):
    """Return ``x``, except for 3: one failing item among good ones."""
    if x == 3:
        raise_value_error(x)
    return x


def unpicklable_result(_=None):
    """Return a thread lock: a result that cannot be pickled back to the caller."""
    return threading.Lock()


def worker_pid(_=None):
    """The pid of the worker that runs this call."""
    return os.getpid()


def square_and_pid(x):
    """``x * x`` and the pid of the worker that computed it."""
    return x * x, os.getpid()


# -- an initializer and what it leaves behind --------------------------------------------

_remembered = None


def remember(*values):
    """An initializer: keep ``values`` in this worker, for ``remembered`` to return."""
    global _remembered
    _remembered = values


def remembered(_=None):
    return _remembered


# -- the shared counter --------------------------------------------------------------------

_WIDTH = 12


def new_counter(path) -> str:
    """Create the counter file at ``path``, holding 0; return its path as a string."""
    with open(path, "wb") as file:
        file.write(b"%0*d" % (_WIDTH, 0))
    return str(path)


def read_counter(path) -> int:
    with open(path, "rb") as file:
        return int(file.read())


def add_one(path, pause=0.0):
    """Read the counter, pause, write it back plus one. Not safe without a lock."""
    # Each call opens its own descriptor, so seeking it moves no other process's offset
    # (os.pread and os.pwrite would spare the seeks, but Windows has neither).
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        value = int(os.read(fd, _WIDTH))
        time.sleep(pause)  # sleep(0) still yields; a longer pause widens the race window
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b"%0*d" % (_WIDTH, value + 1))
    finally:
        os.close(fd)


def increment_counter_under_lock(lock, path, times=10, pause=0.0, go=None):
    """Add one to the counter ``times`` times, each under ``lock``; return ``times``.

    ``go``, an Event, makes every process start together, so that they contend.
    """
    if go is not None:
        go.wait(30)
    for _ in range(times):
        with lock:
            add_one(path, pause)
    return times


def increment_counter_unlocked(path, times=10, pause=0.0, go=None):
    """The same increments with no lock at all: the control that shows lost updates."""
    if go is not None:
        go.wait(30)
    for _ in range(times):
        add_one(path, pause)
    return times


# -- a lock kept by the initializer ----------------------------------------------------------

_installed_lock = None


def install_lock(lock):
    """An initializer: keep the lock in this worker, where tasks find it."""
    global _installed_lock
    _installed_lock = lock


def increment_with_installed_lock(path, times=10, pause=0.0):
    return increment_counter_under_lock(_installed_lock, path, times, pause)


# -- a lock whose maker has dropped it -------------------------------------------------------


def _wait_for(event):
    event.wait(30)


class UnpickledAfter:
    """An argument that, as a child unpickles it, waits until ``event`` is set: the
    arguments after it are unpickled only then. (Under fork nothing is unpickled.)"""

    def __init__(self, event):
        self.event = event

    def __reduce__(self):
        return _wait_for, (self.event,)


def increment_counter_under_lock_after(_gate, lock, path, times, go):
    """``increment_counter_under_lock`` behind an :class:`UnpickledAfter` argument."""
    return increment_counter_under_lock(lock, path, times, 0.0, go)


# -- process targets that hold or wait for a lock ------------------------------------------


def hold_lock(lock, held, let_go, hold_for=30.0):
    """Take the lock, say so (set ``held``), keep it until ``let_go`` is set, release it."""
    lock.acquire()
    held.set()
    let_go.wait(hold_for)
    lock.release()


def hold_lock_until_killed(lock, held):
    """Take the lock, say so, and never let go: the test kills this process."""
    lock.acquire()
    held.set()
    time.sleep(60)
    sys.exit(2)  # not reached when the test works: it was to be killed before


def wait_for_lock(lock, waiting, timeout=None):
    """Say that we are about to wait, wait for the lock, and report by exit code.

    Exit code 0: got the lock (and released it); 3: gave up after ``timeout`` seconds.
    ``timeout=None`` waits in the kernel; a number waits there too, in a thread that the
    caller stops watching at the deadline.
    """
    waiting.set()
    got_it = lock.acquire() if timeout is None else lock.acquire(timeout=timeout)
    if got_it:
        lock.release()
    sys.exit(0 if got_it else 3)


def hold_lock_repeatedly(lock, times, hold_for=0.001, go=None):
    """Take and release the lock ``times`` times, each time keeping it ``hold_for`` s."""
    if go is not None:
        go.wait(30)
    for _ in range(times):
        with lock:
            time.sleep(hold_for)


def hold_lock_back_to_back(lock, holding, stop, hold_for=0.002, at_most=60.0):
    """Hold the lock ``hold_for`` s at a time, taking it back the moment it is let go,
    until ``stop`` is set (or ``at_most`` seconds have passed); say so once holding."""
    ends = time.monotonic() + at_most
    lock.acquire()
    holding.set()
    while not stop.is_set() and time.monotonic() < ends:
        time.sleep(hold_for)
        lock.release()
        lock.acquire()
    lock.release()


def hold_lock_and_fork_a_sleeper(lock, held, sleeper):
    """Take the lock, fork a child that only sleeps, say so, and never let go.

    The test kills this process; the lock must then be free although the forked child,
    whose pid goes into ``sleeper`` (a shared integer), lives on.
    """
    lock.acquire()
    pid = os.fork()
    if pid == 0:  # the child: it does nothing with the lock
        time.sleep(60)
        os._exit(0)
    sleeper.value = pid
    held.set()
    time.sleep(60)
    sys.exit(2)  # not reached when the test works


def release_here(lock, answer):
    """Release a lock that another process took; send back "released" or the error."""
    try:
        lock.release()
    except Exception as error:
        answer.send(f"{type(error).__name__}: {error}")
    else:
        answer.send("released")


_kept_until_exit = []


def make_a_lock_and_exit(answer):
    """Make a traced Lock, use it, send back the names of its files, and end normally
    with the Lock still alive (kept in a global): only the exit can remove its files."""
    from procsync_teach import Lock

    lock = Lock(trace=True)
    with lock:
        pass
    _kept_until_exit.append(lock)
    answer.send([lock._path, lock._trace_path])


def report_descriptors(answer):
    """In a child: send back how many file descriptors this process has open."""
    import psutil

    answer.send(psutil.Process().num_fds())


def descriptors_of_a_child(method):
    """How many descriptors a child started with ``method`` has open, as it starts."""
    import multiprocessing

    context = multiprocessing.get_context(method)
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=report_descriptors, args=(sender,))
    child.start()
    sender.close()
    try:
        if not receiver.poll(60):
            raise TimeoutError("the child never reported")
        return receiver.recv()
    finally:
        child.join(60)
        receiver.close()


def live_locks_under_a_descriptor_limit(kind, count, limit, method):
    """Run in a fresh interpreter: lower this process's descriptor limit to ``limit``,
    make ``count`` locks of ``kind`` and use each once, all still alive; start a child
    with ``method``. Print, as JSON, the descriptors of this process and of a child,
    and the files in the temp folder, before, while the locks live, and after they are
    dropped.
    """
    import gc
    import json
    import multiprocessing
    import resource
    import tempfile

    import psutil

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    me = psutil.Process()

    def files():  # but a process's own "alive" and the marks of its forks
        return sum(len([name for name in names if not name.startswith("alive")])
                   for _, _, names in os.walk(tempfile.gettempdir()))

    if kind == "procsync_teach":  # its folder, whose file "alive" stays open for good
        from procsync_teach import tempfiles

        tempfiles.this_process_folder()
    # First a child: a fork server or resource tracker it starts stays, with its pipe.
    report = {"child_before": descriptors_of_a_child(method)}
    report.update(before=me.num_fds(), files_before=files())
    if kind == "procsync_teach":
        from procsync_teach import Lock

        locks = [Lock() for _ in range(count)]
    else:
        locks = [multiprocessing.get_context(method).Lock() for _ in range(count)]
    for lock in locks:
        with lock:
            pass
    with locks[0]:  # one held while the child starts: the child must not keep it held
        report["child_during"] = descriptors_of_a_child(method)
    report.update(during=me.num_fds(), files_during=files())
    del locks, lock
    gc.collect()
    report.update(after=me.num_fds(), files_after=files())
    print(json.dumps(report))


class CountCalls:
    """A callable object that counts its own calls: a task whose state could carry over
    from one job to the next, if a worker kept it between jobs."""

    def __init__(self):
        self.calls = 0

    def __call__(self, _=None):
        self.calls += 1
        return self.calls


def counting_closure():
    """A closure that counts its own calls in a list it closes over: a task whose state
    could carry over from one job to the next, if a worker kept it between jobs (the
    standard library cannot send it at all: it pickles functions by name)."""
    calls = []

    def count(_=None):
        calls.append(None)
        return len(calls)

    return count


# -- tasks that wait for a sign from the test ------------------------------------------------


def wait_for_file(item):
    """``item`` is ``(path, value)``: wait until a file exists at ``path`` (None: do not
    wait), then return ``value``. The test creates the file when it has seen what must
    come first, so the order of events is the test's, not the clock's."""
    path, value = item
    deadline = time.monotonic() + 60
    while path is not None and not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no file at {path} within 60 s")
        time.sleep(0.005)
    return value


def fail_after_file(item):
    """:func:`wait_for_file`, then raise a ValueError that names ``value``."""
    raise ValueError(f"item {wait_for_file(item)} failed")


def a_main_function_named_twin(_=None):
    """Define ``twin`` anew in this worker's ``__main__`` and return it: a result that is a
    function of ``__main__``, named like one the caller's ``__main__`` has. ``twin`` uses
    the global ``twin`` (itself), so a pickler that sends it by value sends that too."""
    namespace = vars(sys.modules["__main__"])
    exec("def twin():\n    return 'made in a worker', twin\n", namespace)
    return namespace["twin"]


# -- exercise checks ---------------------------------------------------------------------


def stub(*args):
    """An exercise cell's placeholder: a body of only ``...``."""
    ...


def assert_hint(verdict, *words):
    """The verdict turns the answer away with a hint that says each of ``words``."""
    assert not verdict
    assert verdict.text.startswith("❌ Not yet. Hint:")
    for word in words:
        assert word in verdict.text
