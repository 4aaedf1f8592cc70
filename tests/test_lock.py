"""procsync_teach.Lock: the meaning of multiprocessing.Lock, plus what that one lacks.

The first tests hold both locks to the same rules (acquire, release, ``with``, giving up
in time, any float as a timeout); then what only ours promises: it travels to pool tasks
as an ordinary argument, a holder killed with SIGKILL frees it (even one that had forked
a child), and ``trace=True`` records every hold. Where the two differ, the test says which
is right: only the process that acquired ours can release it. Last, what a Lock costs the
process: a few descriptors however many Locks live, and no file left in the temp folder.
The shared counter is a file, see ``tests/helpers.py``.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import functools
import gc
import itertools
import json
import math
import multiprocessing
import os
import pathlib
import pickle
import signal
import subprocess
import sys
import threading
import time

try:
    import resource
except ImportError:  # Windows
    resource = None

import pytest

import procsync_teach
from procsync_teach import Lock, tempfiles
from procsync_teach.lock import SPARE_DESCRIPTORS
from tests import helpers
from tests.conftest import needs_fork, needs_sigkill

pytestmark = pytest.mark.timeout(120)

PROCESSES = 4
INCREMENTS = 25
PAUSE = 0.001  # seconds between reading and writing the counter: the race window
WAIT = 20.0  # the longest any step may take before the test calls it hung

LOCK_KINDS = ["procsync_teach", "multiprocessing"]


def new_lock(kind: str, start_method: str | None = None):
    if kind == "procsync_teach":
        return Lock()
    return multiprocessing.get_context(start_method).Lock()


@pytest.fixture(params=LOCK_KINDS)
def lock_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@contextlib.contextmanager
def held_elsewhere(lock, ctx):
    """Let another process hold ``lock`` for the duration of the block."""
    held, let_go = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=helpers.hold_lock, args=(lock, held, let_go))
    holder.start()
    try:
        assert held.wait(WAIT), "the other process never took the lock"
        yield holder
    finally:
        let_go.set()
        stop(holder)


def stop(*processes) -> None:
    """Join each process, killing it if it does not end in time."""
    for process in processes:
        process.join(WAIT)
        if process.is_alive():
            process.kill()
            process.join()


def run_together(ctx, target, args, copies=PROCESSES) -> list[int]:
    """Start ``copies`` processes running ``target(*args, go)``, release them at once,
    wait for all, and return their exit codes."""
    go = ctx.Event()
    processes = [ctx.Process(target=target, args=(*args, go)) for _ in range(copies)]
    for process in processes:
        process.start()
    go.set()
    stop(*processes)
    return [process.exitcode for process in processes]


def exit_code_of_a_waiter(lock, ctx, timeout: float = WAIT) -> int:
    """Let another process wait for ``lock`` up to ``timeout`` s; its exit code: 0 if it
    got the lock, 3 if it gave up (see ``helpers.wait_for_lock``)."""
    # Kept in a name until the child has ended: a spawned child rebuilds the event from
    # its name, which the parent removes when it drops the event (issue 25, macOS).
    waiting = ctx.Event()
    waiter = ctx.Process(target=helpers.wait_for_lock, args=(lock, waiting, timeout))
    waiter.start()
    stop(waiter)
    return waiter.exitcode


# -- the same rules as multiprocessing.Lock ---------------------------------------------


def test_acquire_then_release(lock_kind):
    lock = new_lock(lock_kind)
    assert lock.acquire() is True
    lock.release()
    assert lock.acquire(timeout=1) is True
    lock.release()


def test_with_block_holds_the_lock_inside_only(lock_kind):
    lock = new_lock(lock_kind)
    with lock as entered:
        assert entered is True
        assert lock.acquire(False) is False
    assert lock.acquire(False) is True
    lock.release()


def test_with_block_releases_when_the_body_raises(lock_kind):
    lock = new_lock(lock_kind)
    with pytest.raises(KeyError), lock:
        raise KeyError("inside")
    assert lock.acquire(False) is True
    lock.release()


def test_nonblocking_acquire_of_a_held_lock_returns_false_at_once(lock_kind):
    lock = new_lock(lock_kind)
    lock.acquire()
    started = time.perf_counter()
    assert lock.acquire(False) is False
    assert lock.acquire(block=False) is False
    assert lock.acquire(timeout=0) is False
    assert lock.acquire(timeout=-1) is False  # a negative timeout counts as zero
    assert time.perf_counter() - started < 1.0
    lock.release()


def test_release_of_an_unheld_lock_raises_value_error(lock_kind):
    lock = new_lock(lock_kind)
    with pytest.raises(ValueError):
        lock.release()
    lock.acquire()
    lock.release()
    with pytest.raises(ValueError):
        lock.release()


def test_another_process_holding_the_lock_makes_acquire_give_up(lock_kind, start_method):
    ctx = multiprocessing.get_context(start_method)
    lock = new_lock(lock_kind, start_method)
    with held_elsewhere(lock, ctx):
        assert lock.acquire(False) is False
        started = time.perf_counter()
        assert lock.acquire(timeout=0.2) is False
        waited = time.perf_counter() - started
    assert 0.15 <= waited < 5.0
    assert lock.acquire(timeout=WAIT) is True  # the holder has let go
    lock.release()


def test_processes_lose_no_update_under_the_lock(lock_kind, start_method, tmp_path):
    ctx = multiprocessing.get_context(start_method)
    lock = new_lock(lock_kind, start_method)
    with lock:  # used here first: under fork, the children inherit the parent's descriptor
        pass
    counter = helpers.new_counter(tmp_path / "counter")
    codes = run_together(
        ctx, helpers.increment_counter_under_lock, (lock, counter, INCREMENTS, PAUSE)
    )
    assert codes == [0] * PROCESSES
    assert helpers.read_counter(counter) == PROCESSES * INCREMENTS


def test_without_a_lock_processes_lose_updates(start_method, tmp_path):
    """The control: the same increments with no lock lose some, so the test above can fail."""
    ctx = multiprocessing.get_context(start_method)
    counter = helpers.new_counter(tmp_path / "counter")
    codes = run_together(ctx, helpers.increment_counter_unlocked, (counter, INCREMENTS, 0.002))
    assert codes == [0] * PROCESSES
    assert helpers.read_counter(counter) < PROCESSES * INCREMENTS


def test_threads_of_one_process_are_kept_apart(lock_kind):
    lock = new_lock(lock_kind)
    total = [0]

    def add_one_slowly():
        for _ in range(50):
            with lock:
                value = total[0]
                time.sleep(0)  # hand the GIL to another thread mid-update
                total[0] = value + 1

    threads = [threading.Thread(target=add_one_slowly) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert total[0] == 4 * 50


def test_another_thread_cannot_take_a_held_lock(lock_kind):
    lock = new_lock(lock_kind)
    answers = []
    with lock:
        thread = threading.Thread(target=lambda: answers.append(lock.acquire(timeout=0.1)))
        thread.start()
        thread.join(WAIT)
    assert answers == [False]


# -- how our Lock reaches other processes ---------------------------------------------------


def test_a_pickled_copy_is_the_same_lock():
    lock = Lock()
    copy = pickle.loads(pickle.dumps(lock))
    with lock:
        assert copy.acquire(False) is False
    assert copy.acquire(False) is True
    assert lock.acquire(False) is False
    copy.release()


def test_lock_reaches_processes_as_a_process_argument(start_method, tmp_path):
    # test_processes_lose_no_update_under_the_lock passes it so too; this one names it.
    ctx = multiprocessing.get_context(start_method)
    lock, counter = Lock(), helpers.new_counter(tmp_path / "counter")
    process = ctx.Process(target=helpers.increment_counter_under_lock, args=(lock, counter, 3))
    process.start()
    stop(process)
    assert process.exitcode == 0
    assert helpers.read_counter(counter) == 3


def new_pool(kind: str, start_method: str, **options):
    if kind == "procsync_teach":
        return procsync_teach.Pool(context=start_method, **options)
    return multiprocessing.get_context(start_method).Pool(**options)


@pytest.mark.parametrize("made", ["kept in a name", "inline"])
@pytest.mark.parametrize("pool_kind", ["procsync_teach", "multiprocessing"])
def test_lock_reaches_pool_workers_through_the_initializer(
    pool_kind, made, start_method, tmp_path
):
    # Made inline, the classic way, the Lock has nothing but the pool to refer to it.
    lock, counter = new_lock(pool_kind, start_method), helpers.new_counter(tmp_path / "counter")
    task = functools.partial(helpers.increment_with_installed_lock, counter, pause=PAUSE)
    pool = new_pool(
        pool_kind,
        start_method,
        processes=PROCESSES,
        initializer=helpers.install_lock,
        initargs=(lock,),
    )
    if made == "inline":
        del lock
        gc.collect()
    with pool:
        done = pool.map_async(task, [INCREMENTS] * PROCESSES, chunksize=1).get(WAIT)
    pool.join()
    assert done == [INCREMENTS] * PROCESSES
    assert helpers.read_counter(counter) == PROCESSES * INCREMENTS


def test_lock_is_an_ordinary_argument_to_our_pool_tasks(start_method, tmp_path):
    lock, counter = Lock(), helpers.new_counter(tmp_path / "counter")
    args = (lock, counter, INCREMENTS, PAUSE)
    with procsync_teach.Pool(PROCESSES, context=start_method) as pool:
        assert pool.apply(helpers.increment_counter_under_lock, args) == INCREMENTS
        pending = [
            pool.apply_async(helpers.increment_counter_under_lock, args) for _ in range(PROCESSES)
        ]
        mapped = pool.map_async(
            functools.partial(
                helpers.increment_counter_under_lock, path=counter, times=INCREMENTS, pause=PAUSE
            ),
            [lock] * PROCESSES,
            chunksize=1,
        )
        starmapped = pool.starmap_async(
            helpers.increment_counter_under_lock, [args] * PROCESSES, chunksize=1
        )
        assert [result.get(WAIT) for result in pending] == [INCREMENTS] * PROCESSES
        assert mapped.get(WAIT) == [INCREMENTS] * PROCESSES
        assert starmapped.get(WAIT) == [INCREMENTS] * PROCESSES
    assert helpers.read_counter(counter) == (1 + 3 * PROCESSES) * INCREMENTS


def test_multiprocessing_lock_cannot_be_a_pool_task_argument(start_method):
    stdlib_lock = multiprocessing.get_context(start_method).Lock()
    # Ours pickles the arguments in the caller, so the submitting call raises.
    with procsync_teach.Pool(1, context=start_method) as pool:
        with pytest.raises(RuntimeError, match="through inheritance"):
            pool.apply_async(helpers.square, (stdlib_lock,))
        assert pool.apply(helpers.square, (3,)) == 9  # and the pool goes on
    # The stdlib's pool pickles them in its task thread, and get() raises.
    with multiprocessing.get_context(start_method).Pool(1) as pool:
        result = pool.apply_async(helpers.square, (stdlib_lock,))
        with pytest.raises(RuntimeError, match="through inheritance"):
            result.get(WAIT)


# -- a holder that dies, and the record of holds ------------------------------------------


@needs_sigkill
def test_waiters_get_the_lock_when_its_holder_is_killed(start_method):
    ctx = multiprocessing.get_context(start_method)
    lock, held = Lock(), ctx.Event()
    holder = ctx.Process(target=helpers.hold_lock_until_killed, args=(lock, held))
    waiting = [ctx.Event(), ctx.Event()]
    # One waits in the kernel (no timeout), one in a thread of its own (with a timeout).
    waiters = [
        ctx.Process(target=helpers.wait_for_lock, args=(lock, waiting[0], None)),
        ctx.Process(target=helpers.wait_for_lock, args=(lock, waiting[1], WAIT)),
    ]
    holder.start()
    try:
        assert held.wait(WAIT)
        for waiter in waiters:
            waiter.start()
        assert all(event.wait(WAIT) for event in waiting)
        time.sleep(0.2)  # let them reach acquire()
        assert all(waiter.is_alive() for waiter in waiters), "a waiter got a held lock"

        os.kill(holder.pid, signal.SIGKILL)
        killed_at = time.perf_counter()
        stop(*waiters)
        assert [waiter.exitcode for waiter in waiters] == [0, 0]
        assert time.perf_counter() - killed_at < 10
    finally:
        holder.kill()
        stop(holder, *waiters)
    assert holder.exitcode == -signal.SIGKILL
    assert lock.acquire(timeout=5) is True
    lock.release()


def test_traced_holds_of_several_processes_never_overlap(start_method):
    ctx = multiprocessing.get_context(start_method)
    lock, go = Lock(trace=True), ctx.Event()
    processes = [
        ctx.Process(target=helpers.hold_lock_repeatedly, args=(lock, 5, 0.001, go))
        for _ in range(3)
    ]
    for process in processes:
        process.start()
    go.set()
    stop(*processes)
    assert [process.exitcode for process in processes] == [0, 0, 0]

    holds = lock.holds()
    assert len(holds) == 3 * 5
    assert {hold.pid for hold in holds} == {process.pid for process in processes}
    assert all(hold.acquired <= hold.released for hold in holds)
    for earlier, later in itertools.pairwise(holds):
        assert earlier.released <= later.acquired, f"{earlier} overlaps {later}"


def test_traced_lock_records_this_process_too():
    lock = Lock(trace=True)
    with lock:
        pass
    [hold] = lock.holds()
    assert hold.pid == os.getpid()


def test_a_traced_release_lets_go_even_when_the_hold_cannot_be_recorded(monkeypatch):
    # With no descriptor left, or its trace folder removed, the record cannot be written:
    # release() says so, but only after letting go, here and for every other process.
    ctx = multiprocessing.get_context()
    lock = Lock(trace=True)

    def no_descriptor_left(*args):
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(procsync_teach.lock, "record_hold", no_descriptor_left)
    lock.acquire()
    with pytest.raises(OSError, match="Too many open files"):
        lock.release()
    monkeypatch.undo()  # a forked child records its own hold as it should

    assert exit_code_of_a_waiter(lock, ctx) == 0, "another process could not take the lock"
    assert lock.acquire(timeout=WAIT) is True, "another thread of this process could not"
    lock.release()
    assert [hold.pid == os.getpid() for hold in lock.holds()] == [False, True]


def test_untraced_lock_has_no_holds_to_show():
    with pytest.raises(ValueError, match="trace=True"):
        Lock().holds()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_lock_is_freed_when_a_killed_holder_had_forked_a_child(start_method):
    # A forked child shares its parent's open files; if it kept the holder's, the lock
    # would stay held as long as the child lives, after the holder itself was killed.
    ctx = multiprocessing.get_context(start_method)
    lock, held, sleeper = Lock(), ctx.Event(), ctx.Value("i", 0)
    holder = ctx.Process(target=helpers.hold_lock_and_fork_a_sleeper, args=(lock, held, sleeper))
    holder.start()
    try:
        assert held.wait(WAIT)
        assert lock.acquire(False) is False
        os.kill(holder.pid, signal.SIGKILL)
        assert lock.acquire(timeout=WAIT) is True, "the forked child kept the lock held"
        lock.release()
    finally:
        holder.kill()
        if sleeper.value:  # first: it holds the pipe on which join() learns of the holder's end
            with contextlib.suppress(ProcessLookupError):
                os.kill(sleeper.value, signal.SIGKILL)
        holder.join(WAIT)
    assert holder.exitcode == -signal.SIGKILL


# -- timeouts as the stdlib takes them ----------------------------------------------------------


@pytest.mark.parametrize("timeout", [math.inf, 1e10, math.nan])
def test_any_float_timeout_takes_a_free_lock(lock_kind, timeout):
    lock = new_lock(lock_kind)
    assert lock.acquire(timeout=timeout) is True
    lock.release()


def let_go_soon(lock, after=0.2):
    """Hold ``lock`` in a thread of this process and let it go after ``after`` seconds."""
    took = threading.Event()

    def hold():
        with lock:
            took.set()
            time.sleep(after)

    thread = threading.Thread(target=hold)
    thread.start()
    assert took.wait(WAIT)
    return thread


def test_a_huge_timeout_waits_until_the_holder_lets_go(lock_kind):
    lock = new_lock(lock_kind)
    holder = let_go_soon(lock)
    assert lock.acquire(timeout=1e10) is True
    lock.release()
    holder.join(WAIT)


def test_an_infinite_timeout_waits_as_long_as_it_takes(lock_kind):
    lock = new_lock(lock_kind)
    holder = let_go_soon(lock)
    if lock_kind == "multiprocessing" and sys.platform == "linux":
        # The stdlib's deadline overflows and sem_timedwait refuses it; ours waits, as
        # it does for any large timeout, and that is what "inf" means.
        with pytest.raises(OSError) as raised:
            lock.acquire(timeout=math.inf)
        assert raised.value.errno == errno.EINVAL
    else:
        assert lock.acquire(timeout=math.inf) is True
        lock.release()
    holder.join(WAIT)


def test_a_nan_timeout_on_a_held_lock_raises_oserror_as_the_stdlib_does(lock_kind):
    lock = new_lock(lock_kind)
    holder = let_go_soon(lock, after=1.0)
    with pytest.raises(OSError) as raised:
        lock.acquire(timeout=math.nan)
    assert raised.value.errno == errno.EINVAL
    holder.join(WAIT)


TRIES = 20  # how many times the waiter below asks for a lock held back to back


def wins_against_a_holder_that_takes_it_back(lock, ctx, timeout) -> int:
    """How many of ``TRIES`` acquires with ``timeout`` get ``lock``, while another process
    holds it 2 ms at a time and takes it back the moment it lets go."""
    holding, stop_holding = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=helpers.hold_lock_back_to_back, args=(lock, holding, stop_holding))
    holder.start()
    wins = 0
    try:
        assert holding.wait(WAIT), "the holder never took the lock"
        for _ in range(TRIES):
            if lock.acquire(timeout=timeout):
                wins += 1
                lock.release()
    finally:
        stop_holding.set()
        stop(holder)
    assert holder.exitcode == 0
    return wins


def test_a_timed_waiter_gets_a_lock_taken_back_to_back_as_often_as_a_blocking_one(
    lock_kind, start_method
):
    # A waiter that polls sleeps through the moments the lock is free, so against a
    # holder that takes it back at once it won 0 to 7 times in 20. The kernel wakes
    # a waiter that is queued: the stdlib's semaphore and our blocking acquire always
    # win; a timed acquire must win about as often (the stdlib's won 18 to 20 in 20).
    ctx = multiprocessing.get_context(start_method)
    lock = new_lock(lock_kind, start_method)
    assert wins_against_a_holder_that_takes_it_back(lock, ctx, None) == TRIES
    assert wins_against_a_holder_that_takes_it_back(lock, ctx, 0.2) >= TRIES * 3 // 4


def waiting_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "procsync_teach.Lock wait"]


def test_timed_acquires_that_give_up_leave_one_wait_that_lets_go_when_it_wins(start_method):
    # A timed acquire waits in a thread, which goes on waiting after the caller gave up:
    # the next timed acquire takes its place in the queue, so a loop of them never makes
    # more than one. When it wins with nobody left to want the lock, it lets go at once.
    ctx = multiprocessing.get_context(start_method)
    lock = Lock()
    with held_elsewhere(lock, ctx):
        assert [lock.acquire(timeout=0.01) for _ in range(10)] == [False] * 10
        assert len(waiting_threads()) == 1
    for thread in waiting_threads():
        thread.join(WAIT)
    assert waiting_threads() == []
    assert exit_code_of_a_waiter(lock, ctx) == 0, "the abandoned wait kept the lock"


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="no pthread_kill on Windows")
def test_a_timed_acquire_stopped_by_ctrl_c_leaves_no_wait_that_keeps_the_lock():
    ctx = multiprocessing.get_context()
    lock = Lock()
    with held_elsewhere(lock, ctx):
        interrupt = threading.Timer(
            0.3, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)
        )
        interrupt.start()
        with pytest.raises(KeyboardInterrupt):
            lock.acquire(timeout=WAIT)
        interrupt.join(WAIT)
    for thread in waiting_threads():
        thread.join(WAIT)
    assert exit_code_of_a_waiter(lock, ctx) == 0, "the interrupted wait kept the lock"
    assert lock.acquire(timeout=WAIT) is True
    lock.release()


@needs_fork
# Forking beside the waiting thread is the point; Python 3.12+ warns of any such fork.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_child_forked_during_a_timed_wait_does_not_keep_the_lock_the_wait_wins():
    # The waiting thread's descriptor is copied into a child forked meanwhile; a copy
    # kept open would hold the lock the thread wins, and lets go of, for the child's life.
    ctx = multiprocessing.get_context("fork")
    lock = Lock()
    with held_elsewhere(lock, ctx):
        assert lock.acquire(timeout=0.01) is False
        child = ctx.Process(target=helpers.sleep_for, args=(30,))
        child.start()
    try:
        for thread in waiting_threads():
            thread.join(WAIT)
        assert lock.acquire(timeout=WAIT) is True
        lock.release()
        assert exit_code_of_a_waiter(lock, ctx, 2.0) == 0, "the forked child kept the lock held"
    finally:
        child.kill()
        stop(child)


def test_a_nan_timeout_on_a_lock_held_by_another_process_raises_oserror():
    ctx = multiprocessing.get_context()
    lock = Lock()
    with held_elsewhere(lock, ctx), pytest.raises(OSError, match="nan"):
        lock.acquire(timeout=math.nan)


# -- release() from another process --------------------------------------------------------------


def test_only_the_process_that_took_our_lock_can_release_it(lock_kind, start_method):
    # multiprocessing.Lock may be released by any process (a semaphore has no owner).
    # Ours cannot: the kernel's file lock belongs to the holder's open file, which no
    # other process has. It says so, and the lock stays held.
    ctx = multiprocessing.get_context(start_method)
    lock = new_lock(lock_kind, start_method)
    lock.acquire()
    receiver, sender = ctx.Pipe(duplex=False)
    other = ctx.Process(target=helpers.release_here, args=(lock, sender))
    other.start()
    assert receiver.poll(WAIT)
    answer = receiver.recv()
    stop(other)
    if lock_kind == "multiprocessing":
        assert answer == "released"
        assert lock.acquire(False) is True
    else:
        assert answer.startswith("ValueError:")
        assert "released only by the process that acquired it" in answer
        assert "multiprocessing.Lock" in answer
    lock.release()


# -- descriptors and files ---------------------------------------------------------------------


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that imports this checkout's packages."""
    environment = {**os.environ, "PYTHONPATH": helpers.ROOT, **env}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
        timeout=120, env=environment, check=False,
    )


@pytest.mark.skipif(resource is None, reason="descriptor limits are POSIX-only")
def test_five_thousand_live_locks_under_a_limit_of_1024_descriptors(
    lock_kind, start_method, tmp_path
):
    result = run_python(
        "from tests.helpers import live_locks_under_a_descriptor_limit as run; "
        f"run({lock_kind!r}, 5000, 1024, {start_method!r})",
        TMPDIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    counts = json.loads(result.stdout)
    assert counts["during"] - counts["before"] < 100  # a few spares, never one per Lock
    assert counts["after"] == counts["before"]
    assert counts["child_during"] == counts["child_before"]  # the child inherits none


def test_a_held_lock_keeps_its_file_open_while_many_others_come_and_go():
    ctx = multiprocessing.get_context()
    held = Lock()
    held.acquire()
    others = [Lock() for _ in range(3 * SPARE_DESCRIPTORS)]
    for other in others:  # each opens its file, and older idle ones close theirs
        with other:
            pass
    assert exit_code_of_a_waiter(held, ctx, 0.2) == 3, (
        "the held lock's file was closed, which let it go"
    )
    held.release()
    assert others[0].acquire(timeout=WAIT) is True  # its file closed meanwhile: reopened
    others[0].release()


def test_a_lock_made_in_a_child_leaves_no_file_when_the_child_ends(start_method):
    ctx = multiprocessing.get_context(start_method)
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=helpers.make_a_lock_and_exit, args=(sender,))
    child.start()
    assert receiver.poll(WAIT)
    paths = receiver.recv()
    stop(child)
    assert child.exitcode == 0
    assert [path for path in paths if os.path.exists(path)] == []


KILLED_PROGRAM = """
import sys, time
from procsync_teach import Lock, tempfiles
from procsync_teach.lock import SPARE_DESCRIPTORS
lock = Lock(trace=True)
with lock:
    pass
print(lock._path, lock._trace_path, flush=True)
time.sleep(60)
"""


def test_files_of_a_killed_program_are_removed_by_the_next_run(tmp_path):
    temp = str(tmp_path)
    killed = subprocess.Popen(
        [sys.executable, "-c", KILLED_PROGRAM], stdout=subprocess.PIPE, text=True,
        encoding="utf-8", env={**os.environ, "PYTHONPATH": helpers.ROOT, "TMPDIR": temp},
    )
    try:
        paths = killed.stdout.readline().split()
    finally:
        killed.kill()
        killed.wait(WAIT)
        killed.stdout.close()
    assert len(paths) == 2 and all(os.path.exists(path) for path in paths)

    next_run = run_python("import procsync_teach; procsync_teach.Lock().acquire()", TMPDIR=temp)
    assert next_run.returncode == 0, next_run.stderr
    assert os.listdir(temp) == []  # the killed program's files, and the next run's own


def refuse_to_remove(monkeypatch, times: float) -> list[str]:
    """Make os.remove refuse ``times`` times, as Windows refuses while another process
    has the file open; return the list of refused paths, filled as it goes."""
    monkeypatch.setattr(tempfiles, "_OPEN_FILES_CANNOT_BE_REMOVED", True)
    remove, refused = os.remove, []

    def remove_unless_refused(path, *args, **kwargs):
        if len(refused) < times:
            refused.append(path)
            raise PermissionError(errno.EACCES, "another process has it open", path)
        remove(path, *args, **kwargs)

    monkeypatch.setattr(os, "remove", remove_unless_refused)
    return refused


def test_a_lock_file_still_open_elsewhere_is_removed_once_it_can_be(monkeypatch):
    lock = Lock()
    path = lock._path
    refused = refuse_to_remove(monkeypatch, times=2)
    del lock
    gc.collect()
    assert refused == [path, path]
    assert not os.path.exists(path)


def test_a_file_that_cannot_be_removed_is_left_for_the_sweep_without_an_error(monkeypatch):
    lock = Lock()
    path = lock._path
    refuse_to_remove(monkeypatch, times=math.inf)
    tempfiles.remove(path)  # returns, raises nothing
    assert os.path.exists(path)
    monkeypatch.undo()
    del lock


def test_every_os_open_in_the_library_passes_o_binary():
    # Windows' C runtime opens a file in text mode unless told O_BINARY, and then
    # writes every byte 10 as 13, 10: the hold records would come back as garbage.
    missing = []
    for path in pathlib.Path(procsync_teach.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "os.open":
                if "O_BINARY" not in ast.unparse(node.args[1]):
                    missing.append(f"{path.name}:{node.lineno}")
    assert missing == []
