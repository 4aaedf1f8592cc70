"""Experiments a learner can re-run with other settings, and watch the plot change.

An :class:`Experiment` is a function that runs something and returns a matplotlib
figure, plus the controls for its arguments (sliders, drop-downs). Displayed in
Jupyter, it shows the controls, a "Run" button and the figure of a first run with
the default settings. Each click re-runs the function with the controls' values
and replaces the figure in place.

The first figure is an ordinary output of the cell, so a notebook executed without
a browser (the tests, a static HTML copy) still shows the default state; only the
re-runs need a live kernel.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display
from matplotlib.figure import Figure


class Experiment:
    """A function that draws a figure, with controls to re-run it.

    Example::

        def run(processes=2, tasks=8):
            ...                  # measure something
            return figure

        Experiment(run, processes=widgets.IntSlider(2, 1, 8), tasks=widgets.IntSlider(8, 1, 32))

    Args:
        run: called with one keyword argument per control; returns a ``Figure``.
        **controls: ipywidgets value widgets, named after ``run``'s parameters.
    """

    def __init__(self, run: Callable[..., Figure], **controls: widgets.ValueWidget):
        self._run = run
        self.controls = controls
        self.button = widgets.Button(description="Run", icon="play", button_style="primary")
        self.status = widgets.Label("")
        self.button.on_click(lambda _: self.rerun())
        self._figure_display = None

    def __repr__(self) -> str:
        settings = ", ".join(f"{name}={control.value!r}" for name, control in self.controls.items())
        return f"<Experiment {self._run.__name__}({settings})>"

    def values(self) -> dict[str, Any]:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def figure(self) -> Figure:
        """Run the experiment with the current values and return its figure (not shown)."""
        figure = self._run(**self.values())
        plt.close(figure)  # it is shown by display(), not again at the end of the cell
        return figure

    def rerun(self) -> None:
        """What the Run button does: run again, replace the figure, say how it went."""
        self.button.disabled = True
        self.status.value = "running…"
        try:
            self._figure_display.update(self.figure())
            self.status.value = "done"
        except Exception as error:  # shown to the learner; the kernel must not swallow it
            self.status.value = f"failed: {error!r}"
            traceback.print_exc()
        finally:
            self.button.disabled = False

    def _ipython_display_(self) -> None:
        display(widgets.VBox([widgets.HBox(list(self.controls.values())),
                              widgets.HBox([self.button, self.status])]))
        self._figure_display = display(self.figure(), display_id=True)
