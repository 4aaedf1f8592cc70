"""The course's plots draw what the records say: a bar per job, a lane per worker."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from procsync_teach.course.colours import WORKER_COLOURS, colour_of  # noqa: E402
from procsync_teach.course.plots import (  # noqa: E402
    plot_lock_holds,
    plot_seconds_against,
    plot_spans,
    plot_speedup,
    plot_task_timeline,
)
from procsync_teach.course.spans import Span  # noqa: E402
from procsync_teach.lock import LockHold  # noqa: E402
from procsync_teach.trace import TaskRecord  # noqa: E402


def record(task, worker, start, end, outcome="ok"):
    return TaskRecord(task, worker, 100 + worker, 1, 10.0, 10.0 + start, 10.0 + end, outcome)


def test_a_timeline_has_one_bar_per_job_in_its_worker_colour():
    records = [record(0, 0, 0, 1), record(1, 1, 0, 2), record(2, 0, 1, 1.5, "worker died")]
    ax = plot_task_timeline(records, deadline=11.2)
    lanes = ax.collections  # worker 0's finished jobs, its lost job, worker 1's jobs
    assert [len(lane.get_paths()) for lane in lanes] == [1, 1, 1]
    starts = [round(lane.get_paths()[0].vertices[:, 0].min(), 3) for lane in lanes]
    assert starts == [0.0, 1.0, 0.0]
    assert matplotlib.colors.to_hex(lanes[2].get_facecolor()[0]) == colour_of(1)
    assert lanes[1].get_hatch() and not lanes[0].get_hatch()  # a lost job looks different
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["worker 0", "worker 1", "worker died", "deadline"]
    assert ax.get_xlabel() == "time since start (s)"
    assert round(ax.lines[0].get_xdata()[0], 6) == 1.2


def test_jobs_that_never_reached_a_worker_are_left_out():
    ax = plot_task_timeline([record(0, -1, 0, 0, "terminated")])
    assert not ax.collections and "no tasks" in ax.get_title()


def test_thousands_of_jobs_make_one_drawing_per_lane():
    records = [record(n, n % 2, n * 1e-3, n * 1e-3 + 5e-4) for n in range(4000)]
    ax = plot_task_timeline(records, show_waiting=True)
    assert len(ax.collections) == 4 and len(ax.collections[1].get_paths()) == 2000


def test_overlapping_holds_are_shaded_and_named_in_the_legend():
    holds = [LockHold(1, 0.0, 1.0), LockHold(2, 0.5, 1.5), LockHold(1, 2.0, 2.5)]
    ax = plot_lock_holds(holds)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["process 0", "process 1", "held by two at once"]
    exclusive = plot_lock_holds([LockHold(1, 0.0, 1.0), LockHold(2, 1.0, 2.0)])
    assert "held by two at once" not in [t.get_text() for t in exclusive.get_legend().get_texts()]


def test_speedup_is_relative_to_one_worker_and_drawn_beside_the_ideal():
    ax = plot_speedup([1, 2, 4], [4.0, 2.0, 1.6])
    measured, ideal = ax.lines
    assert list(measured.get_ydata()) == [1.0, 2.0, 2.5]
    assert list(ideal.get_ydata()) == [1, 2, 4] and ideal.get_label() == "ideal"
    plot_speedup([1, 2, 4], [4.0, 2.1, 1.1], ax=ax, label="sleeping")
    assert [line.get_label() for line in ax.lines] == ["measured", "ideal", "sleeping"]


def test_seconds_against_a_setting_can_use_a_log_axis():
    ax = plot_seconds_against([1, 10, 100], [3.0, 0.5, 0.1], "chunksize", log_x=True)
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "time (s)"


def test_worker_colours_repeat_after_ten():
    assert colour_of(0) == colour_of(10) == WORKER_COLOURS[0]
    assert len(set(WORKER_COLOURS)) == 10


def test_a_second_line_on_the_same_axes_keeps_the_title():
    ax = plot_seconds_against([1, 2], [2.0, 1.0], "workers", title="Two kinds of task")
    plot_seconds_against([1, 2], [2.0, 1.9], "workers", ax=ax, label="sleeping")
    assert ax.get_title() == "Two kinds of task" and len(ax.lines) == 2


def test_spans_get_one_lane_each_and_marks_get_a_dashed_line():
    spans = [Span(0, 10.0, 10.5), Span(2, 10.2, 11.0), Span(0, 11.0, 11.5)]
    ax = plot_spans(spans, marks={"set()": 10.5})
    bars = ax.patches
    assert [round(bar.get_x(), 3) for bar in bars] == [0.0, 0.2, 1.0]
    assert [round(bar.get_y() + bar.get_height() / 2) for bar in bars] == [0, 2, 0]
    assert matplotlib.colors.to_hex(bars[1].get_facecolor()) == colour_of(2)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["process 0", "process 2", "set()"]
    assert round(ax.lines[0].get_xdata()[0], 6) == 0.5
    assert "no spans" in plot_spans([]).get_title()
