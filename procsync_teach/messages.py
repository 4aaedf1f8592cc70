"""The messages a pool and its workers exchange, and how they are turned into bytes.

Only two kinds of message cross the pipe between the pool and a worker:

* from the pool to a worker, a list of :class:`Job` records: "call this function on
  these arguments", and maybe the jobs lined up behind it; an empty message (``b""``)
  instead means "stop";
* from a worker back, one :class:`Reply` per job: ``(ok, value)`` plus when the work
  started and finished, where ``value`` is the list of results, or the error if ``ok``
  is False; before them, once, :data:`READY` (``b""``), or :class:`InitializerFailed` if
  the worker could not even get ready.

Everything is pickled by :func:`dumps`, which picks between two picklers. The standard
``pickle`` is written in C and is fast, but it sends a function or a class by *name*
("the function ``square`` in module ``__main__``"), and a worker started with spawn or
forkserver has no ``__main__.square`` if ``square`` was defined in a notebook cell: the
task fails or, in ``multiprocessing.Pool``, hangs. **cloudpickle** sends such functions
(and lambdas) by *value*, their code included, but it is written in Python and costs
several microseconds more per message, which a map of thousands of tiny tasks feels.
So :func:`dumps` tries ``pickle`` first, and turns to cloudpickle only when ``pickle``
fails or names something in ``__main__``. If cloudpickle fails too (the function uses a
thread lock, a queue, an open file: things no pickler can copy), the thing goes by name
after all, as ``multiprocessing`` sends it: a worker started by fork finds it in the
``__main__`` it inherited; one started by spawn or forkserver says clearly why it cannot.

Functions from ``__main__`` share one namespace in a worker, as they do in the standard
library: the worker's own ``__main__`` module (under fork, a copy of the parent's taken
when the worker started; under spawn and forkserver, the main script file's top level
run again, or next to nothing for a notebook). A function sent by value is rebuilt
there, and the globals it uses (with those used by the ``__main__`` functions among
them, in turn) are merged into that namespace when it arrives, by this rule:

* a variable the worker already has keeps the worker's value: what an initializer or an
  earlier task stored with ``global`` stays, as in ``multiprocessing``; and a variable
  changed in the notebook after a worker got it keeps its old value in that worker, as
  ``multiprocessing``'s workers keep the globals they started with (pass a value that
  changes as an argument);
* a function or class defined in ``__main__`` replaces the worker's older one: a function
  redefined in a notebook cell is used in its new version;
* a name that the worker's start-up put in its ``__main__`` (``main`` under forkserver,
  ``spawn_main`` under spawn) is not the program's: the program's value replaces it.

So ``def init(x): global SHARED; SHARED = x`` as the pool's ``initializer`` and
``def task(i): return SHARED + i`` work together, whichever the start method, and
whether ``task`` was defined before the pool started or after.

A pool pickles each function once, not at every call (:class:`FunctionPickles`), and
sends it to a worker once. The worker merges its globals once; a large global costs
once per worker, not once per task. It then keeps a plain function, as
``multiprocessing``'s worker keeps the function it looks up by name, but unpickles a bound
method, a callable object or a closure afresh for every job, as ``multiprocessing``
pickles it with every task: nothing a job does to it (the list it pops from, its
attributes) carries over to the next job. For that, the function travels twice, with its
globals and without them (see :func:`dumps_function`).

On the pipe, a job or a reply travels as a plain tuple: ``pickle`` writes a tuple of
numbers, strings and bytes in well under a microsecond, a named class several times slower.
"""

from __future__ import annotations

import io
import pickle
import sys
import types
import weakref
from collections.abc import Callable
from multiprocessing import parent_process
from typing import Any, NamedTuple

import cloudpickle

# An internal of cloudpickle's, like the reducer _MainPickler extends: pyproject.toml
# allows only the major version they were written for.
from cloudpickle.cloudpickle import _function_setstate

loads = pickle.loads

#: The message that tells a worker to finish.
STOP = b""

#: A worker's first message: its initializer has run, and it now reads its pipe.
READY = b""


def dumps(thing: Any) -> bytes:
    """Pickle ``thing`` so that any worker can unpickle it, whatever its start method.

    Raises whatever cloudpickle raises for a thing that cannot be pickled at all
    (a lambda that uses a thread lock, ...).
    """
    return _pickle(thing).data


def dumps_function(function: Callable[..., Any]) -> bytes:
    """Pickle a job's function, in the two parts :func:`unpack_function` expects."""
    return _pickle_function(function)[0]


def unpack_function(message: bytes) -> bytes:
    """Merge the globals that came with a function into this process's ``__main__``
    (by the rule above) and return the function's own bytes, for ``loads`` per job."""
    with_globals, function = loads(message)
    if with_globals:
        loads(with_globals)  # unpickling it merges its globals: see _set_state
    return function


class FunctionPickles:
    """A pool's pickled functions: calling ``apply_async(f, ...)`` a thousand times
    pickles ``f`` once, not a thousand times (with a large global, that is most of the
    cost).

    A function is pickled again when it, or a global it uses, has been defined anew
    since: a function redefined in a notebook cell is a new object, and its new version
    is sent. A bound method or a callable object is pickled at every call: its state may
    have changed in between.
    """

    def __init__(self) -> None:
        # Weak keys: a function the notebook dropped does not stay alive here.
        self._pickled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self, function: Callable[..., Any]) -> bytes:
        """``dumps_function(function)``, from the cache while it is still right."""
        if not isinstance(function, types.FunctionType):
            return dumps_function(function)
        cached = self._pickled.get(function)
        if cached is None or not _still_bound(cached[1]):
            cached = self._pickled[function] = _pickle_function(function)
        return cached[0]


_PROTOCOL = pickle.HIGHEST_PROTOCOL
_MISSING = object()  # the value of a global that does not exist (yet)

#: A global a pickled function looked up: (the globals it was in, its name, its value).
_LookedUp = tuple[dict[str, Any], str, Any]


class _Pickled(NamedTuple):
    data: bytes
    looked_up: list[_LookedUp]  # by the functions pickled by value
    main_globals: bool  # True if functions of __main__ in it carry globals


def _main_namespace() -> dict[str, Any]:
    """This process's ``__main__`` module's globals: a notebook's, a script's."""
    return vars(sys.modules["__main__"])


def _still_bound(looked_up: list[_LookedUp]) -> bool:
    """Does each of these globals still hold the same object (or still not exist)?"""
    return all(namespace.get(name, _MISSING) is value for namespace, name, value in looked_up)


def _pickle_function(function: Callable[..., Any]) -> tuple[bytes, list[_LookedUp]]:
    """The message of :func:`dumps_function`, and the globals the function looked up.

    A function of ``__main__`` that uses globals is pickled twice: with its globals, to be
    unpickled once by each worker it reaches (that merges them), and without, to be
    unpickled for every job (cheap, whatever the size of its globals).
    """
    pickled = _pickle(function)
    if pickled.main_globals:
        without_globals = _pickle_by_value(function, with_globals=False).data
        return pickle.dumps((pickled.data, without_globals), _PROTOCOL), pickled.looked_up
    return pickle.dumps((b"", pickled.data), _PROTOCOL), pickled.looked_up


def _pickle(thing: Any) -> _Pickled:
    """Pickle ``thing`` by name if a worker can find it so, else by value, else by name
    after all."""
    try:
        by_name = pickle.dumps(thing, _PROTOCOL)
    except Exception:  # a lambda, a function defined inside a function, ...
        by_name = None
    if by_name is not None and b"__main__" not in by_name:
        return _Pickled(by_name, [], False)
    try:
        return _pickle_by_value(thing, with_globals=True)
    except Exception as error:  # it uses a lock, a queue, an open file...
        if by_name is None:
            raise
        reason = f"{type(error).__name__}: {error}"
        return _Pickled(pickle.dumps(_Call(_load_by_name, by_name, reason), _PROTOCOL), [], False)


def _pickle_by_value(thing: Any, with_globals: bool) -> _Pickled:
    file = io.BytesIO()
    pickler = _MainPickler(file, with_globals)
    pickler.dump(thing)
    return _Pickled(file.getvalue(), pickler.looked_up, pickler.main_globals)


class _MainPickler(cloudpickle.Pickler):
    """cloudpickle, except that a function of ``__main__`` is rebuilt in the unpickling
    process's ``__main__``, into which its globals are merged (see :func:`_set_state`),
    or, ``with_globals=False``, left out.

    It also notes each global that the functions it pickles by value look up.
    """

    def __init__(self, file: io.BytesIO, with_globals: bool) -> None:
        super().__init__(file, _PROTOCOL)
        self.with_globals = with_globals
        self.looked_up: list[_LookedUp] = []
        self.main_globals = False

    def _dynamic_function_reduce(self, func: types.FunctionType) -> tuple:
        # cloudpickle calls this for every function it sends by value.
        reduced = super()._dynamic_function_reduce(func)
        namespace = func.__globals__
        self.looked_up.extend((namespace, name, namespace.get(name, _MISSING))
                              for name in _global_names(func.__code__))
        if namespace is not _main_namespace():
            return reduced
        _, (code, _, _, _, closure), (attributes, slots), *_ = reduced
        self.main_globals = self.main_globals or bool(slots["__globals__"])
        if not self.with_globals:
            slots["__globals__"] = {}
        return _function_in_main, (code, closure), (attributes, slots), None, None, _set_state


def _global_names(code: types.CodeType) -> set[str]:
    """The names a code object (or one nested in it) may look up among the globals:
    ``co_names`` also holds attribute names, which only makes the set larger."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return names


def _function_in_main(code: types.CodeType, closure: tuple | None) -> types.FunctionType:
    """A function of ``__main__`` arriving: its globals are this process's ``__main__``."""
    return types.FunctionType(code, _main_namespace(), None, None, closure)


def _set_state(function: types.FunctionType, state: tuple) -> None:
    """Give an arriving function of ``__main__`` its name, defaults and closure, and merge
    the globals that came with it into ``__main__``: a variable already there keeps its
    value; in a worker, a function or class defined in ``__main__`` replaces the one
    there. (The main process, where they all came from, keeps its own: a function that a
    task returns only adds the globals the notebook lacks.)"""
    attributes, slots = state
    namespace = function.__globals__
    in_worker = parent_process() is not None
    for name, value in slots["__globals__"].items():
        if (name not in namespace or _put_there_at_start_up(namespace[name])
                or (in_worker and _defined_in_main(name, value))):
            namespace[name] = value
    builtins = namespace.get("__builtins__", _MISSING)
    # cloudpickle's own setter, given no globals; it also puts its builtins in __main__.
    _function_setstate(function, (attributes, {**slots, "__globals__": {}}))
    if builtins is not _MISSING:
        namespace["__builtins__"] = builtins


def _put_there_at_start_up(value: Any) -> bool:
    """Is ``value`` a name that starting this process put in its ``__main__``, not your
    program? A worker started by spawn or forkserver without a main script file to import
    (from a notebook, say) keeps as ``__main__`` the one-line program that started it:
    ``from multiprocessing.spawn import spawn_main; spawn_main(...)``, or the fork
    server's ``from multiprocessing.forkserver import main; main(...)``. A notebook's
    ``main`` or ``spawn_main`` must not lose to those."""
    return (isinstance(value, types.FunctionType)
            and value.__module__ in ("multiprocessing.spawn", "multiprocessing.forkserver"))


def _defined_in_main(name: str, value: Any) -> bool:
    """Is ``value`` what ``def name`` or ``class name`` made in ``__main__``?"""
    return (isinstance(value, (types.FunctionType, type)) and value.__name__ == name
            and value.__module__ == "__main__")


def _load_by_name(pickled: bytes, reason: str) -> Any:
    """Unpickle what could go only by name; if this process cannot find it, say why."""
    try:
        return loads(pickled)
    except AttributeError as error:
        raise AttributeError(
            f"{error}: it could not be sent by value ({reason}), so it was sent by name, "
            "as multiprocessing sends it, and this worker's __main__ has no such name: under "
            "spawn and forkserver a worker's __main__ holds only what the main script file "
            "defines at its top level (nothing of a notebook's). Create what cannot be "
            "pickled (a lock, a queue, a file) inside the function, or pass it as an "
            "argument (a procsync_teach.Lock can be), or use the fork start method."
        ) from None


class _Call:
    """Pickles as the call ``function(*args)``: unpickling makes that call."""

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        self.function, self.args = function, args

    def __reduce__(self) -> tuple:
        return self.function, self.args


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
    function: bytes | None  # made by dumps_function; None: the same as this worker's last job
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
