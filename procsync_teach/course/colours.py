"""One colour per worker, the same in every plot and every notebook of the course.

Worker 0 is always blue, worker 1 always orange, and so on: a learner who has seen
worker 2 in green on one timeline finds it in green on the next. These are
matplotlib's "tab10" colours, chosen to be told apart, also by most colour-blind
readers.
"""

from __future__ import annotations

WORKER_COLOURS = (
    "#1f77b4",  # blue
    "#ff7f0e",  # orange
    "#2ca02c",  # green
    "#d62728",  # red
    "#9467bd",  # purple
    "#8c564b",  # brown
    "#e377c2",  # pink
    "#7f7f7f",  # grey
    "#bcbd22",  # olive
    "#17becf",  # cyan
)


def colour_of(index: int) -> str:
    """The colour of worker (or process) number ``index``; after ten, they repeat."""
    return WORKER_COLOURS[index % len(WORKER_COLOURS)]
