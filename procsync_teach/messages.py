"""The messages a pool and its workers exchange, and how they are turned into bytes.

Only two kinds of message cross the pipe between the pool and a worker:

* a :class:`Job`, from the pool to an idle worker: "call this function on these
  arguments"; an empty message (``b""``) instead means "stop";
* a :class:`Reply`, from the worker back: ``(ok, value)`` plus when the work started
  and finished, where ``value`` is the list of results, or the error if ``ok`` is False;
  or, once, :class:`InitializerFailed`, if the worker could not even get ready.

Messages are pickled with **cloudpickle**. The standard ``pickle`` sends a function by
*name* ("the function ``square`` in module ``__main__``"), and a worker started with
spawn or forkserver has no ``__main__.square`` if ``square`` was defined in a notebook
cell: the task fails or, in ``multiprocessing.Pool``, hangs. cloudpickle sends such
functions (and lambdas) by *value*, their code included; functions that live in an
importable module still go by name, as cheaply as with ``pickle``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import cloudpickle

dumps = cloudpickle.dumps
loads = cloudpickle.loads

#: The message that tells a worker to finish.
STOP = b""


class Job(NamedTuple):
    """One unit of work for a worker: a function and what to call it on.

    ``apply`` sends a job with one call; ``map`` splits its items into chunks and
    sends a job per chunk, so that one message carries many calls. ``kind`` says how
    to make the calls from ``arguments``:

    * ``"apply"``: ``arguments`` is one tuple; the job makes ``function(*arguments, **keywords)``;
    * ``"map"``: a list of items; ``[function(item) for item in arguments]``;
    * ``"starmap"``: a list of tuples; ``[function(*item) for item in arguments]``.
    """

    job_id: int  # e.g. 17, unique within its pool
    function: bytes  # the pickled function, pickled once however many chunks share it
    kind: str  # "apply", "map" or "starmap"
    arguments: Any  # e.g. (10,) for apply; [0, 1, 2] for a map chunk
    keywords: dict[str, Any]  # apply's kwds; {} otherwise


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
