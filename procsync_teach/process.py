"""``Process``: ``multiprocessing.Process``, made to work with functions from a notebook.

``multiprocessing.Process(target=f)`` sends ``f`` to the child *by name*. Under the
spawn and forkserver start methods the child is a fresh interpreter that looks ``f``
up in its own ``__main__``, and a function defined in a notebook cell is not there:
the child dies with ``AttributeError: Can't get attribute 'f'``.

:func:`Process` makes the same process object, with one difference: the target
travels *by value* where the child could not find it by name (pickled with cloudpickle,
code and all: see :mod:`procsync_teach.pickling`), and the child runs it
through a small trampoline, :func:`_run_target`, which unpickles it, points the
child's output at an open :func:`~procsync_teach.capture_output`, and calls it.
The arguments still travel the standard way, so anything ``multiprocessing`` lets
a child inherit (its own ``Lock``, a ``Queue``, a ``Value``) still works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from .capture import active_folder, write_to
from .context import get_context
from .messages import loads
from .pickling import FunctionPickles


def Process(  # noqa: N802 - it stands in for the class multiprocessing.Process
    target: Callable[..., object],
    args: Iterable[Any] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    daemon: bool | None = None,
    context: BaseContext | str | None = None,
) -> BaseProcess:
    """Make a process that will run ``target(*args, **kwargs)`` once started.

    Use it exactly like ``multiprocessing.Process``: ``p = Process(target=f, args=(1,))``,
    then ``p.start()`` and ``p.join()``. ``target`` may be defined in a notebook cell,
    whatever the start method; while a :func:`~procsync_teach.capture_output` block is
    open, what the process prints is captured.

    Args:
        target: the function the child runs.
        args, kwargs: its arguments.
        name: the process's name (default ``Process-N``).
        daemon: if True, the process is killed when its parent exits.
        context: start method or context; None for the course's default.

    Returns:
        A ``multiprocessing`` process object (not yet started).
    """
    context = get_context(context)
    return context.Process(
        target=_run_target,
        args=(FunctionPickles(context.get_start_method()).dumps(target), active_folder(),
              *args),
        kwargs=kwargs or {},
        name=name,
        daemon=daemon,
    )


def _run_target(
    pickled_target: bytes, capture_folder: str | None, *args: Any, **kwargs: Any
) -> None:
    """In the child: send the output where it belongs, then run the real target."""
    if capture_folder is not None:
        write_to(capture_folder)
    loads(pickled_target)(*args, **kwargs)
