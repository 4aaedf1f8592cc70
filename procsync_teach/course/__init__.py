"""What serves the course, apart from the library it teaches.

The notebooks' exercise checks (:mod:`.exercises`), the terminal demos (:mod:`.demos`),
the timeline plots and projector mode (:mod:`.plots`), the notebooks' widgets
(:mod:`.widgets`), the colours they share (:mod:`.colours`), and the runner that the
checks and demos start their processes with, killing any that get stuck
(:mod:`.running`). None of it is needed to use or to read the
library: the core (``procsync_teach/*.py``) never imports from here.

Importing the course gives every capture's HTML view the course's colours: a process's
output is drawn in the colour its plots use.
"""

from ..capture import colour_writers_with
from .colours import colour_of

colour_writers_with(colour_of)
