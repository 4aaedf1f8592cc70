"""The messages a pool and its workers exchange, and how they are turned into bytes.

Only two kinds of message cross the pipe between the pool and a worker:

* from the pool to a worker, a list of :class:`Job` records: "call this function on
  these arguments", and maybe the jobs lined up behind it; an empty message (``b""``)
  instead means "stop";
* from a worker back, one :class:`Reply` per job: ``(ok, value)`` plus when the work
  started and finished, where ``value`` is the list of results, or the error if ``ok``
  is False; before them, once, :data:`READY` (``b""``), or :class:`InitializerFailed` if
  the worker could not even get ready.

A job's function and arguments are pickled in the caller by the pool's
:class:`~procsync_teach.pickling.FunctionPickles`, which sends what your main program
defines by reference where the worker has it and by value where it cannot (the rule is
in :mod:`procsync_teach.pickling`'s header). Everything else is pickled by
:func:`dumps`: the standard ``pickle``, written in C and fast, or cloudpickle for what
``pickle`` cannot send (a lambda a task returns, say).

On the pipe, a job or a reply travels as a plain tuple: ``pickle`` writes a tuple of
numbers, strings and bytes in well under a microsecond, a named class several times slower.
"""

from __future__ import annotations

import pickle
from typing import Any, NamedTuple

import cloudpickle

loads = pickle.loads

#: The message that tells a worker to finish.
STOP = b""

#: A worker's first message: its initializer has run, and it now reads its pipe.
READY = b""


def dumps(thing: Any) -> bytes:
    """Pickle ``thing`` with ``pickle``, or cloudpickle if ``pickle`` cannot.

    Raises whatever cloudpickle raises for a thing that cannot be pickled at all
    (a lambda that uses a thread lock, ...).
    """
    try:
        return pickle.dumps(thing, pickle.HIGHEST_PROTOCOL)
    except Exception:  # a lambda, a function defined inside a function, ...
        return cloudpickle.dumps(thing, pickle.HIGHEST_PROTOCOL)


class Job(NamedTuple):
    """One unit of work for a worker: a function and what to call it on.

    ``apply`` sends a job with one call; ``map`` splits its items into chunks and
    sends a job per chunk, so that one message carries many calls. ``kind`` says how
    to make the calls from the unpickled ``arguments``:

    * ``"apply"``: ``(args, kwds)``; the job makes ``function(*args, **kwds)``;
    * ``"map"``: a list of items; ``[function(item) for item in items]``;
    * ``"starmap"``: a list of tuples; ``[function(*item) for item in items]``.
    """

    job_id: int  # e.g. 17, unique within its pool
    function: bytes | None  # made by FunctionPickles; None: the same as this worker's last job
    kind: str  # "apply", "map" or "starmap"
    arguments: bytes  # pickled by the caller, e.g. ((10,), {}) for apply; [0, 1, 2] for map


class Reply(NamedTuple):
    """A worker's answer to a job: ``(ok, value)`` and when the work ran.

    ``value`` is the list of results, one per call (a list of one for ``apply``), or,
    when ``ok`` is False, a pair
    ``(exception, traceback_text)``. Times are on the shared clock (:mod:`.clock`).
    """

    ok: bool
    value: Any
    started: float
    finished: float


class InitializerFailed(NamedTuple):
    """A worker's last words when the pool's ``initializer`` raised: it runs no job."""

    error: BaseException
    traceback_text: str


def pack_jobs(jobs: list[Job]) -> bytes:
    """The message that sends ``jobs`` to a worker, to be run in that order."""
    return pickle.dumps([tuple(job) for job in jobs], pickle.HIGHEST_PROTOCOL)


def unpack_jobs(message: bytes) -> list[Job]:
    """The jobs in a message made by :func:`pack_jobs`."""
    return [Job(*fields) for fields in loads(message)]


def pack_reply(reply: Reply) -> bytes:
    """The message that answers one job. Raises if the value cannot be pickled."""
    return dumps(tuple(reply))


def unpack_reply(message: bytes) -> Reply | InitializerFailed:
    """What a worker sent: a :class:`Reply` or, once, :class:`InitializerFailed`."""
    unpacked = loads(message)
    return unpacked if isinstance(unpacked, InitializerFailed) else Reply(*unpacked)
