"""The course's plots draw what the records say: a bar per job, a lane per worker."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

from procsync_teach.course.colours import WORKER_COLOURS, colour_of  # noqa: E402
from procsync_teach.course.plots import (  # noqa: E402
    plot_lock_holds,
    plot_seconds_against,
    plot_spans,
    plot_speedup,
    plot_task_timeline,
    projector,
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
    # The overlap has a lane of its own, below the processes': it covers none of their bars.
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "two at once"
    (overlap,) = ax.collections
    box = overlap.get_paths()[0].get_extents()
    assert (round(box.x0, 3), round(box.x1, 3), box.y0 > 1.5) == (0.5, 1.0, True)
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


def test_worker_colours_repeat_after_seven():
    assert colour_of(0) == colour_of(7) == WORKER_COLOURS[0]
    assert len(set(WORKER_COLOURS)) == 7


# Machado, Oliveira and Fernandes (2009), deuteranopia at severity 1.0, on linear RGB.
DEUTERANOPIA = ((0.367322, 0.860646, -0.227968),
                (0.280085, 0.672501, 0.047413),
                (-0.011820, 0.042940, 0.968881))


def as_deuteranope_sees_it(hex_colour):
    """The colour, in CIELAB, that a reader without green-sensitive cones perceives."""
    srgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb]
    seen = [min(1.0, max(0.0, sum(m * c for m, c in zip(row, linear, strict=True))))
            for row in DEUTERANOPIA]
    return lab(seen)


def lab(linear_rgb):
    """CIELAB (D65) of a linear-RGB colour: distances there match what eyes tell apart."""
    r, g, b = linear_rgb
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    fx, fy, fz = (t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def test_a_red_green_colour_blind_reader_tells_every_pair_of_worker_colours_apart():
    seen = {colour: as_deuteranope_sees_it(colour) for colour in WORKER_COLOURS}
    # ΔE 15 in CIELAB: two lanes side by side are plainly different (2.3 is just noticeable).
    # matplotlib's tab10, the course's old palette, has four pairs under 8 (orange and olive,
    # green and red): the lanes merged.
    closest = min(math.dist(seen[a], seen[b]) for a, b in itertools.combinations(seen, 2))
    assert closest > 15, closest


def test_the_simulation_merges_red_and_green():
    # The simulation works: pure red and a green of the same lightness look alike to it.
    red, green = as_deuteranope_sees_it("#d62728"), as_deuteranope_sees_it("#2ca02c")
    assert math.dist(red, green) < 10


def test_lines_on_one_plot_differ_by_marker_as_well_as_colour():
    ax = plot_speedup([1, 2], [2.0, 1.0])
    plot_speedup([1, 2], [2.0, 1.9], ax=ax, label="sleeping")
    measured, _, sleeping = ax.lines
    assert measured.get_marker() != sleeping.get_marker()
    assert measured.get_color() != sleeping.get_color()


def test_projector_mode_draws_wide_figures_with_large_text():
    projector(True)
    try:
        ax = plot_task_timeline([record(0, 0, 0, 1), record(1, 1, 0, 2, "error")])
        figure = ax.figure
        figure.canvas.draw()
        assert 1260 <= figure.get_size_inches()[0] * figure.dpi <= 1280  # a 1280-pixel screen
        sizes = [text.get_fontsize() for text in figure.findobj(matplotlib.text.Text)
                 if text.get_text()]
        assert len(sizes) > 8 and min(sizes) >= 18
        assert legend_clear_of_the_axes(ax)
    finally:
        projector(False)
    ax = plot_task_timeline([record(0, 0, 0, 1)])
    assert ax.figure.get_size_inches()[0] == 8 and ax.xaxis.label.get_fontsize() < 18


def legend_clear_of_the_axes(ax):
    renderer = ax.figure.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    return not legend.overlaps(ax.get_window_extent(renderer))


def test_the_environment_variable_turns_projector_mode_on():
    code = ("from procsync_teach.course import plots; import matplotlib;"
            "print(plots.projecting(), matplotlib.rcParams['font.size'])")
    env = {**os.environ, "PROCSYNC_PROJECTOR": "1", "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         encoding="utf-8", timeout=60, check=True).stdout
    assert out.split() == ["True", "18.0"]


def test_a_log_axis_is_ticked_at_the_values_measured():
    ax = plot_seconds_against([1, 10, 100, 1000], [3.0, 0.5, 0.1, 0.2], "chunksize", log_x=True)
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "10", "100", "1000"]


def test_a_speedup_can_be_measured_against_a_plain_loop_and_show_the_cores():
    ax = plot_speedup([1, 2, 3], [4.4, 2.2, 2.2], baseline=4.0, cores=2)
    assert [round(y, 3) for y in ax.lines[0].get_ydata()] == [0.909, 1.818, 1.818]
    assert "cores (2)" in [line.get_label() for line in ax.lines]


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
