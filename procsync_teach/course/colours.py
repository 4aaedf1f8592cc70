"""One colour per worker, the same in every plot, terminal demo and notebook of the course.

Worker 0 is always blue, worker 1 always orange, and so on: a learner who has seen
worker 2 in green on one timeline finds it in green on the next. The colours are Okabe
and Ito's palette (2002), chosen so that readers with red-green colour blindness (about
one man in twelve) still tell them apart; tests/test_plots.py checks that under a
simulation of deuteranopia. Its black is left out: it vanishes in a dark terminal.

Colour is never the only cue: each lane of a plot is also named ("worker 2"), and lines
drawn on one plot also differ by marker (:func:`marker_of`).
"""

from __future__ import annotations

WORKER_COLOURS = (
    "#0072b2",  # blue
    "#e69f00",  # orange
    "#009e73",  # bluish green
    "#d55e00",  # vermillion
    "#cc79a7",  # reddish purple
    "#56b4e9",  # sky blue
    "#f0e442",  # yellow
)

# Told apart in black and white too: circle, square, triangle, diamond, ...
LINE_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def colour_of(index: int) -> str:
    """The colour of worker (or process) number ``index``; after seven, they repeat."""
    return WORKER_COLOURS[index % len(WORKER_COLOURS)]


def marker_of(index: int) -> str:
    """The marker of line number ``index`` on a plot, the second cue beside its colour."""
    return LINE_MARKERS[index % len(LINE_MARKERS)]
