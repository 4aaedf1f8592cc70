"""What serves the course, apart from the library it teaches.

The notebooks' exercise checks (:mod:`.exercises`), the terminal demos (:mod:`.demos`),
the timeline plots and projector mode (:mod:`.plots`), the notebooks' widgets
(:mod:`.widgets`), the colours they share (:mod:`.colours`), and the runner that the
checks and demos start their processes with, killing any that get stuck
(:mod:`.running`). None of it is needed to use or to read the
library: the core (``procsync_teach/*.py``) never imports from here.
"""
