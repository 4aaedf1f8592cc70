"""How the pool's dispatcher listens: waiting on many pipes at once, and reading in bulk.

The dispatcher has one pipe per worker, one sentinel per worker (ready when that
process ends) and one wake-up pipe (written to when a caller submits work). A
:class:`Watcher` waits until any of them is ready, and :func:`read_messages` then
reads every reply that has arrived on a worker's pipe, with as few system calls as it
can: when a map of tiny tasks streams replies back, the cost of *reading* them is
what limits the pool.
"""

from __future__ import annotations

import os
import selectors
import sys
from multiprocessing.connection import Connection, wait
from typing import Any

#: How many bytes one read may take from a pipe: many small replies at once.
READ_SIZE = 64 * 1024


#: The most things one ``multiprocessing.connection.wait`` takes on Windows before
#: Python 3.13 (``WaitForMultipleObjects`` takes 64, and ``wait`` keeps one); None: no
#: limit. The dispatcher waits on 2N+1 things for N workers, so ``Pool(32)`` is past it.
WAIT_LIMIT = 63 if sys.version_info < (3, 13) else None

# Pipes are file descriptors, which a selector can watch and os.read read, except on Windows.
_PIPES_ARE_DESCRIPTORS = sys.platform != "win32"

#: On the grouped wait (see :func:`wait_in_groups`): the longest, in seconds, that one
#: group is waited on while the others go unwatched.
GROUP_TURN = 0.01


class Watcher:
    """Waits until one of the pool's pipes or sentinels is ready to be read.

    It does what ``multiprocessing.connection.wait`` does, which builds a new selector
    on every call. The dispatcher waits once per round, on the same pipes and
    sentinels nearly every time, so on POSIX the selector is kept until the pool says
    the set has changed (:meth:`forget`: a worker died or was replaced). Windows has
    no selector for pipes, so there it calls ``wait``, in groups if there are too many
    things for one call (:func:`wait_in_groups`).
    """

    def __init__(self) -> None:
        self._selector: selectors.BaseSelector | None = None

    def wait(self, things: list[Any]) -> list[Any]:
        """Block until at least one of ``things`` is ready; return those that are."""
        if not _PIPES_ARE_DESCRIPTORS:
            return wait_in_groups(things)
        if self._selector is None:
            self._selector = selectors.DefaultSelector()
            for thing in things:
                self._selector.register(thing, selectors.EVENT_READ)
        return [key.fileobj for key, _ in self._selector.select()]

    def forget(self) -> None:
        """The things to watch have changed: build a new selector next time."""
        if self._selector is not None:
            self._selector.close()
            self._selector = None


def wait_in_groups(things: list[Any]) -> list[Any]:
    """Block until at least one of ``things`` is ready, with ``wait``, which may take at
    most :data:`WAIT_LIMIT` of them at once; return those that are ready.

    With more, no single call can watch them all, so each group is waited on in turn:
    first a look at every group without waiting, then turns of up to
    :data:`GROUP_TURN` seconds each, so that a ready pipe in another group is noticed
    within a few hundredths of a second.
    """
    if WAIT_LIMIT is None or len(things) <= WAIT_LIMIT:
        return wait(things)
    groups = [things[start : start + WAIT_LIMIT] for start in range(0, len(things), WAIT_LIMIT)]
    turn = 0.0
    while True:
        for group in groups:
            ready = wait(group, turn)
            if ready:
                return ready
        turn = GROUP_TURN


def read_messages(connection: Connection) -> tuple[list[bytes], bool]:
    """Every message that has arrived on ``connection``, which must be ready to read.

    Returns the messages, oldest first, and whether the pipe is still open (False
    once the other end has closed: a worker that exited, or died mid-message).

    ``Connection.recv_bytes`` takes two system calls per message: one for its length,
    one for its body. Here one read takes all that has arrived, and the messages are
    cut out of it as ``Connection.send_bytes`` framed them: a 4-byte big-endian
    length, then the body (a length of -1 is followed by an 8-byte length, for
    messages over 2 GiB). A message cut off at the end of the read is completed with
    further reads: its sender is writing it right now.
    """
    if not _PIPES_ARE_DESCRIPTORS:  # pragma: no cover - Windows: pipes are no descriptors
        try:
            return [connection.recv_bytes()], True
        except (EOFError, OSError):
            return [], False
    fd = connection.fileno()
    messages: list[bytes] = []
    try:
        buffer = bytearray(_read(fd, READ_SIZE))
        start = 0
        while start < len(buffer):
            size, start = _read_length(fd, buffer, start)
            _fill(fd, buffer, start + size)
            messages.append(bytes(buffer[start : start + size]))
            start += size
    except (EOFError, OSError):
        return messages, False
    return messages, True


def _read_length(fd: int, buffer: bytearray, start: int) -> tuple[int, int]:
    """The length of the message framed at ``start``, and where its body begins."""
    _fill(fd, buffer, start + 4)
    size = int.from_bytes(buffer[start : start + 4], "big", signed=True)
    if size != -1:
        return size, start + 4
    _fill(fd, buffer, start + 12)
    return int.from_bytes(buffer[start + 4 : start + 12], "big"), start + 12


def _fill(fd: int, buffer: bytearray, length: int) -> None:
    """Read until ``buffer`` holds at least ``length`` bytes."""
    while len(buffer) < length:
        buffer += _read(fd, length - len(buffer))


def _read(fd: int, size: int) -> bytes:
    data = os.read(fd, size)
    if not data:
        raise EOFError("the other end closed the pipe")
    return data
