"""Timelines drawn in a terminal: one lane per worker, a bar per task, against a time axis.

The lanes come from ``pool.records()`` (:func:`task_lanes`), each in its worker's colour,
with the caller's own lane above them where a demo adds one: it waits, works, or gives up.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ...pool import Pool
    from ...trace import TaskRecord
    from .terminal import Terminal

#: What each kind of span means, for a timeline's legend; its character is the terminal's
#: glyph of the same name (:data:`.terminal.GLYPHS`).
LEGEND = {"task": "a task", "failed": "a task lost: its worker died",
          "waiting": "the caller waits", "working": "the caller does its own work",
          "gave up": "get() gave up: TimeoutError"}


class Span(NamedTuple):
    """A stretch of one lane of a timeline: from ``start`` to ``end`` on the shared clock."""

    start: float
    end: float
    kind: str  # a key of LEGEND: "task", "failed", "waiting", "working" or "gave up"
    colour: int | None = None  # a worker's index in procsync_teach.course.colours; None: plain


def task_lanes(records: list[TaskRecord], workers: int) -> dict[str, list[Span]]:
    """One lane per worker (idle ones too: an empty lane is worth seeing) from pool records."""
    lanes: dict[str, list[Span]] = {f"worker {slot}": [] for slot in range(workers)}
    for record in records:
        if record.worker >= 0:
            kind = "task" if record.outcome == "ok" else "failed"
            lanes[f"worker {record.worker}"].append(
                Span(record.started, record.finished, kind, record.worker)
            )
    return lanes


def draw_pool_timeline(term: Terminal, pool: Pool, workers: int, start: float,
                       seconds: float, caller: list[Span]) -> None:
    """The timeline of what the pool ran since ``start``, under the caller's own lane."""
    lanes = {"caller": caller, **task_lanes(pool.records(since=start), workers)}
    draw_timeline(term, lanes, start, seconds)


def draw_timeline(term: Terminal, lanes: dict[str, list[Span]], origin: float,
                  seconds: float) -> None:
    """Draw lanes of spans against time, scaled to the terminal's width, then a legend.

    Args:
        lanes: lane name -> its spans, drawn top to bottom.
        origin: the time (shared clock) drawn as 0 s.
        seconds: how much time the width shows; stretched if a span ends later.
    """
    seconds = max([seconds, 1e-3, *(s.end - origin for spans in lanes.values() for s in spans)])
    label_width = max(len(name) for name in lanes) + 2
    width = max(20, min(100, term.columns - label_width - 8))
    for name, spans in lanes.items():
        colour = spans[0].colour if spans else None
        label = name.ljust(label_width)
        label = term.paint(label, colour) if colour is not None else label
        term.say((label + lane_text(term, spans, origin, width / seconds, width)).rstrip())
    for line in axis_lines(term, seconds, width):
        term.say(" " * label_width + line)
    kinds = dict.fromkeys(span.kind for spans in lanes.values() for span in spans)
    term.say(" " * label_width + "   ".join(f"{term.glyph(k)} {LEGEND[k]}" for k in kinds))
    term.say()


def lane_text(term: Terminal, spans: list[Span], origin: float, per_second: float,
              width: int) -> str:
    """One lane as text: each span's columns filled with its glyph, in its colour."""
    cells: list[tuple[str, int | None]] = [(" ", None)] * width
    # Marks ("gave up") last, so that the span starting where they stand does not hide them.
    for span in sorted(spans, key=lambda span: span.kind == "gave up"):
        first = min(width - 1, int((span.start - origin) * per_second))
        last = min(width, max(first + 1, int((span.end - origin) * per_second)))
        for column in range(first, last):
            cells[column] = (term.glyph(span.kind), span.colour)
        if span.kind == "task" and last - first >= 3:
            cells[last - 1] = (" ", None)  # a gap, so that back-to-back tasks stay two bars
    pieces = []
    for colour, run_of_cells in itertools.groupby(cells, key=lambda cell: cell[1]):
        text = "".join(glyph for glyph, _ in run_of_cells)
        pieces.append(text if colour is None else term.paint(text, colour))
    return "".join(pieces).rstrip()


def axis_lines(term: Terminal, seconds: float, width: int) -> list[str]:
    """A time axis under the lanes: a line with ticks, then the tick labels."""
    per_second = width / seconds
    step = next((s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)
                 if s * per_second >= 9), 120)
    ticks = [round(i * step, 6) for i in range(int(seconds / step) + 1)]
    axis, labels, free = list(term.glyph("axis") * width), "", 0
    for tick in ticks:
        column = min(width - 1, round(tick * per_second))
        axis[column] = term.glyph("tick")
        if column >= free:
            labels += " " * (column - len(labels)) + f"{tick:g} s"
            free = len(labels) + 1
    return ["".join(axis), labels]
