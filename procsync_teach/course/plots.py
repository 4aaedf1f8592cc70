"""Timing plots for the course: timelines of tasks, lock holds and spans, speed-up curves.

Every plot here draws on a matplotlib ``Axes`` (a new figure if none is given) and
returns it, so a notebook can add a title or a line of its own. Times are shown in
seconds from the start of the experiment, not raw clock readings; each worker keeps
its colour from :mod:`procsync_teach.course.colours` in every plot, and its name on
its lane, so colour is never the only cue.

Projector mode, for a class reading from the back of a room: ``projector(True)`` in a
notebook, or the environment variable ``PROCSYNC_PROJECTOR=1`` before Jupyter starts,
makes every figure as wide as a 1280-pixel screen, with 18-point text. Legends always
sit outside the axes, clear of the data.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

from ..lock import LockHold
from ..trace import TaskRecord
from .colours import colour_of, marker_of
from .spans import Span

# How a bar looks when its job did not end well.
_OUTCOME_HATCH = {"ok": "", "error": "xx", "worker died": "////", "terminated": ".."}

PROJECTOR_VARIABLE = "PROCSYNC_PROJECTOR"
# A notebook page holds an 8-inch figure; a 1280-pixel projector is 13.3 inches at 96 dpi,
# less the few pixels of margin Jupyter adds around a figure.
NOTEBOOK_WIDTH, PROJECTOR_WIDTH, PROJECTOR_DPI = 8.0, 13.2, 96
# 18 points are 24 pixels at 96 dpi: about the smallest text the back row of a room reads.
PROJECTOR_FONT = 18
# Projected text is 1.8 times the notebook's 10 points: labels and lanes need more height.
PROJECTOR_TALLER = 1.6
_PROJECTOR_STYLE = {
    "figure.dpi": PROJECTOR_DPI,
    "font.size": PROJECTOR_FONT,
    "axes.titlesize": PROJECTOR_FONT + 2,
    "axes.labelsize": PROJECTOR_FONT,
    "xtick.labelsize": PROJECTOR_FONT,
    "ytick.labelsize": PROJECTOR_FONT,
    "legend.fontsize": PROJECTOR_FONT,
    "figure.titlesize": PROJECTOR_FONT + 2,
    "lines.linewidth": 3,
    "lines.markersize": 10,
}
_saved_style: dict = {}


def projector(on: bool = True) -> None:
    """Switch projector mode on (or off again) for the figures drawn from now on.

    On: figures as wide as a 1280-pixel screen and text of at least 18 points, so the
    back row can read a projected notebook. It changes matplotlib's settings for the
    whole notebook, so plots drawn by hand (``plt.subplots``) get the large text too;
    :func:`subplots` also gives them the screen's width.
    """
    if on and not _saved_style:
        _saved_style.update({key: matplotlib.rcParams[key] for key in _PROJECTOR_STYLE})
        matplotlib.rcParams.update(_PROJECTOR_STYLE)
    elif not on and _saved_style:
        matplotlib.rcParams.update(_saved_style)
        _saved_style.clear()


def projecting() -> bool:
    """True while projector mode is on."""
    return bool(_saved_style)


def subplots(nrows: int = 1, ncols: int = 1, height: float = 2.6, width: float = NOTEBOOK_WIDTH,
             **options) -> tuple[Figure, Axes]:
    """``plt.subplots`` at the course's width: a notebook page's, or the screen's when projecting.

    ``height`` and ``width`` are inches on a notebook page; projecting, the figure is as
    wide as the screen and its height grows with the text.
    """
    if projecting():
        width, height = PROJECTOR_WIDTH, height * PROJECTOR_TALLER
    options.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(width, height), **options)


def legend_outside(ax: Axes, handles: list | None = None) -> None:
    """The legend to the right of the axes, where it never covers a bar or a point."""
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1))


def _axes(ax: Axes | None, height: float = 2.6) -> Axes:
    if ax is None:
        _, ax = subplots(height=height)
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
    _finish(ax, workers, [f"worker {w}" for w in workers], "worker", title, handles)
    return ax


def plot_lock_holds(
    holds: Iterable[LockHold],
    origin: float | None = None,
    ax: Axes | None = None,
    title: str = "Who held the lock, and when",
) -> Axes:
    """Draw each process's holds of a traced Lock as bars, one lane per process.

    With the lock working, no two bars overlap in time; the overlaps that do exist
    (for a "lock" that does not exclude) are drawn, hatched black, in a lane of their own
    below the processes', so they cover none of them.
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
    handles = [Patch(color=colour_of(lane), label=f"process {lane}") for lane in lanes.values()]
    lane_names = [f"process {lane}" for lane in lanes.values()]
    overlaps = [(start - origin, end - start) for start, end in _overlaps(holds)]
    if overlaps:
        ax.broken_barh(overlaps, (len(lanes) - 0.3, 0.6), facecolor="white", edgecolor="black",
                       hatch="xx", linewidth=0.8)
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="xx",
                             label="held by two at once"))
        lane_names.append("two at once")
    _finish(ax, list(range(len(lane_names))), lane_names, "process", title, handles)
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
    _finish(ax, lanes, [f"{lane_name} {lane}" for lane in lanes], lane_name, title, handles)
    return ax


def _overlaps(holds: Sequence[LockHold]) -> Iterable[tuple[float, float]]:
    """Intervals during which two holds (sorted by start) overlapped."""
    latest_end = -math.inf
    for hold in holds:
        if hold.acquired < latest_end:
            yield hold.acquired, min(hold.released, latest_end)
        latest_end = max(latest_end, hold.released)


def _finish(ax: Axes, lanes: list[int], names: list[str], lane_name: str, title: str,
            handles: list) -> None:
    ax.set_yticks(lanes, names)
    ax.set_ylim(min(lanes) - 0.6, max(lanes) + 0.6)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel(lane_name)
    ax.set_title(title)
    legend_outside(ax, handles)
    ax.grid(axis="x", alpha=0.3)


def plot_speedup(
    workers: Sequence[int],
    seconds: Sequence[float],
    ax: Axes | None = None,
    label: str = "measured",
    title: str | None = "Speed-up against the number of workers",
    baseline: float | None = None,
    cores: int | None = None,
) -> Axes:
    """Plot speed-up (the time of the baseline / time with n workers) next to the ideal, n.

    Call it twice on one ``ax`` to compare two kinds of task; ``title=None`` keeps the
    title the axes already have.

    Args:
        baseline: the seconds the same work takes in a plain loop, without a pool; by
            default the time with 1 worker (which flatters the pool: it pays for the pool too).
        cores: mark the machine's core count, where the curve of CPU-bound work flattens.
    """
    ax = _axes(ax, height=3.2)
    if baseline is None:
        baseline = seconds[list(workers).index(1)] if 1 in workers else seconds[0] * workers[0]
    _plot_line(ax, workers, [baseline / s for s in seconds], label)
    if not any(line.get_label() == "ideal" for line in ax.get_lines()):
        ax.plot(workers, workers, linestyle="--", color="grey", label="ideal")
    if cores is not None:
        ax.axvline(cores, color="black", linestyle=":", label=f"cores ({cores})")
    ax.set_xlabel("workers")
    ax.set_ylabel("speed-up (×)")
    ax.set_xticks(list(workers))
    if title is not None:
        ax.set_title(title)
    legend_outside(ax)
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
    _plot_line(ax, values, seconds, label)
    if log_x:
        ax.set_xscale("log")
        # Ticks at the values measured, written as they are (not 10⁰, 10¹, 10²).
        ax.set_xticks(list(values), [f"{v:g}" for v in values])
        ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(xlabel)
    ax.set_ylabel("time (s)")
    if title is not None:
        ax.set_title(title)
    legend_outside(ax)
    ax.grid(alpha=0.3)
    return ax


def _plot_line(ax: Axes, xs: Sequence[float], ys: Sequence[float], label: str) -> None:
    """One more measured line: the next colour and the next marker of the course's palette."""
    index = sum(line.get_marker() not in ("None", "", None) for line in ax.get_lines())
    ax.plot(xs, ys, marker=marker_of(index), color=colour_of(index), label=label)


if os.environ.get(PROJECTOR_VARIABLE, "0") not in ("", "0"):
    projector(True)
