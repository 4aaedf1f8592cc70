"""Experiment: a first figure at display, a new one on every Run, errors shown."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from procsync_teach.course.widgets import Experiment  # noqa: E402


class FakeDisplay:
    def __init__(self):
        self.shown = []

    def update(self, figure):
        self.shown.append(figure)


def draw(size=1):
    figure, ax = plt.subplots()
    ax.plot(range(size))
    return figure


def test_run_uses_the_controls_values_and_replaces_the_figure():
    experiment = Experiment(draw, size=widgets.IntSlider(value=3, min=1, max=9))
    experiment._figure_display = FakeDisplay()
    experiment.controls["size"].value = 7
    experiment.rerun()
    [figure] = experiment._figure_display.shown
    assert len(figure.axes[0].lines[0].get_xdata()) == 7
    assert experiment.status.value == "done" and not experiment.button.disabled
    assert repr(experiment) == "<Experiment draw(size=7)>"


def test_a_failing_run_says_so_and_leaves_the_button_usable(capsys):
    def broken(size=1):
        raise RuntimeError("the experiment broke")

    experiment = Experiment(broken, size=widgets.IntSlider(value=1))
    experiment._figure_display = FakeDisplay()
    experiment.rerun()
    assert experiment.status.value.startswith("failed: RuntimeError")
    assert "the experiment broke" in capsys.readouterr().err
    assert not experiment.button.disabled
