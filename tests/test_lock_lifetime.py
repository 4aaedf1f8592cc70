"""How long a Lock's file lives, and its process's folder.

A Lock is a file, so it works as long as its file is there. The file must stay while any
process may use a copy of the Lock, however briefly its maker kept its own: the idioms
people write make a Lock inline, as an initializer's argument (in ``test_lock.py``,
beside the stdlib's), a task's or a Process's, and keep no name for it. Yet a notebook
that makes and drops thousands of Locks that never leave it must keep none of their
files.

A process's folder goes when the process ends; one whose process was killed goes at the
next sweep. The sweep must judge by what only a live process holds (a lock on the file
``alive`` in its folder), not by a pid: a program in another container, sharing the temp
folder, has pids this one cannot see.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import time

import psutil
import pytest

import procsync_teach
from procsync_teach import Lock, tempfiles
from tests import helpers
from tests.conftest import needs_fork
from tests.test_lock import (
    LOCK_KINDS,
    PROCESSES,
    WAIT,
    new_lock,
    run_python,
    stop,
)

pytestmark = pytest.mark.timeout(120)


# -- a Lock made inline works as long as a copy of it is in use ------------------------------


def test_a_lock_made_inline_as_a_task_argument_reaches_the_task(start_method, tmp_path):
    # The tasks wait behind a slow one while the caller's Lock objects are long gone.
    # (multiprocessing.Lock cannot be a task's argument at all: see test_lock.py.)
    counter = helpers.new_counter(tmp_path / "counter")
    with procsync_teach.Pool(1, context=start_method) as pool:
        first = pool.apply_async(helpers.sleep_for, (0.3,))
        pending = [
            pool.apply_async(helpers.increment_counter_under_lock, (Lock(), counter, 1))
            for _ in range(PROCESSES)
        ]
        gc.collect()
        assert first.get(WAIT) == 0.3
        assert [result.get(WAIT) for result in pending] == [1] * PROCESSES
    assert helpers.read_counter(counter) == PROCESSES


@pytest.mark.parametrize("lock_kind", LOCK_KINDS)
def test_a_lock_made_inline_as_a_process_argument_reaches_the_child(
    lock_kind, start_method, tmp_path
):
    # Python 3.11 drops a Process's args once it has started, so nothing refers to the
    # Lock by the time the child opens it; the gate makes sure the child is that late.
    ctx = multiprocessing.get_context(start_method)
    counter = helpers.new_counter(tmp_path / "counter")
    go = ctx.Event()  # kept in a name: the child needs it until it has started
    child = ctx.Process(
        target=helpers.increment_counter_under_lock_after,
        args=(helpers.UnpickledAfter(go), new_lock(lock_kind, start_method), counter, 3, go),
    )
    child.start()
    gc.collect()
    go.set()
    stop(child)
    if lock_kind == "multiprocessing" and start_method != "fork":
        # The stdlib's child opens the semaphore by its name, which the parent removed
        # when its Lock was dropped: FileNotFoundError. Ours is right: a Lock stays
        # usable while any process has a copy (see lock.py's header).
        assert (child.exitcode, helpers.read_counter(counter)) == (1, 0)
    else:
        assert (child.exitcode, helpers.read_counter(counter)) == (0, 3)


def test_a_pickled_lock_outlives_its_maker_s_object():
    lock = Lock()
    path, copy = lock._path, pickle.dumps(lock)
    del lock
    gc.collect()
    assert os.path.exists(path)
    lock = pickle.loads(copy)
    assert lock.acquire(timeout=WAIT) is True
    lock.release()


@needs_fork
def test_a_lock_alive_at_a_fork_keeps_its_file_while_the_child_runs_and_no_longer():
    ctx = multiprocessing.get_context("fork")
    lock = Lock()
    path = lock._path
    child = ctx.Process(target=helpers.sleep_for, args=(30,))
    child.start()
    try:
        del lock
        gc.collect()
        assert os.path.exists(path), "removed while the child, which has a copy, runs"
    finally:
        child.kill()
        stop(child)
    with Lock():  # making or dropping a Lock looks again at what waits for children
        pass
    assert not os.path.exists(path)


def test_locks_that_never_left_their_process_leave_no_file_when_dropped():
    folder = tempfiles.this_process_folder()
    before = set(os.listdir(folder))
    for _ in range(500):
        with Lock():
            pass
    gc.collect()
    assert set(os.listdir(folder)) - before == set()


SHARED_THEN_DROPPED = """
import gc, pickle
from procsync_teach import Lock
lock = Lock(trace=True)
pickle.dumps(lock)
print(lock._path, lock._trace_path, flush=True)
del lock
gc.collect()
"""


def test_the_files_of_a_shared_lock_go_when_its_process_ends(tmp_path):
    result = run_python(SHARED_THEN_DROPPED, TMPDIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    paths = result.stdout.split()
    assert len(paths) == 2 and not any(os.path.exists(path) for path in paths)
    assert os.listdir(tmp_path) == []


# -- the sweep judges by a lock the live process holds, not by its pid ------------------------


HOLD_ALIVE = """
import os, sys, time
from procsync_teach.lock import _wait_lock_file
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0))
_wait_lock_file(fd)
print("holding", flush=True)
time.sleep(60)
"""


def a_pid_that_has_ended() -> int:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, encoding="utf-8", check=True)
    return int(ended.stdout)


def test_the_sweep_leaves_a_live_program_s_folder_whose_pid_it_cannot_see(tmp_path):
    # A program in another PID namespace: its folder is named with a pid that, here,
    # has ended; it lives, and holds the lock on its "alive" file.
    folder = tmp_path / f"procsync-run-{a_pid_that_has_ended()}-elsewhere"
    folder.mkdir()
    (folder / "lock-in-use.lock").touch()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_ALIVE, str(folder / tempfiles.ALIVE)],
        stdout=subprocess.PIPE, text=True, encoding="utf-8",
        env={**os.environ, "PYTHONPATH": helpers.ROOT},
    )
    try:
        assert holder.stdout.readline() == "holding\n"
        next_run = run_python("import procsync_teach; procsync_teach.Lock()", TMPDIR=str(tmp_path))
        assert next_run.returncode == 0, next_run.stderr
        assert sorted(os.listdir(folder)) == [tempfiles.ALIVE, "lock-in-use.lock"]
    finally:
        holder.kill()  # SIGKILL: the program ends without cleaning up
        holder.wait(WAIT)
        holder.stdout.close()
    next_run = run_python("import procsync_teach; procsync_teach.Lock()", TMPDIR=str(tmp_path))
    assert next_run.returncode == 0, next_run.stderr
    assert os.listdir(tmp_path) == []


VANISHED_FOLDER = """
import shutil
from procsync_teach import Lock, tempfiles
first = Lock()
shutil.rmtree(tempfiles.this_process_folder())
second = Lock()
with second:
    print("held", flush=True)
"""


def test_a_lock_made_after_its_process_folder_vanished_makes_a_new_one(tmp_path):
    result = run_python(VANISHED_FOLDER, TMPDIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "held\n"
    assert os.listdir(tmp_path) == []


def has_ended(pid: int) -> bool:
    """Wait until ``pid`` has ended (a zombie, whose files are closed, has); say if it did."""
    try:
        process = psutil.Process(pid)
        deadline = time.monotonic() + WAIT
        while process.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.02)
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


KILLED_AFTER_FORKING = """
import os, time
from procsync_teach import Lock
lock = Lock()
child = os.fork()
if child == 0:  # has a copy of the Lock, and outlives its parent
    time.sleep(60)
    os._exit(0)
print(lock._path, child, flush=True)
time.sleep(60)
"""


@needs_fork
def test_the_sweep_leaves_a_killed_program_s_folder_while_a_child_it_forked_runs(tmp_path):
    env = {**os.environ, "PYTHONPATH": helpers.ROOT, "TMPDIR": str(tmp_path)}
    killed = subprocess.Popen([sys.executable, "-c", KILLED_AFTER_FORKING],
                              stdout=subprocess.PIPE, text=True, encoding="utf-8", env=env)
    child = 0
    try:
        path, child = killed.stdout.readline().split()
        child = int(child)
        killed.kill()
        killed.wait(WAIT)
        next_run = run_python("import procsync_teach; procsync_teach.Lock()", TMPDIR=str(tmp_path))
        assert next_run.returncode == 0, next_run.stderr
        assert os.path.exists(path), "swept while a child with a copy of the Lock runs"
    finally:
        killed.kill()
        killed.wait(WAIT)
        killed.stdout.close()
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
    assert has_ended(child)
    next_run = run_python("import procsync_teach; procsync_teach.Lock()", TMPDIR=str(tmp_path))
    assert next_run.returncode == 0, next_run.stderr
    assert os.listdir(tmp_path) == []
