"""Not on the reading path: how a pool sends your functions to its workers.

**The rule, in two sentences.** A function, class or Enum of your main program goes *by
reference*, exactly as ``multiprocessing`` sends it, whenever the worker already has
that very object: the top-level definitions of a script (a worker started by spawn or
forkserver imports the script again), and under fork whatever existed when the pool
started and has not been rebound since. Anything else (a notebook cell's function under
spawn or forkserver, what you defined or rebound after the pool started, a lambda, a
closure, a decorated helper) goes *by value*, and reads your program's globals as they
were when you made the call, except the names that the worker itself assigned (an
initializer's ``global conn; conn = connect()``), which win.

Why both. By reference, a worker uses its own copy of your program: a class stays the
class (``isinstance``, Enum members as dict keys), a large global is shared
copy-on-write under fork, and nothing is pickled but a name. But a worker started by
spawn or forkserver has no notebook, and a forked worker has only what existed when it
was forked: there **cloudpickle** sends the function's code and the globals it reads.

How by value stays consistent and cheap:

* Each pool has a :class:`FunctionPickles`. It decides, for each function or class of
  ``__main__``, whether the workers can resolve it by name: under fork it compares the
  globals the function reads with a snapshot of ``__main__`` taken when the pool
  started; under spawn and forkserver it reads which names the main script file defines
  at its top level, once (a notebook has no file: nothing). It pickles each function
  once per version: again only when the function, a global it reads, a closure cell or a
  default has been rebound since.
* By value, each global that is data (not a function, class or module) is pickled on
  its own, once per pool and version, and travels with a version number; a worker
  unpickles each version once and keeps it. So a large global costs one unpickling per
  worker, not one per task or per chunk, even in a function passed as an argument.
* On arrival, a function sent by value is rebuilt in the worker's ``__main__`` (on a Dask
  cluster, in a namespace of its own pool: programs sharing a cluster never see each
  other's globals), and the globals it reads are set there to the values that came with
  it, a name your program deleted is deleted there, and a name that the worker itself
  assigned (it differs from what the worker started with and from what arrived) is left
  alone. Every task of one call therefore sees the values of the moment of the call.
* A name once sent by value with a value the workers did not start with is never again
  trusted by reference in that pool: a function that reads it goes by value too.

Where neither way can work (a notebook function under spawn that uses a thread lock,
which no pickler can copy), the call raises ``pickle.PicklingError`` at once, saying
why each way failed and what to do.
"""

from __future__ import annotations

import ast
import builtins
import collections
import functools
import io
import itertools
import pickle
import sys
import threading
import types
import weakref
from collections.abc import Callable
from multiprocessing import parent_process
from pathlib import Path
from typing import Any

import cloudpickle

# Internals of cloudpickle's, like the reducer _Pickler extends: pyproject.toml allows
# only the major version they were written for.
from cloudpickle.cloudpickle import _extract_code_globals, _function_setstate

_PROTOCOL = pickle.HIGHEST_PROTOCOL
_MISSING = object()  # the value of a global that does not exist


def _main() -> types.ModuleType:
    return sys.modules["__main__"]


class FunctionPickles:
    """A pool's pickler: what goes by reference and what by value, and each function
    pickled once per version (see the module's header).

    Args:
        start_method: the pool's (``"fork"``, ``"spawn"``, ``"forkserver"``), or None
            for workers that share nothing with this program (a Dask cluster's).
        namespace: where functions sent by value live on a worker: None for the worker's
            ``__main__``, or a name of this pool's own (for a cluster shared by programs).
    """

    def __init__(self, start_method: str | None, namespace: str | None = None) -> None:
        self.start_method = start_method
        self.namespace = namespace
        # Under fork: __main__ as the workers got it (strong references: an object must
        # not be freed and its address reused by another, which would look unchanged).
        self._started = dict(vars(_main())) if start_method == "fork" else {}
        self._in_script, self._script_names = _script_definitions(_main()) if (
            start_method in ("spawn", "forkserver")) else ({}, frozenset())
        self._diverged: set[str] = set()  # names sent by value with a value workers lacked
        self._versions: dict[str, tuple[Any, int, bytes]] = {}  # name: (value, version, pickle)
        self._version_numbers = itertools.count(1)
        self._in_progress: set[str] = set()  # globals being pickled (they may refer back)
        self._pickled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.RLock()  # caller and feeder threads pickle at once

    def function(self, function: Callable[..., Any]) -> bytes:
        """Pickle a job's function, from the cache while it is still right.

        A bound method or a callable object is pickled at every call: its state may have
        changed in between. Mistakes surface here, in the caller's thread.

        Raises:
            TypeError: ``function`` is not callable.
        """
        if not callable(function):
            raise TypeError(f"{function!r} is not callable: pass the function itself, not its "
                            "result")
        if not isinstance(function, types.FunctionType):
            return self.dumps(function)
        with self._lock:
            cached = self._pickled.get(function)
            if cached is None or not self._still_right(cached[1], cached[2]):
                pickler = self._dump(function)
                cached = self._pickled[function] = (
                    pickler.data, pickler.looked_up, len(self._diverged))
            return cached[0]

    def dumps(self, thing: Any) -> bytes:
        """Pickle ``thing`` (a job's arguments, the initializer) for this pool's workers.

        Raises:
            pickle.PicklingError: something of ``__main__`` can go neither by reference
                nor by value; or whatever pickling raised for anything else.
        """
        try:
            by_name = pickle.dumps(thing, _PROTOCOL)
            if b"__main__" not in by_name:
                return by_name
        except Exception:  # a lambda, a function defined inside a function, ...
            pass
        with self._lock:
            return self._dump(thing).data

    def _dump(self, thing: Any) -> _Pickler:
        pickler = _Pickler(self, top=thing)
        try:
            pickler.dump(thing)
        except _CannotSend:
            raise
        except Exception as error:
            if not pickler.by_value:  # nothing of __main__'s: cloudpickle's own error
                raise
            first = pickler.by_value[0]
            raise _CannotSend(_cannot_send(first, self.why_not_by_reference(first),
                                           error)) from error
        return pickler

    def _still_right(self, looked_up: list[tuple[Any, ...]], diverged: int) -> bool:
        """Does every global, cell and default the pickle depended on still hold the same
        object, and has no name been sent by value since?"""
        return diverged == len(self._diverged) and all(
            _current(place, key) is value for place, key, value in looked_up)

    # -- by reference? ----------------------------------------------------------------

    def why_not_by_reference(self, thing: Any) -> str:
        """Why a worker cannot resolve ``thing`` (of ``__main__``) by name; "" if it can."""
        name = getattr(thing, "__qualname__", "")
        if self.start_method is None:
            return "the workers of a cluster do not run your main program"
        if "<" in name or _resolve(name) is not thing:
            return f"__main__.{name} is not this object (a lambda, a closure, a copy)"
        top = name.partition(".")[0]
        read = {top, *_names_read(thing)}
        if self.start_method == "fork":
            changed = sorted(n for n in read if n in self._diverged or self._started.get(
                n, _MISSING) is not vars(_main()).get(n, _MISSING))
            if changed:
                return ("a worker started by fork has your program as it was when the pool "
                        f"started, and since then {', '.join(changed)} was defined, rebound "
                        "or deleted")
            return ""
        code = _code(_resolve(top))
        if top not in self._in_script or (code and code.co_firstlineno != self._in_script[top]):
            script = getattr(_main(), "__file__", None)
            if script is None:
                return (f"a worker started by {self.start_method} imports your main script "
                        "again, and a notebook (or python -c) has no file to import")
            return (f"a worker started by {self.start_method} imports {Path(script).name} "
                    f"again, where {top} is not defined once at the top level")
        main = vars(_main())
        unlike = sorted(n for n in read if n in self._diverged  # (top's line is checked)
                        or (n != top and n in main and n not in self._script_names))
        if unlike:
            return (f"{', '.join(unlike)} in the workers' copy of {top}'s module is not "
                    "yours (set under the __main__ guard, or sent by value before)")
        return ""

    def by_reference(self, thing: Any, looked_up: list[tuple[Any, ...]]) -> bool:
        """Can the workers resolve ``thing`` by name? Notes what the answer rests on."""
        main = vars(_main())
        for name in {getattr(thing, "__qualname__", "").partition(".")[0], *_names_read(thing)}:
            looked_up.append((main, name, main.get(name, _MISSING)))
        return not self.why_not_by_reference(thing)

    # -- versioned globals ----------------------------------------------------------------

    def version(self, name: str, value: Any) -> tuple[int, bytes]:
        """The version number and the pickle of a global's value, made once per value."""
        known = self._versions.get(name)
        if known is None or known[0] is not value:
            self._in_progress.add(name)
            try:
                data = self._dump(value).data
            finally:
                self._in_progress.discard(name)
            known = self._versions[name] = (value, next(self._version_numbers), data)
        return known[1], known[2]

    def note_sent(self, name: str, value: Any) -> None:
        """``value`` goes to the workers as the global ``name``: from now on, if the
        workers did not start with it, ``name`` is not trusted by reference."""
        if self._started.get(name, _MISSING) is value:
            return
        if _is_definition(value) and not self.why_not_by_reference(value):
            return  # the workers resolve it by name to this very object
        self._diverged.add(name)


class _CannotSend(pickle.PicklingError):
    """Something of ``__main__`` can go neither by reference nor by value."""


class _Pickler(cloudpickle.Pickler):
    """cloudpickle, except for what comes from ``__main__``: by reference where the pool's
    workers can resolve it, else by value with versioned globals (see the header)."""

    def __init__(self, pickles: FunctionPickles, top: Any) -> None:
        self.file = io.BytesIO()
        super().__init__(self.file, _PROTOCOL)
        self.pickles = pickles
        self.top = top
        self.looked_up: list[tuple[Any, ...]] = []  # (globals/cell/function, key, value)
        self.by_value: list[Any] = []  # what of __main__ goes by value, in order

    @property
    def data(self) -> bytes:
        return self.file.getvalue()

    def reducer_override(self, obj: Any) -> Any:
        if not _is_definition(obj) or obj.__module__ != "__main__":
            return super().reducer_override(obj)
        if self.pickles.by_reference(obj, self.looked_up):
            return NotImplemented  # pickle's own: by name
        self.by_value.append(obj)
        return self._by_value(obj)

    def _by_value(self, obj: Any) -> Any:
        if isinstance(obj, functools._lru_cache_wrapper):
            parameters = obj.cache_parameters()
            return _cached, (obj.__wrapped__, parameters["maxsize"], parameters["typed"])
        if (isinstance(obj, types.FunctionType) and not isinstance(self.top, types.FunctionType)
                and obj.__globals__ is vars(_main())):
            # A function inside the arguments: its pickle, made once per version.
            return pickle.loads, (self.pickles.function(obj),)
        return super().reducer_override(obj)

    def _dynamic_function_reduce(self, func: types.FunctionType) -> tuple:
        # cloudpickle calls this for every function it sends by value.
        self.looked_up.extend((func, slot, getattr(func, slot))
                              for slot in ("__code__", "__defaults__", "__kwdefaults__"))
        self.looked_up.extend((cell, "cell_contents", _current(cell, "cell_contents"))
                              for cell in func.__closure__ or ())
        reduced = super()._dynamic_function_reduce(func)
        namespace = func.__globals__
        self.looked_up.extend((namespace, name, namespace.get(name, _MISSING))
                              for name in _extract_code_globals(func.__code__))
        if namespace is not vars(_main()):
            return reduced
        _, (code, _, _, _, closure), (attributes, slots), *_ = reduced
        sent = {name: self._global(name, value) for name, value in slots["__globals__"].items()}
        return (_function_in, (self.pickles.namespace, code, closure),
                (attributes, {**slots, "__globals__": {}}, self.pickles.namespace, sent),
                None, None, _set_state)

    def _global(self, name: str, value: Any) -> Any:
        """A global a function sent by value reads: functions, classes and modules inline
        (they are small, and may refer to each other), data as a version."""
        self.pickles.note_sent(name, value)
        if (_is_definition(value) or isinstance(value, types.ModuleType)
                or name in self.pickles._in_progress):
            return value
        number, data = self.pickles.version(name, value)
        return _Call(_arrived_global, self.pickles.namespace, name, number, data)


def _cannot_send(thing: Any, why_not_by_reference: str, error: Exception) -> str:
    name = getattr(thing, "__qualname__", repr(thing))
    return (
        f"cannot send {name} to the pool's workers. By reference: {why_not_by_reference}. "
        f"By value: {type(error).__name__}: {error} (cloudpickle copies what the function "
        "uses, and no pickler can copy a thread lock, a queue or an open file). Fix: create "
        "that object inside the function, or pass it as an argument (a procsync_teach.Lock "
        "can be); or define the function at the top level of a script file, or start the "
        "pool with fork after defining it."
    )


class _Call:
    """Pickles as the call ``function(*args)``: unpickling makes that call."""

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        self.function, self.args = function, args

    def __reduce__(self) -> tuple:
        return self.function, self.args


def _is_definition(thing: Any) -> bool:
    """Is ``thing`` what a ``def`` or ``class`` statement makes (maybe under a cache)?"""
    return isinstance(thing, (type, types.FunctionType, functools._lru_cache_wrapper))


def _current(place: Any, key: str) -> Any:
    """The object at ``place[key]`` (a dict) or ``place.key`` (a cell, a function)."""
    if isinstance(place, dict):
        return place.get(key, _MISSING)
    try:
        return getattr(place, key)
    except ValueError:  # an empty cell
        return _MISSING


def _resolve(qualname: str) -> Any:
    thing: Any = _main()
    for part in qualname.split("."):
        thing = getattr(thing, part, _MISSING)
    return thing


def _code(thing: Any) -> types.CodeType | None:
    """The code of a function, or of the one a decorator wraps; None for a class."""
    code = getattr(getattr(thing, "__wrapped__", thing), "__code__", None)
    return code if isinstance(code, types.CodeType) else None


def _names_read(thing: Any) -> dict[str, None]:
    """The global names a function (or the one a decorator wraps) reads or assigns."""
    code = _code(thing)
    return _extract_code_globals(code) if code else {}


def _script_definitions(main: types.ModuleType) -> tuple[dict[str, int], frozenset[str]]:
    """What a worker started by spawn or forkserver finds in the main module it imports.

    Returns each ``def`` or ``class`` at the top level of the main script file, with its
    first line, if nothing else binds that name outside ``if __name__ == "__main__":``
    blocks (which the worker skips) and, for a class, inside them either (a class has no
    line number to tell its versions apart); and the names that the file binds outside
    those blocks and never inside them: the worker's have the program's values.
    """
    path = getattr(main, "__file__", None)
    try:
        tree = ast.parse(Path(path).read_bytes()) if path else None  # its coding line says how
    except (OSError, SyntaxError, ValueError):
        tree = None
    if tree is None:
        return {}, frozenset()
    outside = [node for node in tree.body if not _is_main_guard(node)]
    bound = collections.Counter(_bindings(outside))
    in_guard = set(_bindings([node for node in tree.body if _is_main_guard(node)]))
    definitions = {}
    for node in outside:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            is_class = isinstance(node, ast.ClassDef)
            if bound[node.name] == 1 and not (is_class and node.name in in_guard):
                definitions[node.name] = min(
                    [node.lineno] + [decorator.lineno for decorator in node.decorator_list])
    return definitions, frozenset(bound) - in_guard


def _is_main_guard(node: ast.stmt) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def _bindings(statements: list[ast.stmt]) -> list[str]:
    """Every name these module-level statements bind, nested blocks included."""
    names = []
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.append(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.append(node.id)
            elif isinstance(node, ast.alias):
                names.append((node.asname or node.name).partition(".")[0])
    return names


def _cached(function: Callable[..., Any], maxsize: int | None, typed: bool) -> Any:
    """An ``lru_cache``/``cache`` helper rebuilt by value (with an empty cache)."""
    return functools.lru_cache(maxsize=maxsize, typed=typed)(function)


# -- in the worker --------------------------------------------------------------------------


class _Namespace:
    """Where functions sent by value live in a worker, and what it knows about each name."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.started = dict(values)  # what the worker started with
        self.arrived: dict[str, Any] = {}  # name: the value that last came with a function
        self.versions: dict[str, tuple[int, Any]] = {}  # name: (version, value)

    def is_own(self, name: str) -> bool:
        """Did the worker itself assign ``name`` (an initializer's or a task's global)?"""
        value = self.values.get(name, _MISSING)
        return (value is not _MISSING and value is not self.started.get(name, _MISSING)
                and value is not self.arrived.get(name, _MISSING))

    def take(self, name: str, value: Any) -> None:
        """Set (or, given _MISSING, delete) a global that came with a function."""
        if self.is_own(name):
            return
        if value is _MISSING:
            self.values.pop(name, None)
            self.arrived.pop(name, None)
        else:
            self.values[name] = self.arrived[name] = value


_namespaces: dict[str | None, _Namespace] = {}


def note_start_up() -> None:
    """In a new worker, before its initializer: remember what its ``__main__`` holds, to
    tell later what the worker assigned itself."""
    _namespaces[None] = _Namespace(vars(_main()))


def _namespace(key: str | None) -> _Namespace:
    if key not in _namespaces:
        values = vars(_main()) if key is None else {"__builtins__": builtins,
                                                    "__name__": "__main__"}
        _namespaces[key] = _Namespace(values)
    return _namespaces[key]


def _arrived_global(key: str | None, name: str, version: int, data: bytes) -> Any:
    """A data global that came with a function: unpickled once per version."""
    namespace = _namespace(key)
    known = namespace.versions.get(name)
    if known is None or known[0] != version:
        known = namespace.versions[name] = (version, pickle.loads(data))
    return known[1]


def _function_in(key: str | None, code: types.CodeType,
                 closure: tuple | None) -> types.FunctionType:
    """A function of ``__main__`` arriving: its globals are its namespace's."""
    return types.FunctionType(code, _namespace(key).values, None, None, closure)


def _set_state(function: types.FunctionType, state: tuple) -> None:
    """Give an arriving function its name, defaults and closure, and set the globals it
    reads in its namespace by the rule of the header. In the main process, where they
    all came from, the program's own globals stay as they are."""
    attributes, slots, key, sent = state
    namespace = _namespace(key)
    if key is not None or parent_process() is not None:
        for name in _extract_code_globals(function.__code__):
            namespace.take(name, sent.get(name, _MISSING))
    builtins_before = namespace.values.get("__builtins__", _MISSING)
    # cloudpickle's own setter, given no globals; it also puts its builtins in them.
    _function_setstate(function, (attributes, slots))
    if builtins_before is not _MISSING:
        namespace.values["__builtins__"] = builtins_before
