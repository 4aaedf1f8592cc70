"""Timing plots for the course: timelines of tasks, lock holds and spans, speed-up curves.

Every plot here draws on a matplotlib ``Axes`` (a new figure if none is given) and
returns it, so a notebook can add a title or a line of its own. Times are shown in
seconds from the start of the experiment, not raw clock readings; each worker keeps
its colour from :mod:`procsync_teach.course.colours` in every plot.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from ..lock import LockHold
from ..trace import TaskRecord
from .colours import colour_of
from .spans import Span

# How a bar looks when its job did not end well.
_OUTCOME_HATCH = {"ok": "", "error": "xx", "worker died": "////", "terminated": ".."}


def _axes(ax: Axes | None, height: float = 2.6) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(8, height), layout="constrained")
    return ax


def plot_task_timeline(
    records: Iterable[TaskRecord],
    origin: float | None = None,
    ax: Axes | None = None,
    title: str = "Who ran what, and when",
    deadline: float | None = None,
    show_waiting: bool = False,
) -> Axes:
    """Draw a pool's jobs as bars, one lane per worker: the picture of parallel work.

    Args:
        records: from ``pool.records()``.
        origin: the time that becomes 0 s (default: the first submission).
        ax: where to draw; a new figure if None.
        title: the plot's title.
        deadline: a time (same clock) to mark with a vertical line, e.g. a timeout.
        show_waiting: also draw, thin and pale, each job's wait between submission and start.
    """
    records = [r for r in records if r.worker >= 0]
    ax = _axes(ax)
    if not records:
        ax.set_title(f"{title} (no tasks)")
        return ax
    origin = min(r.submitted for r in records) if origin is None else origin
    workers = sorted({r.worker for r in records})
    # One drawing call per lane and outcome, not per job: a map can leave thousands.
    for worker in workers:
        mine = [r for r in records if r.worker == worker]
        if show_waiting:
            waits = [(r.submitted - origin, r.waited) for r in mine if r.waited > 0]
            ax.broken_barh(waits, (worker - 0.075, 0.15), color=colour_of(worker), alpha=0.3)
        for outcome in dict.fromkeys(r.outcome for r in mine):
            bars = [(r.started - origin, max(r.ran, 1e-4)) for r in mine if r.outcome == outcome]
            ax.broken_barh(bars, (worker - 0.3, 0.6), facecolor=colour_of(worker),
                           edgecolor="black", linewidth=0.5, hatch=_OUTCOME_HATCH.get(outcome, ""))
    handles = [Patch(color=colour_of(w), label=f"worker {w}") for w in workers]
    handles += [Patch(facecolor="white", edgecolor="black", hatch=_OUTCOME_HATCH[o], label=o)
                for o in sorted({r.outcome for r in records} - {"ok"})]
    if deadline is not None:
        ax.axvline(deadline - origin, color="black", linestyle="--")
        handles.append(plt.Line2D([], [], color="black", linestyle="--", label="deadline"))
    _finish(ax, workers, "worker", title, handles)
    return ax


def plot_lock_holds(
    holds: Iterable[LockHold],
    origin: float | None = None,
    ax: Axes | None = None,
    title: str = "Who held the lock, and when",
) -> Axes:
    """Draw each process's holds of a traced Lock as bars, one lane per process.

    With the lock working, no two bars overlap in time; the overlaps that do exist
    (for a "lock" that does not exclude) are shaded red.
    """
    holds = sorted(holds, key=lambda h: h.acquired)
    ax = _axes(ax)
    if not holds:
        ax.set_title(f"{title} (no holds)")
        return ax
    origin = holds[0].acquired if origin is None else origin
    lanes = {pid: lane for lane, pid in enumerate(dict.fromkeys(h.pid for h in holds))}
    for h in holds:
        ax.barh(lanes[h.pid], max(h.released - h.acquired, 1e-5), left=h.acquired - origin,
                height=0.6, color=colour_of(lanes[h.pid]))
    overlaps = list(_overlaps(holds))
    for start, end in overlaps:
        ax.axvspan(start - origin, end - origin, color="red", alpha=0.25, linewidth=0)
    handles = [Patch(color=colour_of(lane), label=f"process {lane}") for lane in lanes.values()]
    if overlaps:
        handles.append(Patch(color="red", alpha=0.25, label="held by two at once"))
    _finish(ax, list(lanes.values()), "process", title, handles)
    return ax


def plot_spans(
    spans: Iterable[Span],
    origin: float | None = None,
    ax: Axes | None = None,
    title: str = "Who was busy, and when",
    lane_name: str = "process",
    marks: dict[str, float] | None = None,
) -> Axes:
    """Draw the spans of a :class:`~procsync_teach.course.spans.SpanLog`, one lane per ``who``.

    Args:
        spans: from ``log.spans()``.
        origin: the time that becomes 0 s (default: the first start).
        ax: where to draw; a new figure if None.
        title: the plot's title.
        lane_name: what a lane is, for the axis: "process", "worker"...
        marks: moments to draw as dashed vertical lines, by label, e.g. {"event set": t}.
    """
    spans = sorted(spans, key=lambda span: span.start)
    ax = _axes(ax)
    if not spans:
        ax.set_title(f"{title} (no spans)")
        return ax
    origin = spans[0].start if origin is None else origin
    lanes = sorted({span.who for span in spans})
    for span in spans:
        ax.barh(span.who, max(span.end - span.start, 1e-4), left=span.start - origin,
                height=0.6, color=colour_of(span.who), edgecolor="black", linewidth=0.5)
    handles = [Patch(color=colour_of(lane), label=f"{lane_name} {lane}") for lane in lanes]
    for (label, moment), style in zip((marks or {}).items(), ("--", ":", "-."), strict=False):
        ax.axvline(moment - origin, color="black", linestyle=style)
        handles.append(plt.Line2D([], [], color="black", linestyle=style, label=label))
    _finish(ax, lanes, lane_name, title, handles)
    return ax


def _overlaps(holds: Sequence[LockHold]) -> Iterable[tuple[float, float]]:
    """Intervals during which two holds (sorted by start) overlapped."""
    latest_end = -math.inf
    for hold in holds:
        if hold.acquired < latest_end:
            yield hold.acquired, min(hold.released, latest_end)
        latest_end = max(latest_end, hold.released)


def _finish(ax: Axes, lanes: list[int], lane_name: str, title: str, handles: list) -> None:
    ax.set_yticks(lanes, [f"{lane_name} {lane}" for lane in lanes])
    ax.set_ylim(min(lanes) - 0.6, max(lanes) + 0.6)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel(lane_name)
    ax.set_title(title)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    ax.grid(axis="x", alpha=0.3)


def plot_speedup(
    workers: Sequence[int],
    seconds: Sequence[float],
    ax: Axes | None = None,
    label: str = "measured",
    title: str | None = "Speed-up against the number of workers",
) -> Axes:
    """Plot speed-up (time with 1 worker / time with n) next to the ideal, n.

    Call it twice on one ``ax`` to compare two kinds of task; ``title=None`` keeps the
    title the axes already have.
    """
    ax = _axes(ax, height=3.2)
    base = seconds[list(workers).index(1)] if 1 in workers else seconds[0] * workers[0]
    ax.plot(workers, [base / s for s in seconds], marker="o", label=label)
    if not any(line.get_label() == "ideal" for line in ax.get_lines()):
        ax.plot(workers, workers, linestyle="--", color="grey", label="ideal")
    ax.set_xlabel("workers")
    ax.set_ylabel("speed-up (×)")
    ax.set_xticks(list(workers))
    if title is not None:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_seconds_against(
    values: Sequence[float],
    seconds: Sequence[float],
    xlabel: str,
    ax: Axes | None = None,
    label: str = "measured",
    title: str | None = None,
    log_x: bool = False,
) -> Axes:
    """Plot how long something took against a setting (chunksize, workers, duration...).

    Call it again on the same ``ax`` to add a line; ``title=None`` keeps the current title.
    """
    ax = _axes(ax, height=3.2)
    ax.plot(values, seconds, marker="o", label=label)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("time (s)")
    if title is not None:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax
