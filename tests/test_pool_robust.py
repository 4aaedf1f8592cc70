"""Where procsync_teach.Pool must do better than multiprocessing.Pool: never hang, always say why.

Each test is a situation in which the standard library's pool hangs, loses a result or
floods the terminal, run under every start method unless the situation cannot depend on it.
Every wait here has a timeout: a hang fails the test instead of stalling the run. The only
time limits asserted are liveness bounds ("within seconds").
"""

from __future__ import annotations

import gc
import inspect
import multiprocessing
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.pool import MaybeEncodingError
from pathlib import Path

import psutil
import pytest

from procsync_teach import (
    Lock,
    Pool,
    PoolBroken,
    PoolError,
    PoolTerminated,
    RemoteTraceback,
    WorkerDied,
    tempfiles,
)
from procsync_teach.course.sign_in import sign_in_and_sleep, signed_in
from tests import robust_helpers
from tests.conftest import ROOT, leak_snapshot, needs_sigkill
from tests.helpers import add, raise_value_error, slow, square, worker_pid

pytestmark = pytest.mark.timeout(60)

WAIT = 5.0  # the longest a get() may wait here: long enough on a busy machine, short if hung
SQUARES = [x * x for x in range(20)]


# -- helpers ------------------------------------------------------------------------------


def wait_until(condition, timeout: float = WAIT, interval: float = 0.02) -> bool:
    """Poll ``condition()`` until it is true; False if it is still false after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def two_workers_serving(pool: Pool, directory: Path) -> list[int]:
    """The pids of the pool's two workers, seen busy at the same moment.

    Two tasks that sleep a little are announced by two different pids only if two workers
    run them; a pool left with one worker runs them in turn, and this fails.
    """
    directory.mkdir()
    for _ in range(2):
        pool.apply_async(sign_in_and_sleep, (directory, 0.5))
    return signed_in(directory, 2, timeout=WAIT)


# A process in these states runs no code any more.
GONE = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)


def process_exists(pid: int) -> bool:
    """True while process ``pid`` runs, as psutil sees it (on Linux and macOS alike).

    A zombie (ended, not yet reaped by its parent) counts as gone, but only once it is the
    last of its threads: a killed process's main thread can be a zombie while another thread
    is still exiting and holding the process's pipes open.
    """
    try:
        process = psutil.Process(pid)
        return process.status() not in GONE or process.num_threads() > 1
    except psutil.NoSuchProcess:  # ZombieProcess too, where a zombie answers no more
        return False


def group_exists(pgid: int) -> bool:
    """True while a process of group ``pgid`` runs (zombies, as above, count as gone)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # killpg reaches zombies too, which may wait a while for init to reap them.
    return any(process_exists(pid) for pid in psutil.pids() if _group_of(pid) == pgid)


def _group_of(pid: int) -> int | None:
    """The process group of ``pid``; None if it ended while we looked."""
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def start_script(source: str, *args: str) -> subprocess.Popen:
    """Run ``python -c source args...`` in a session of its own, as a notebook kernel runs
    cells: functions it defines live in ``__main__``, with no file to import them from."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(
        [sys.executable, "-c", source, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        env=env,
        start_new_session=True,
    )


def read_stdout_until(process: subprocess.Popen, done, timeout: float = 30.0) -> str:
    """Read the process's output until ``done(text)`` holds; fail the test after ``timeout``."""
    text, deadline = "", time.monotonic() + timeout
    while not done(text):
        left = deadline - time.monotonic()
        assert left > 0, f"the script did not get there within {timeout} s; it printed {text!r}"
        if select.select([process.stdout], [], [], left)[0]:
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, f"the script ended early: {text!r} {process.stderr.read().decode()}"
            text += chunk.decode()
    return text


def kill_session(process: subprocess.Popen) -> None:
    """Clean up after a script test, whatever happened: kill its session, reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(WAIT)
    process.stdout.close()
    process.stderr.close()


# -- functions defined in a notebook, or in __main__ ------------------------------------------

MAIN_MODULE_TASKS = """
import sys
import procsync_teach

def tenfold(x):
    return 10 * x

class Point:
    def __init__(self, x):
        self.x = x

def double_x(point):
    return 2 * point.x

offset = 5
with procsync_teach.Pool(2, context=sys.argv[1]) as pool:
    print(pool.map(tenfold, range(5)))
    print(pool.map(lambda x: x + offset, range(5)))
    print(pool.apply(tenfold, (7,)))
    print(pool.map(double_x, [Point(1), Point(2)]))
    print(pool.apply(Point, (4,)).x)
"""


def test_functions_and_lambdas_defined_in_main_run_in_the_workers(start_method):
    """The stdlib's workers cannot find ``__main__.tenfold`` under spawn or forkserver and
    map hangs; a lambda cannot be pickled at all. Instances of a class from ``__main__``
    travel too, as arguments and as results."""
    script = subprocess.run(
        [sys.executable, "-c", MAIN_MODULE_TASKS, start_method],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert script.returncode == 0, script.stderr
    assert script.stdout.splitlines() == [
        "[0, 10, 20, 30, 40]", "[5, 6, 7, 8, 9]", "70", "[2, 4]", "4"
    ]


# -- workers that die ---------------------------------------------------------------------


@needs_sigkill
def test_worker_killed_mid_task_fails_that_task_with_worker_died(start_method, tmp_path):
    """The stdlib leaves that task's get() waiting forever."""
    with Pool(2, context=start_method) as pool:
        result = pool.apply_async(sign_in_and_sleep, (tmp_path, 30))
        [pid] = signed_in(tmp_path, timeout=WAIT)
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        with pytest.raises(WorkerDied) as died:
            result.get(timeout=WAIT)
        assert time.monotonic() - killed_at < 3, "the death went unnoticed for seconds"

        slot = died.value.worker
        assert (died.value.pid, died.value.exitcode) == (pid, -signal.SIGKILL)
        for words in (f"worker {slot}", f"pid {pid}", "SIGKILL"):
            assert words in str(died.value)
        assert (slot, pid, "worker died") in [(r.worker, r.pid, r.outcome) for r in pool.records()]

        assert pool.map_async(square, range(20)).get(WAIT) == SQUARES
        assert pid not in two_workers_serving(pool, tmp_path / "after")
        assert pid not in [child.pid for child in multiprocessing.active_children()]


@needs_sigkill
def test_idle_worker_killed_later_tasks_still_complete(start_method, tmp_path):
    """The stdlib's later tasks hang, and so does its terminate()."""
    with Pool(2, context=start_method) as pool:
        pid = multiprocessing.active_children()[0].pid
        os.kill(pid, signal.SIGKILL)
        # Dead, pipes closed, before any task is sent: a task sent in the instant before
        # that could only fail with WorkerDied, as the pool cannot tell it never ran.
        assert wait_until(lambda: not process_exists(pid))
        results = [pool.apply_async(square, (x,)) for x in range(20)]
        assert [result.get(WAIT) for result in results] == SQUARES
        assert pool.map_async(square, range(20)).get(WAIT) == SQUARES
        assert pid not in two_workers_serving(pool, tmp_path / "after")


# -- terminate() ----------------------------------------------------------------------------


def test_terminate_settles_every_pending_result_with_pool_terminated(start_method, tmp_path):
    """The stdlib's terminate() leaves every pending get() waiting forever."""
    with Pool(2, context=start_method) as pool:
        running = [
            pool.apply_async(sign_in_and_sleep, (tmp_path, 30)) for _ in range(2)
        ]
        signed_in(tmp_path, 2, timeout=WAIT)
        queued = [pool.apply_async(square, (x,)) for x in range(50)]
        mapped = pool.map_async(square, range(100))
        iterated = pool.imap_unordered(square, range(10))
        pool.terminate()

        for result in [*running, *queued, mapped]:
            assert result.ready()
            with pytest.raises(PoolTerminated):
                result.get(timeout=WAIT)
        with pytest.raises(PoolTerminated):
            iterated.next(timeout=WAIT)


# -- errors that cannot cross the process boundary -----------------------------------------


def test_exception_that_cannot_be_unpickled_reaches_the_caller_as_pool_error(start_method):
    """The stdlib's result thread dies on it, and every later task hangs."""
    with Pool(2, context=start_method) as pool:
        failing = pool.apply_async(robust_helpers.raise_unloadable_error)
        with pytest.raises(PoolError, match="could not be unpickled.*NeedsTwoArguments"):
            failing.get(timeout=WAIT)
        assert pool.map_async(square, range(20)).get(WAIT) == SQUARES


def test_exception_that_cannot_be_pickled_reaches_the_caller_as_encoding_error(start_method):
    with Pool(2, context=start_method) as pool:
        failing = pool.apply_async(robust_helpers.raise_unsendable_error)
        with pytest.raises(MaybeEncodingError, match="HoldsALock.*cannot pickle"):
            failing.get(timeout=WAIT)
        assert pool.map_async(square, range(20)).get(WAIT) == SQUARES


def test_task_exception_carries_the_worker_side_traceback(start_method):
    raising_line = inspect.getsource(raise_value_error).strip().splitlines()[-1].strip()
    with Pool(2, context=start_method) as pool:
        with pytest.raises(ValueError, match="raise_value_error got 4") as raised:
            pool.apply_async(raise_value_error, (4,)).get(timeout=WAIT)
    remote = raised.value.__cause__
    # CPython's test_traceback asks for this very class, and reads its text from ``tb``.
    assert type(remote) is RemoteTraceback is multiprocessing.pool.RemoteTraceback
    assert "in raise_value_error" in str(remote) and raising_line in remote.tb
    assert raising_line in str(remote)


# -- callbacks that raise ------------------------------------------------------------------


def raising_callback(value):
    raise RuntimeError(f"callback choked on {value!r}")


def test_raising_callback_is_reported_and_the_pool_goes_on(start_method, capfd):
    """In the stdlib, a raising callback kills the result thread: every later task hangs."""
    with Pool(2, context=start_method) as pool:
        result = pool.apply_async(square, (3,), callback=raising_callback)
        assert result.get(timeout=WAIT) == 9
        assert result.ready() and result.successful()
        assert pool.map_async(square, range(20)).get(WAIT) == SQUARES
    stderr = capfd.readouterr().err
    assert "Traceback (most recent call last)" in stderr
    assert "RuntimeError: callback choked on 9" in stderr


def test_raising_error_callback_is_reported_and_the_pool_goes_on(start_method, capfd):
    with Pool(2, context=start_method) as pool:
        result = pool.apply_async(raise_value_error, (5,), error_callback=raising_callback)
        with pytest.raises(ValueError, match="raise_value_error got 5"):
            result.get(timeout=WAIT)
        assert result.ready() and not result.successful()
        assert pool.map_async(square, range(20)).get(WAIT) == SQUARES
    stderr = capfd.readouterr().err
    assert "Traceback (most recent call last)" in stderr
    assert "RuntimeError: callback choked on ValueError" in stderr


# -- tasks that try to stop their worker ----------------------------------------------------


@pytest.mark.parametrize("name", ["SystemExit", "KeyboardInterrupt"])
def test_system_exit_or_keyboard_interrupt_in_a_task_is_a_pool_error(start_method, name):
    with Pool(1, context=start_method) as pool:
        pid = pool.apply_async(worker_pid).get(WAIT)
        with pytest.raises(PoolError, match=name):
            pool.apply_async(robust_helpers.raise_base_exception, (name,)).get(timeout=WAIT)
        assert pool.apply_async(worker_pid).get(WAIT) == pid, "the worker did not go on"


# -- Ctrl-C -----------------------------------------------------------------------------------

CTRL_C = """
import os
import sys
import time
import procsync_teach

def slow(x):
    os.write(1, b"busy %d\\n" % os.getpid())  # one write: lines of two workers never mix
    time.sleep(0.5)
    return x

with procsync_teach.Pool(2, context=sys.argv[1]) as pool:
    pool.map(slow, range(100))
"""


def busy_pids(text: str) -> set[str]:
    """The pids in the complete "busy <pid>" lines of ``text``."""
    return set(re.findall(r"^busy (\d+)\n", text, re.MULTILINE))


@needs_sigkill
def test_ctrl_c_stops_everything_with_one_traceback(start_method):
    """The stdlib prints one traceback per worker too, and close(); join() can hang."""
    script = start_script(CTRL_C, start_method)
    try:
        read_stdout_until(script, lambda text: len(busy_pids(text)) == 2)
        os.killpg(script.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, stderr = script.communicate(timeout=10)
        stderr = stderr.decode()
        assert script.returncode == -signal.SIGINT, stderr
        assert stderr.rstrip().endswith("KeyboardInterrupt"), stderr
        assert stderr.count("Traceback (most recent call last)") == 1, stderr
        assert wait_until(lambda: not group_exists(script.pid)), "processes of the script remain"
    finally:
        kill_session(script)


# -- the parent dies ------------------------------------------------------------------------

ORPHANS = """
import multiprocessing
import sys
import time
import procsync_teach

pool = procsync_teach.Pool(2, context=sys.argv[1])
print(*[child.pid for child in multiprocessing.active_children()], flush=True)
time.sleep(60)
"""


@needs_sigkill
def test_workers_exit_by_themselves_when_the_parent_is_killed(start_method):
    """A crashed notebook kernel must leave no orphaned workers behind."""
    script = start_script(ORPHANS, start_method)
    try:
        workers = [
            int(pid) for pid in read_stdout_until(script, lambda t: t.endswith("\n")).split()
        ]
        assert len(workers) == 2
        os.kill(script.pid, signal.SIGKILL)
        assert wait_until(lambda: not any(map(process_exists, workers))), (
            f"orphaned workers still running: {[p for p in workers if process_exists(p)]}"
        )
    finally:
        kill_session(script)


# -- an initializer that fails ----------------------------------------------------------------


def test_failing_initializer_fails_tasks_with_a_pool_error_naming_it(start_method):
    """The stdlib restarts the failing workers forever, and map hangs."""
    with Pool(2, initializer=robust_helpers.fail_to_initialize, context=start_method) as pool:
        results = [pool.apply_async(square, (x,)) for x in range(4)]
        for result in results:
            with pytest.raises(PoolError, match="initializer raised ConnectionError"):
                result.get(timeout=WAIT)
        with pytest.raises(PoolError, match="initializer") as raised:
            pool.map_async(square, range(10)).get(WAIT)
        assert "fail_to_initialize" in str(raised.value.__cause__)


# -- workers that cannot start ------------------------------------------------------------


def test_workers_that_end_before_they_are_ready_break_the_pool(start_method):
    """As a main module that fails when a spawned worker imports it: each worker ends before
    it is ready. The stdlib starts new ones for ever, and its tasks hang (checked last)."""
    with Pool(2, initializer=os._exit, initargs=(3,), context=start_method) as pool:
        result = pool.map_async(square, range(10))
        with pytest.raises(PoolBroken, match="3 workers in a row ended before they were ready"
                           ) as raised:
            result.get(timeout=30)
        assert "exited with code 3" in str(raised.value)
        assert isinstance(raised.value.__cause__, WorkerDied)
        assert raised.value.__cause__.exitcode == 3
        with pytest.raises(PoolBroken):
            pool.apply(square, (2,))
        assert pool.statistics().state == "BROKEN"
    stdlib_pool = multiprocessing.get_context(start_method).Pool(2, initializer=os._exit,
                                                                  initargs=(3,))
    try:
        # (not map_async: it divides by the number of live workers, and may find none)
        with pytest.raises(multiprocessing.TimeoutError):
            stdlib_pool.apply_async(square, (2,)).get(timeout=2)
    finally:
        stdlib_pool.terminate()
        stdlib_pool.join()


# -- nothing left behind ----------------------------------------------------------------------


def end_by_close_and_join(pool):
    pool.close()
    pool.join()


def end_by_terminate(pool):
    pool.terminate()
    pool.join()


@pytest.mark.parametrize(
    "end", [end_by_close_and_join, end_by_terminate], ids=["close-join", "terminate"]
)
def test_ended_pool_leaves_no_process_descriptor_or_thread(warmed_up, end):
    before = leak_snapshot()
    pool = Pool(2, context=warmed_up)
    try:
        pending = pool.map_async(slow, [0.05] * 8)
        assert pool.apply_async(square, (4,)).get(WAIT) == 16
    finally:
        end(pool)
    assert pending.ready()
    assert leak_snapshot() == before


def test_pool_left_by_with_leaves_no_process_descriptor_or_thread(warmed_up):
    before = leak_snapshot()
    with Pool(2, context=warmed_up) as pool:
        assert pool.map_async(square, range(20)).get(WAIT) == SQUARES
        pool.apply_async(slow, (30,))
    assert leak_snapshot() == before


def test_dropped_lock_leaves_no_descriptor_and_keeps_its_files_for_its_copies(warmed_up):
    folder = tempfiles.this_process_folder()  # where this process's Locks make their files

    def lock_files():  # not the process's own "alive" file, nor the marks of its forks
        return {name for name in os.listdir(folder) if not name.startswith(tempfiles.ALIVE)}

    files_before = lock_files()
    before = leak_snapshot()
    lock = Lock(trace=True)
    with Pool(2, context=warmed_up) as pool:
        pool.starmap_async(robust_helpers.use_lock, [(lock,)] * 4).get(WAIT)
    assert len(lock.holds()) == 4
    assert len(lock_files() - files_before) == 2  # the lock file and its hold log
    del lock
    gc.collect()
    # Copies went to the workers, so the files stay until this process ends (lock.py's
    # header says why; tests/test_lock_lifetime.py checks that they go then).
    assert len(lock_files() - files_before) == 2
    assert leak_snapshot() == before


# -- mistakes of the caller: an error in the caller, at once ----------------------------------


@pytest.mark.parametrize("processes", [0, -1])
def test_pool_needs_at_least_one_process(processes):
    with pytest.raises(ValueError, match="Number of processes must be at least 1"):
        Pool(processes)


@pytest.fixture(scope="module")
def pool():
    """One pool for the checks made in the caller, which do not depend on the start method."""
    with Pool(2) as pool:
        yield pool


@pytest.mark.parametrize(
    "call",
    [
        lambda pool: pool.map(square, range(4), chunksize=0),
        lambda pool: pool.imap(square, range(4), chunksize=0),
        lambda pool: pool.starmap(add, [(1, 2)], chunksize=0),
    ],
    ids=["map", "imap", "starmap"],
)
def test_chunksize_zero_is_refused(pool, call):
    with pytest.raises(ValueError, match="Chunksize must be 1\\+, not 0"):
        call(pool)
    assert pool.map_async(square, range(20)).get(WAIT) == SQUARES


@pytest.mark.parametrize(
    "call",
    [
        lambda pool: pool.apply_async(42),
        lambda pool: pool.map_async(square(3), range(4)),
    ],
    ids=["apply_async", "map_async"],
)
def test_non_callable_task_is_refused_when_submitted(pool, call):
    with pytest.raises(TypeError, match="not callable"):
        call(pool)
    assert pool.map_async(square, range(20)).get(WAIT) == SQUARES


@pytest.mark.parametrize(
    "call",
    [
        lambda pool: pool.apply_async(square, (threading.Lock(),)),
        lambda pool: pool.map_async(square, [1, 2, threading.Lock()]),
    ],
    ids=["apply_async", "map_async"],
)
def test_unpicklable_argument_is_raised_by_the_submitting_call(pool, call):
    with pytest.raises(TypeError, match="pickle"):
        call(pool)
    assert pool.map_async(square, range(20)).get(WAIT) == SQUARES


@pytest.mark.parametrize("end", [Pool.close, Pool.terminate], ids=["close", "terminate"])
@pytest.mark.parametrize(
    "call",
    [
        lambda pool: pool.apply(square, (2,)),
        lambda pool: pool.map(square, range(4)),
    ],
    ids=["apply", "map"],
)
def test_work_after_the_end_is_refused(end, call):
    ended = Pool(1)
    end(ended)
    try:
        with pytest.raises(ValueError, match="Pool not running"):
            call(ended)
    finally:
        ended.terminate()
