"""Functions defined in ``__main__`` (a notebook, a script) behave in the workers as in
the standard library's pool, and also where that pool cannot find them.

* They share one namespace in a worker, its ``__main__``: what an initializer stores
  with ``global``, a task reads; a worker keeps its variables, and takes a function
  redefined in the notebook in its new version.
* What cannot be pickled by value (it uses a thread lock, a queue) goes by name, as the
  standard library sends it: it works under fork, and fails clearly where the worker
  cannot find it.
* A function is pickled once, not at every call, however large its globals.
* Each job gets its function afresh: nothing one job does to it carries over.

A function defined in a test module is not in ``__main__``, so the tests that need one
run a script: as a file, whose ``__main__`` a spawned worker imports too (the standard
library works there, and is run next to ours), or as ``python -c``, whose ``__main__``
has no file, like a notebook's (there the standard library's workers cannot find the
functions under spawn or forkserver, and its pool hangs: it is not run).
"""

from __future__ import annotations

import multiprocessing

import pytest

import procsync_teach
from procsync_teach.course.scripts import run_script
from tests.helpers import CountCalls

pytestmark = pytest.mark.timeout(120)

WAIT = 10.0  # the longest a get() waits here: a hang fails, never stalls


def run_main(source: str, start_method: str, as_file: bool) -> list[str]:
    """Run ``source`` as ``__main__`` with ``METHOD`` set to the start method; return the
    lines it printed, after checking that it ended well."""
    run = run_script(f"METHOD = {start_method!r}\n{source}", timeout=60, as_file=as_file)
    assert run.exit_code == 0, run.stdout + run.stderr
    return run.stdout.splitlines()


BOTH_POOLS = """
import multiprocessing
import procsync_teach


def ours(*args, **kwargs):
    return procsync_teach.Pool(*args, context=METHOD, **kwargs)


def theirs(*args, **kwargs):
    return multiprocessing.get_context(METHOD).Pool(*args, **kwargs)
"""

# -- one namespace: the worker's __main__ --------------------------------------------------

# An initializer that sets a global...
INITIALIZER = """
SHARED = None


def init(x):
    global SHARED
    SHARED = x
"""

# ... a task that reads it, and a state that one task sets and the next reads.
TASKS = """

def task(i):
    return SHARED + i


def set_state(x):
    global STATE
    STATE = x


def get_state():
    return STATE
"""

SHARED_GLOBALS = BOTH_POOLS + INITIALIZER + TASKS + """

def run(make_pool):
    with make_pool(2, initializer=init, initargs=(10,)) as pool:
        shared = pool.map(task, range(3))
    with make_pool(1) as pool:
        pool.apply(set_state, (7,))
        return shared, pool.apply(get_state)


if __name__ == "__main__":
    print("stdlib:", run(theirs))
    print("ours:", run(ours))
"""


def test_an_initializer_and_the_tasks_share_the_workers_globals(start_method):
    """The initializer idiom, and a state set by one task and read by the next: both
    pools give the same answers, under every start method."""
    assert run_main(SHARED_GLOBALS, start_method, as_file=True) == [
        "stdlib: ([10, 11, 12], 7)", "ours: ([10, 11, 12], 7)"
    ]


DEFINED_AFTER_THE_POOL = "import procsync_teach\n" + INITIALIZER + """

pool = procsync_teach.Pool(2, initializer=init, initargs=(10,), context=METHOD)
one = procsync_teach.Pool(1, context=METHOD)
""" + TASKS + """

class Tally:
    def __init__(self):
        self.calls = 0

    def __call__(self, _):
        self.calls += 1
        return SHARED + self.calls


print(pool.map(task, range(3)))
print(pool.map(Tally(), range(4), chunksize=2))
one.apply(set_state, (7,))
print(one.apply(get_state))
pool.terminate()
one.terminate()
"""


def test_functions_defined_after_the_pool_started_share_the_globals_too(start_method):
    """A notebook's order: the pool first, the functions in later cells. The standard
    library's workers cannot find these functions at all (under fork they were forked
    before the functions existed). The methods of a class read the globals too, and a
    callable object starts each chunk afresh."""
    assert run_main(DEFINED_AFTER_THE_POOL, start_method, as_file=False) == [
        "[10, 11, 12]", "[11, 12, 11, 12]", "7"
    ]


STARTUP_NAMES = """
import procsync_teach

main, spawn_main = 5, 6  # the names a spawned or forkserver worker's start-up uses


def uses_them(_=None):
    return main + spawn_main


with procsync_teach.Pool(2, context=METHOD) as pool:
    print(pool.apply(uses_them), pool.map(uses_them, range(2)))
"""


def test_a_notebooks_main_is_not_the_workers_start_up_code(start_method):
    """Without a main file, a worker's __main__ is the line that started it, which defines
    ``main`` (forkserver) or ``spawn_main`` (spawn); the notebook's variables win."""
    assert run_main(STARTUP_NAMES, start_method, as_file=False) == ["11 [11, 11]"]


REDEFINED = """
import procsync_teach

pool = procsync_teach.Pool(1, context=METHOD)
offset = 1


def label():
    return "first"


def report(_=None):
    return offset, label()


print(pool.apply(report))
offset = 2


def label():
    return "second"


print(pool.apply(report))
pool.terminate()
"""


def test_a_worker_keeps_its_variables_and_takes_redefined_functions(start_method):
    """The rule for a global a worker already has (see procsync_teach.messages): a
    variable keeps the worker's value, as in the standard library, whose workers keep the
    globals they started with (pass a changing value as an argument); a function defined
    anew replaces the worker's, as a notebook cell run again replaces it."""
    assert run_main(REDEFINED, start_method, as_file=False) == [
        "(1, 'first')", "(1, 'second')"
    ]


# -- what cannot go by value goes by name ----------------------------------------------------

UNPICKLABLE_GLOBALS = BOTH_POOLS + """
import threading

lock = threading.Lock()
queue = multiprocessing.Queue()


def uses_lock(x):
    with lock:
        return x


def uses_queue(x):
    queue.put(x)
    return queue.get(timeout=10)


class Guarded:
    lock = threading.Lock()

    def double(self, x):
        with self.lock:
            return 2 * x


def take_lock():
    with lock:
        pass


def run_initializer(make_pool):
    with make_pool(1, initializer=take_lock) as pool:
        try:
            return pool.apply(abs, (-3,))
        except procsync_teach.PoolError as error:  # ours, where take_lock cannot be found
            return str(error)


def run(make_pool):
    # A new queue for each pool (inherited under fork): the last pool's terminate() may
    # have killed its worker before that worker's queue thread let go of the queue's lock,
    # a multiprocessing lock, which nobody frees then. (Our Lock has no such problem.)
    global queue
    queue = multiprocessing.Queue()
    calls = [(uses_lock, 3), (uses_queue, 4), (Guarded().double, 5)]
    with make_pool(1) as pool:
        outcomes = []
        for function, argument in calls:
            try:
                outcomes.append(pool.apply(function, (argument,)))
            except AttributeError as error:
                outcomes.append(str(error))
        return outcomes
"""


def test_what_cannot_go_by_value_goes_by_name_as_in_the_stdlib(start_method):
    """A module-level lock or queue cannot be pickled by value; by name, a worker finds
    the function (or the initializer) in its own ``__main__``: inherited under fork,
    imported from the file under spawn and forkserver. Both pools give the same answers."""
    script = UNPICKLABLE_GLOBALS + """
if __name__ == "__main__":
    print("stdlib:", run(theirs), run_initializer(theirs))
    print("ours:", run(ours), run_initializer(ours))
"""
    assert run_main(script, start_method, as_file=True) == [
        "stdlib: [3, 4, 10] 3", "ours: [3, 4, 10] 3"
    ]


def test_what_cannot_go_by_value_fails_clearly_where_a_worker_cannot_find_it(start_method):
    """With no file (a notebook), a worker started by spawn or forkserver has no such
    name in its ``__main__``: the task fails with AttributeError (the pool, with
    PoolError, if it is the initializer), as it does in the standard library's worker
    (whose pool then hangs), and the message says why and what to do. Under fork the
    worker inherited the functions."""
    script = UNPICKLABLE_GLOBALS + """
for outcome in run(ours) + [run_initializer(ours)]:
    print(outcome)
"""
    lines = run_main(script, start_method, as_file=False)
    if start_method == "fork":
        assert lines == ["3", "4", "10", "3"]
        return
    lock_error = "TypeError: cannot pickle '_thread.lock' object"
    reasons = [lock_error, "RuntimeError: Queue objects", lock_error, lock_error]
    assert len(lines) == 4, lines
    for line, name, reason in zip(lines, ["uses_lock", "uses_queue", "Guarded", "take_lock"],
                                  reasons, strict=True):
        assert f"Can't get attribute '{name}' on <module '__main__'" in line, line
        assert ": it could not be sent by value (" + reason in line, line
        assert "use the fork start method" in line, line
    broken = "the pool is broken: the pool's initializer raised AttributeError"
    assert lines[3].startswith(broken), lines[3]


# -- pickled once -------------------------------------------------------------------------

LARGE_GLOBAL = BOTH_POOLS + """
pickled = unpickled = 0  # counted in each process


class Large:
    def __init__(self, size):
        self.items = list(range(size))

    def __reduce__(self):
        global pickled
        pickled += 1
        return rebuild, (self.items,)


def rebuild(items):
    global unpickled
    unpickled += 1
    large = Large.__new__(Large)
    large.items = items
    return large


BIG = Large(1_000_000)


def uses_big(i):
    return len(BIG.items) + i


def unpickled_here(_=None):
    return unpickled


def run(make_pool):
    with make_pool(1) as pool:
        results = [pool.apply_async(uses_big, (i,)) for i in range(20)]
        assert [result.get(30) for result in results] == [1_000_000 + i for i in range(20)]
        return pickled, pool.apply(unpickled_here)


if __name__ == "__main__":
    if METHOD == "fork":
        print("stdlib:", run(theirs))
    print("ours:", run(ours))
    def uses_big(i):  # redefined, as in a new notebook cell: the new version is sent
        return -i
    with ours(1) as pool:
        print("redefined:", pool.apply(uses_big, (5,)))
"""


def test_a_large_global_is_pickled_once_not_at_every_call(start_method):
    """20 ``apply_async`` calls of a function that uses a large global pickle it once,
    and the worker unpickles it once; the standard library, which sends the function by
    name, pickles it not at all (under fork, where its worker can find the function)."""
    lines = run_main(LARGE_GLOBAL, start_method, as_file=False)
    expected = ["ours: (1, 1)", "redefined: -5"]
    assert lines == (["stdlib: (0, 0)"] if start_method == "fork" else []) + expected


# -- nothing carries over between jobs ----------------------------------------------------


@pytest.mark.parametrize("implementation", ["multiprocessing", "procsync_teach"])
def test_each_job_gets_its_function_afresh(implementation, start_method):
    """A bound method pops from a fresh copy of its list in every job, and a callable
    object starts every chunk of a map with its calls at zero, in both pools."""
    if implementation == "procsync_teach":
        pool = procsync_teach.Pool(1, context=start_method)
    else:
        pool = multiprocessing.get_context(start_method).Pool(1)
    with pool:
        stack = [3, 2, 1, 0]
        assert [pool.apply_async(stack.pop).get(WAIT) for _ in range(4)] == [0, 0, 0, 0]
        counts = pool.map_async(CountCalls(), range(8), chunksize=2).get(WAIT)
        assert counts == [1, 2] * 4
