"""Checks and helpers for notebook 06, "Inside the library".

The checks:

* :func:`check_reading`: three questions answered by reading ``pool.py`` and ``worker.py``;
* :func:`check_lost_task_error`: the learner's experiment that kills the worker running a
  task and reports what ``get()`` raised.

And :func:`children_stderr`, which catches what child processes write to their standard
error during the notebook's experiments. Their task is
:func:`procsync_teach.course.sign_in.sign_in_and_sleep`.
"""

from __future__ import annotations

import inspect
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ...errors import WorkerDied
from ...pool import Pool, _Dispatcher
from ...results import AsyncResult
from ...tempfiles import O_BINARY
from ..child_output import NO_COLOURS, catch_lost_output, environment_for_children, read_output
from . import Verdict, correct, hint, method_name, not_answered

# -- helpers for the experiments --------------------------------------------------------


class StderrLines:
    """What child processes write to standard error inside a :func:`children_stderr` block."""

    def __init__(self, path: str, folder: str) -> None:
        self._path = path
        self._folder = folder  # where children that inherited no descriptors write
        self._kept: list[str] | None = None  # the lines, once the block has ended

    def __repr__(self) -> str:
        return f"<StderrLines: {len(self.lines)} lines>"

    @property
    def lines(self) -> list[str]:
        """Every line written so far (inside the block) or in all (after it)."""
        if self._kept is not None:
            return list(self._kept)
        return read_output(self._path, self._folder, "stderr").splitlines()

    def matching(self, start: str) -> list[str]:
        """The distinct lines that begin with ``start``, in the order first written."""
        return list(dict.fromkeys(line for line in self.lines if line.startswith(start)))

    def wait_for(self, start: str, timeout: float = 30.0) -> bool:
        """Wait until a line beginning with ``start`` is written; False if none in time."""
        deadline = time.monotonic() + timeout
        while not self.matching(start):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


@contextmanager
def children_stderr() -> Iterator[StderrLines]:
    """Catch what processes started inside the block write to standard error.

    A child process inherits its parent's file descriptor 2 (standard error). In Jupyter
    that descriptor leads to the server's log, or to whichever cell runs at the moment,
    so a child's error message lands somewhere unpredictable. Inside this block it leads
    to a temporary file instead, which ``.lines`` reads; and the children started in the
    block print no colour codes (see ``procsync_teach.course.child_output``).

    Children started with fork or spawn inherit it, except on Windows, where a spawned
    child inherits no descriptors: there the environment tells each Python child to write
    to the file itself (:func:`~procsync_teach.course.child_output.catch_lost_output`).
    forkserver's children inherit the fork server's descriptors and environment, not
    ours, so their messages are not caught.
    """
    fd, path = tempfile.mkstemp(prefix="procsync-stderr-", suffix=".txt")
    os.close(fd)
    startup = tempfile.TemporaryDirectory(prefix="procsync-startup-", ignore_cleanup_errors=True)
    caught = StderrLines(path, startup.name)
    # Appending: each child's write lands at the end, whoever wrote last.
    children_end = os.open(path, os.O_WRONLY | os.O_APPEND | O_BINARY)
    saved = os.dup(2)
    os.dup2(children_end, 2)
    try:
        with environment_for_children({**NO_COLOURS,
                                       **catch_lost_output(startup.name, stderr=path)}):
            yield caught
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(children_end)
        caught._kept = caught.lines
        startup.cleanup()
        try:
            os.remove(path)
        except OSError:  # Windows: a child still has it open
            pass


# -- exercise 1: reading the source ------------------------------------------------------


def check_reading(callback_thread: object, replies_for_map: object,
                  sentinel_watcher: object) -> Verdict:
    """Check three answers found by reading ``pool.py`` and ``worker.py``.

    Args:
        callback_thread: which thread runs the callback given to ``apply_async``:
            ``"caller"``, ``"dispatcher"`` or ``"callbacks"``.
        replies_for_map: how many replies the workers send back, in all, for a ``map``
            whose items were cut into 8 chunks.
        sentinel_watcher: the name of the pool's method that waits on the workers'
            sentinels and calls ``_replace`` when one fires, e.g. ``"_settle"``.
    """
    if Ellipsis in (callback_thread, replies_for_map, sentinel_watcher):
        return not_answered()
    thread = str(callback_thread).strip().lower()
    if "callback" not in thread:
        return hint(
            "question 1: in the path shown above the exercise, _settle does not call your "
            "callback: it puts the result on a queue, and the method after it takes it from "
            "there. Which thread runs that method? (Its loop is the thread's target.)"
        )
    if replies_for_map != 8:
        return hint(
            "question 2: a worker answers every job with exactly one reply (see run_worker), "
            "and map sends one job per chunk, whatever the number of items."
        )
    watcher = find_sentinel_watcher().__name__
    if method_name(sentinel_watcher) != watcher.lower():
        return hint(
            "question 3: find the method that builds `deaths = {worker.process.sentinel: ...}` "
            "and passes it to wait(); a method that handles a death is called by it."
        )
    return correct(
        "Callbacks run on the pool's callback thread, one at a time, so a slow one delays "
        "other callbacks but never the workers; "
        f"one job, one reply, so 8 chunks bring 8 replies; and {watcher} waits on the pipes, "
        "the sentinels and the wake-up pipe at once."
    )


# -- finding the code the exercise asks about -------------------------------------------
#
# The library's private methods may be renamed as it is improved. The exercise therefore
# finds them by what they do, not by name: the method that waits on the sentinels is the
# one whose source waits on ``deaths``; the path of a reply is found by following calls.

_CALL = re.compile(r"\.(_\w+)\(")  # "self._receive(", "job.result._settle_job("


def find_sentinel_watcher() -> Callable[..., object]:
    """The pool's method that waits on the workers' sentinels (and on their pipes)."""
    return _only_method(lambda source: "sentinel" in source and "wait(" in source)


def reply_path() -> list[Callable[..., object]]:
    """The methods a worker's reply passes through, in order: from the one that waits on
    the pipes, through the one that reads them, to the one that hands a result with a
    callback to the callback thread; then that thread's loop, to the one that calls your
    ``callback``."""
    to_reader = _calls_from(find_sentinel_watcher(), "read_messages(")
    to_handover = to_reader + _calls_from(to_reader[-1], "_callbacks.put(")[1:]
    callback_loop = _only_method(lambda source: "_callbacks.get(" in source)
    return to_handover + _calls_from(callback_loop, "_callback(")


def _only_method(says: Callable[[str], bool]) -> Callable[..., object]:
    """The one method of the pool's dispatcher whose source ``says`` what we look for."""
    (method,) = [function for function in _methods(_Dispatcher) if says(_source(function))]
    return method


def _calls_from(start: Callable[..., object], goal: str) -> list[Callable[..., object]]:
    """The shortest chain of calls from ``start`` to a method whose source says ``goal``."""
    known = {function.__name__: function for cls in (_Dispatcher, AsyncResult)
             for function in _methods(cls)}
    paths = [[start]]
    while paths:  # breadth first: the shortest chain
        path = paths.pop(0)
        if goal in _source(path[-1]):
            return path
        for name in dict.fromkeys(_CALL.findall(_source(path[-1]))):
            if name in known and known[name] not in path:
                paths.append([*path, known[name]])
    raise LookupError(f"no chain of calls from {start.__qualname__} to {goal!r}")


def _methods(cls: type) -> list[Callable[..., object]]:
    return [value for value in vars(cls).values() if inspect.isfunction(value)]


def _source(function: Callable[..., object]) -> str:
    return inspect.getsource(function)


# -- exercise 2: lose a task on purpose ----------------------------------------------------

#: Seconds a learner's experiment may take before the check gives up on it.
EXPERIMENT_TIMEOUT = 20.0


def check_lost_task_error(lost_task_error: Callable[[Pool], object]) -> Verdict:
    """Run ``lost_task_error(pool)`` on a fresh pool of 2 workers and check its answer.

    The learner's function should submit a task, kill the worker running it, and return
    the *type* of the exception ``get()`` raised. The check also makes sure a worker did
    die while running a task, and that the pool still answers afterwards.
    """
    if lost_task_error is Ellipsis or not callable(lost_task_error):
        return not_answered()
    with Pool(2) as pool:
        outcome: dict[str, object] = {}

        def experiment() -> None:
            try:
                outcome["value"] = lost_task_error(pool)
            except BaseException as error:  # reported to the learner below
                outcome["error"] = error

        thread = threading.Thread(target=experiment, daemon=True)
        thread.start()
        thread.join(EXPERIMENT_TIMEOUT)
        if thread.is_alive():
            return hint(
                f"your function did not return within {EXPERIMENT_TIMEOUT:.0f} s. Give get() a "
                "timeout, and kill the worker that runs the task (signed_in gives its pid)."
            )
        if "error" in outcome:
            error = outcome["error"]
            if isinstance(error, WorkerDied):
                return hint("get() raised it, as it should: catch it and return its type, "
                            "type(error).")
            return hint(f"your function raised {error!r}; catch what get() raises and return "
                        "its type.")
        answer = outcome.get("value")
        if answer is None or answer is Ellipsis:
            return not_answered()
        died = [record for record in pool.records() if record.outcome == "worker died"]
        if isinstance(answer, BaseException):
            return hint(f"you returned the exception itself, {answer!r}; return its type: "
                        "type(error).")
        if not died:
            return hint(
                "no worker died while running a task. Wait until the task has signed in, "
                "then kill the process with the pid it reported: psutil.Process(pid).kill()."
            )
        if not isinstance(answer, type) or not issubclass(answer, BaseException):
            return hint(f"you returned {answer!r}; return the type of the exception get() "
                        "raised: type(error).")
        if not issubclass(answer, WorkerDied):
            return hint(
                f"get() raised {answer.__name__}. Did you give the worker time to die? Use a "
                "timeout of a few seconds, and kill the pid the task signed in with."
            )
        if sorted(pool.map(abs, [-2, -1, 0])) != [0, 1, 2]:  # pragma: no cover - a pool bug
            return hint("the pool did not answer after the death; tell the course's authors.")
    return correct(
        "get() raised WorkerDied as soon as the worker was gone, the pool started a new "
        "worker in its slot, and it kept serving."
    )
