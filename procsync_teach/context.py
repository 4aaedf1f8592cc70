"""Which start method the course's processes use: fork, spawn or forkserver.

A start method is how a new Python process comes to life:

* **fork** copies the parent as it is (Linux only; fast, but unsafe with threads);
* **spawn** starts a fresh interpreter that imports the parent's main module
  (the only method on Windows, the default on macOS);
* **forkserver** forks from a small, clean server process started once
  (the default on Linux from Python 3.14).

A learner can try the whole course under any of them by setting the environment
variable ``PROCSYNC_START_METHOD`` to ``fork``, ``spawn`` or ``forkserver`` before
starting Jupyter (or the tests). Without it, we follow ``multiprocessing``'s default.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.context import BaseContext

ENVIRONMENT_VARIABLE = "PROCSYNC_START_METHOD"


def start_method() -> str:
    """Return the start method the course uses: the environment variable's, else the default."""
    chosen = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if not chosen:
        return multiprocessing.get_start_method()
    return checked_start_method(chosen, given_as=ENVIRONMENT_VARIABLE)


def checked_start_method(name: str, given_as: str = "start method") -> str:
    """Return ``name`` if this platform can start processes that way.

    Args:
        name: a start method's name, such as ``"spawn"``.
        given_as: where the name came from, for the error message (an option, a variable).

    Raises:
        ValueError: the platform has no such start method; the message lists those it has.
    """
    available = multiprocessing.get_all_start_methods()
    if name not in available:
        raise ValueError(
            f"{given_as} {name!r} is not a start method this platform has; "
            f"choose one of {', '.join(available)}"
        )
    return name


def get_context(context: BaseContext | str | None = None) -> BaseContext:
    """Turn ``None``, a start-method name or a context into a multiprocessing context.

    Args:
        context: ``None`` for the course's start method (see :func:`start_method`),
            a name such as ``"spawn"``, or a context from ``multiprocessing.get_context``.

    Raises:
        ValueError: the name is not a start method of this platform.
        TypeError: ``context`` is something else entirely.
    """
    if context is None:
        return multiprocessing.get_context(start_method())
    if isinstance(context, str):
        return multiprocessing.get_context(checked_start_method(context, given_as="context"))
    if isinstance(context, BaseContext):
        return context
    raise TypeError(
        f"context must be None, a start-method name or a multiprocessing context, "
        f"not {type(context).__name__}"
    )
