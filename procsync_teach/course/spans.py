"""A log of who was busy when, written by many processes, read back for a timeline.

A traced ``Lock`` records its own holds, but a ``Semaphore``, an ``Event`` or a ``Barrier``
from ``multiprocessing`` records nothing. A :class:`SpanLog` fills that gap: each process
notes the moments it cares about ("I held a seat from here to there") with
``with log.span(who):``, and the notebook reads every span back with :meth:`SpanLog.spans`
and draws them with :func:`procsync_teach.course.plots.plot_spans`.

How it works: the log is a file. Each span is one fixed-size record appended with a single
``write``; appends that small are atomic, so records from processes finishing at the same
moment never mix. A ``SpanLog`` travels to other processes by the file's name, under every
start method, like ``procsync_teach.Lock``.
"""

from __future__ import annotations

import os
import struct
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from ..clock import now

_SPAN_RECORD = struct.Struct("<qdd")  # who, start, end: 24 bytes a span


class Span(NamedTuple):
    """One stretch of time during which ``who`` was busy. Times are on the shared clock."""

    who: int  # e.g. 2: a number the notebook chose, such as a worker's index
    start: float  # e.g. 5120.004571
    end: float  # e.g. 5120.104812


class SpanLog:
    """A file that any process can append spans to, and the creator reads back.

    Example::

        log = SpanLog()
        # in each child process, with log passed as an argument:
        with log.span(who=1):
            do_the_work()
        # back in the notebook:
        log.spans()  # [Span(who=1, start=..., end=...), ...]
    """

    def __init__(self) -> None:
        fd, self._path = tempfile.mkstemp(prefix="procsync-spans-", suffix=".trace")
        os.close(fd)
        # Only the creator removes the file, when its SpanLog is dropped or it exits.
        weakref.finalize(self, _remove_file, os.getpid(), self._path)

    def __repr__(self) -> str:
        return f"<SpanLog spans={len(self.spans())}>"

    def record(self, who: int, start: float, end: float) -> None:
        """Append one span, from ``start`` to ``end`` on the shared clock."""
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, _SPAN_RECORD.pack(who, start, end))  # one small append: never mixed
        finally:
            os.close(fd)

    @contextmanager
    def span(self, who: int) -> Iterator[None]:
        """Record the time spent inside the ``with`` block as one span of ``who``."""
        start = now()
        try:
            yield
        finally:
            self.record(who, start, now())

    def spans(self) -> list[Span]:
        """Every span recorded so far, by any process, in order of start."""
        with open(self._path, "rb") as file:
            data = file.read()
        usable = len(data) - len(data) % _SPAN_RECORD.size
        spans = [Span(*fields) for fields in _SPAN_RECORD.iter_unpack(data[:usable])]
        return sorted(spans, key=lambda span: span.start)


def most_at_once(spans: Iterable[Span]) -> int:
    """The largest number of spans in progress at the same moment.

    A span that ends exactly when another starts does not overlap it.
    """
    # Sweep through the starts (+1) and ends (-1) in time order; ends first on a tie.
    events = sorted([(span.start, 1) for span in spans] + [(span.end, -1) for span in spans])
    busy = most = 0
    for _, change in events:
        busy += change
        most = max(most, busy)
    return most


def _remove_file(creator_pid: int, path: str) -> None:
    if os.getpid() == creator_pid:  # a forked copy must not remove the creator's file
        try:
            os.remove(path)
        except OSError:
            pass
