"""Tasks for tests/test_pool_robust.py: the ones that misbehave on purpose.

Like ``tests/helpers.py``, this module is importable so that workers started by spawn or
forkserver find its functions and exception classes by name.
"""

from __future__ import annotations

import copyreg
import os
import signal
import threading
import time
from pathlib import Path

from procsync_teach.course.sign_in import sign_in_and_sleep


def quick_unless_marked(job):
    """``job`` is ``(directory, item, marked)``: return ``item`` at once, unless it is the
    marked one, which signs in to ``directory`` with its pid and sleeps for a minute."""
    directory, item, marked = job
    if item == marked:
        sign_in_and_sleep(directory, 60)
    return item


class NeedsTwoArguments(Exception):
    """The classic exception that pickles but cannot be unpickled.

    Pickling keeps ``self.args``, here one item; unpickling calls ``cls(*args)``, and
    ``__init__`` wants two.
    """

    def __init__(self, what, why):
        super().__init__(f"{what}: {why}")


def raise_unloadable_error():
    # Once distributed is imported, tblib's reducer (registered for every exception class
    # then known) rebuilds an exception without calling __init__: pickle it the plain way.
    copyreg.dispatch_table.pop(NeedsTwoArguments, None)
    raise NeedsTwoArguments("the spool", "is empty")


class HoldsALock(Exception):
    """An exception that cannot be pickled at all: one of its args is a thread lock."""


def raise_unsendable_error():
    raise HoldsALock("guarded by", threading.Lock())


def raise_base_exception(name):
    """Raise SystemExit or KeyboardInterrupt: not an Exception, and meant to stop a process."""
    raise {"SystemExit": SystemExit(3), "KeyboardInterrupt": KeyboardInterrupt()}[name]


def fail_to_initialize():
    """An initializer that fails, as one that cannot reach its database would."""
    raise ConnectionError("no database at db.invalid")


def use_lock(lock):
    """Take and release a Lock that came as an ordinary argument."""
    with lock:
        return os.getpid()


def sleep_unless_first(directory, seconds):
    """An initializer: the first worker to run it returns at once; any other sleeps.

    Which one is first is settled by creating a file that may exist only once.
    """
    try:
        os.close(os.open(Path(directory, "first"), os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        time.sleep(seconds)


def fail_at_once_or_finish_slowly(job):
    """``job`` is ``(directory, item)``: item 0 raises at once; the others sleep a little,
    then leave a file named after the item, to show they finished."""
    directory, item = job
    if item == 0:
        raise ValueError("item 0 fails at once")
    time.sleep(0.3)
    Path(directory, str(item)).touch()
    return item


def fork_a_child_that_exits(code):
    """Fork; the child ends with ``sys.exit(code)``; return its pid and its exit code."""
    import sys

    child = os.fork()
    if child == 0:
        sys.exit(code)
    _, status = os.waitpid(child, 0)
    return child, os.waitstatus_to_exitcode(status)


def mark_and_sleep(directory, name, seconds):
    """Leave a file called ``name`` in ``directory`` (this task has started), then sleep."""
    Path(directory, str(name)).touch()
    time.sleep(seconds)
    return name


def kill_own_process():
    """Die by SIGKILL: a task that kills whichever worker runs it."""
    os.kill(os.getpid(), signal.SIGKILL)
