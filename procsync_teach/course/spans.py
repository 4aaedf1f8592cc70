"""A log of who was busy when, written by many processes, read back for a timeline.

A traced ``Lock`` records its own holds, but a ``Semaphore``, an ``Event`` or a ``Barrier``
from ``multiprocessing`` records nothing. A :class:`SpanLog` fills that gap: each process
notes the moments it cares about ("I held a seat from here to there") with
``with log.span(who):``, and the notebook reads every span back with :meth:`SpanLog.spans`
and draws them with :func:`procsync_teach.course.plots.plot_spans`.

How it works: the log is a folder, kept like a traced ``Lock``'s holds
(:mod:`procsync_teach.tempfiles`). Each process appends its spans, one fixed-size record
each, to a file of its own in the folder, so processes recording at the same moment never
overwrite each other; :meth:`SpanLog.spans` merges the files. A ``SpanLog`` travels to
other processes by the folder's name, under every start method, like ``procsync_teach.Lock``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from ..clock import now
from ..tempfiles import files_in, new_folder, open_own_file, remove_when_dropped

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
        self._path = new_folder("spans-")  # one file per process that records
        remove_when_dropped(self, self._path)  # by the creator only, once it drops the log

    def __repr__(self) -> str:
        return f"<SpanLog spans={len(self.spans())}>"

    def record(self, who: int, start: float, end: float) -> None:
        """Append one span, from ``start`` to ``end`` on the shared clock."""
        fd = open_own_file(self._path, ".spans")
        try:
            os.write(fd, _SPAN_RECORD.pack(who, start, end))
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
        spans = []
        for file_path in files_in(self._path):
            with open(file_path, "rb") as file:
                data = file.read()
            usable = len(data) - len(data) % _SPAN_RECORD.size  # a record being written
            spans += [Span(*fields) for fields in _SPAN_RECORD.iter_unpack(data[:usable])]
        return sorted(spans, key=lambda span: span.start)


def most_at_once(spans: Iterable[Span]) -> int:
    """The largest number of spans in progress at the same moment.

    A span that ends exactly when another starts does not overlap it.
    """
    spans = list(spans)  # read twice below
    # Sweep through the starts (+1) and ends (-1) in time order; ends first on a tie.
    events = sorted([(span.start, 1) for span in spans] + [(span.end, -1) for span in spans])
    busy = most = 0
    for _, change in events:
        busy += change
        most = max(most, busy)
    return most
