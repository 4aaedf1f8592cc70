"""What serves the course, apart from the library it teaches.

The notebooks' exercise checks (:mod:`.exercises`), the terminal demos (:mod:`.demos`),
the timeline plots (:mod:`.plots`), the notebooks' widgets (:mod:`.widgets`) and the
colours they share (:mod:`.colours`). None of it is needed to use or to read the
library: the core (``procsync_teach/*.py``) never imports from here.
"""
