"""Functions defined in ``__main__`` (a notebook, a script) behave in the workers as in
the standard library's pool wherever that pool works, and by one rule where it cannot
(procsync_teach.pickling's header):

* by reference where the worker has that very object: a script's classes and Enums keep
  their identity, a large global is shared copy-on-write under fork, a deleted name is
  gone, as in the standard library;
* by value elsewhere, with the program's globals as they were at the call: every task of
  one call gets the same answer, closures and redefined helpers included, and what a
  worker assigned itself (an initializer's ``global``) wins;
* a function and its globals are pickled once per pool and version, whether it is the
  task or an argument, and a worker unpickles a large global once;
* where neither way can work, the call raises and says why and what to do.

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


def test_a_rebound_global_and_a_redefined_function_are_seen_as_at_the_call(start_method):
    """A variable rebound and a function redefined after the pool started: the next call
    sees both as they are now (a notebook cell run again)."""
    assert run_main(REDEFINED, start_method, as_file=False) == [
        "(1, 'first')", "(2, 'second')"
    ]


# -- by reference, as in the standard library -----------------------------------------------

IDENTITY = BOTH_POOLS + """
import enum


class Fruit(enum.Enum):
    APPLE = 1
    PEAR = 2


PRICE = {Fruit.APPLE: 3, Fruit.PEAR: 5}


def price(fruit):
    return PRICE[fruit]


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


ORIGIN = Point(0, 0)


def get_origin():
    return ORIGIN


def run(make_pool):
    with make_pool(2) as pool:
        prices = pool.map(price, [Fruit.APPLE, Fruit.PEAR])
        return prices, isinstance(pool.apply(get_origin), Point), pool.apply(Fruit, (2,))


if __name__ == "__main__":
    print("stdlib:", run(theirs))
    print("ours:", run(ours))
"""


def test_a_scripts_classes_and_enums_keep_their_identity(start_method):
    """An Enum member is a dict key in the worker, a result is an instance of the class
    here: the class travels by name, so it is the same class, as in the standard library."""
    assert run_main(IDENTITY, start_method, as_file=True) == [
        "stdlib: ([3, 5], True, <Fruit.PEAR: 2>)", "ours: ([3, 5], True, <Fruit.PEAR: 2>)"
    ]


GUARDED = BOTH_POOLS + """
LIMIT = 1


def over(x):
    return x > LIMIT


if __name__ == "__main__":
    LIMIT = 5  # only the program sees this: a spawned worker skips this block
    OFFSET = 3

    def shifted(x):
        return x + OFFSET

    with ours(2) as pool:
        print(pool.map(over, [1, 4, 6]), pool.apply(shifted, (1,)))
"""


def test_a_script_function_that_reads_what_the_main_guard_set_goes_by_value(start_method):
    """A worker started by spawn or forkserver imports the script without running its
    ``__main__`` block: its LIMIT would be 1, and it has no ``shifted`` at all. Such
    functions go by value, and see the program's values (the standard library's spawned
    workers answer ``[False, True, True]`` and cannot find ``shifted``)."""
    assert run_main(GUARDED, start_method, as_file=True) == ["[False, False, True] 4"]


DELETED = """
import procsync_teach

pool = procsync_teach.Pool(2, context=METHOD)


def total(numbers):
    return sum(numbers)


sum = 0  # by mistake
try:
    pool.apply(total, ([1, 2],))
except TypeError as error:
    print(error)
del sum
print(pool.apply(total, ([1, 2],)), pool.map(total, [[1], [2, 3]] * 2, chunksize=1))
pool.terminate()
"""


def test_a_deleted_global_is_gone_in_the_workers_too(start_method):
    """``del sum`` brings back the builtin, in the workers as here."""
    assert run_main(DELETED, start_method, as_file=False) == [
        "'int' object is not callable", "3 [1, 5, 1, 5]"
    ]


# -- by value: every task of one call sees that call's globals ------------------------------

ONE_CALL_ONE_ANSWER = """
import functools

import procsync_teach

pool = procsync_teach.Pool(2, context=METHOD)
X = 1


def get_x(_):
    return X


helper = lambda: 1  # noqa: E731


def call_helper(_):
    return helper()


def times(factor):  # a decorator without functools.wraps
    def decorate(function):
        def wrapper(x):
            return factor * function(x)
        return wrapper
    return decorate


@times(1)
def base(x):
    return x


def call_base(_):
    return base(1)


@functools.lru_cache
def power(x):
    return x * x


def answers():
    return [pool.map(function, range(6), chunksize=1)
            for function in (get_x, call_helper, call_base, power)]


print(answers())
X = 10
helper = lambda: 100  # noqa: E731


@times(100)
def base(x):
    return x


@functools.cache
def power(x):
    return x * x * x


print(answers())
pool.terminate()
"""


def test_every_task_of_one_call_sees_the_globals_of_that_call(start_method):
    """A global rebound, a lambda helper redefined, a helper wrapped by a decorator without
    ``functools.wraps`` redefined, an ``lru_cache`` helper redefined, all between two
    maps: each map's six tasks, on two workers, give one answer, the notebook's."""
    assert run_main(ONE_CALL_ONE_ANSWER, start_method, as_file=False) == [
        str([[1] * 6, [1] * 6, [1] * 6, [0, 1, 4, 9, 16, 25]]),
        str([[10] * 6, [100] * 6, [100] * 6, [0, 1, 8, 27, 64, 125]]),
    ]


CLOSURE = """
import procsync_teach


def make_adder():
    amount = 1

    def add(x):
        return x + amount

    def set_amount(value):
        nonlocal amount
        amount = value

    return add, set_amount


add, set_amount = make_adder()
with procsync_teach.Pool(2, context=METHOD) as pool:
    print(pool.apply(add, (10,)), add(10))
    set_amount(100)
    print(pool.apply(add, (10,)), add(10), pool.map(add, range(4), chunksize=1))
"""


def test_a_closure_is_sent_as_it_is_at_the_call(start_method):
    assert run_main(CLOSURE, start_method, as_file=False) == [
        "11 11", "110 110 [100, 101, 102, 103]"
    ]


PLACEHOLDER = """
import procsync_teach

conn = None  # a placeholder: each worker connects in the initializer


def connect(name):
    global conn
    conn = f"connection {name}"


pool = procsync_teach.Pool(2, initializer=connect, initargs=("db",), context=METHOD)


def query(i):
    return conn, i


print(pool.map(query, range(2)))
conn = "the notebook's own"
print(pool.map(query, range(2)))
pool.terminate()
"""


def test_what_the_worker_assigned_itself_wins_over_the_notebooks_placeholder(start_method):
    """The initializer's ``global conn`` is the worker's own: the notebook's ``conn``,
    a placeholder, rebound or not, does not replace it."""
    assert run_main(PLACEHOLDER, start_method, as_file=False) == [
        "[('connection db', 0), ('connection db', 1)]",
    ] * 2


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


def test_what_can_go_neither_by_name_nor_by_value_fails_clearly_at_the_call(start_method):
    """With no file (a notebook), a worker started by spawn or forkserver cannot find
    these functions by name, and no pickler can copy a thread lock or a queue: the call
    raises PicklingError at once, naming the function, why each way failed and the fix
    (the standard library's pool hangs). Under fork the workers inherited them."""
    script = UNPICKLABLE_GLOBALS + """
import pickle

for function in (uses_lock, uses_queue, Guarded().double, take_lock):
    try:
        with ours(1, initializer=take_lock if function is take_lock else None) as pool:
            print(pool.apply(function, (3,)) if function is not take_lock else "ready")
    except pickle.PicklingError as error:
        print(error)
"""
    lines = run_main(script, start_method, as_file=False)
    if start_method == "fork":
        assert lines == ["3", "3", "6", "ready"]
        return
    lock_error = "TypeError: cannot pickle '_thread.lock' object"
    reasons = [lock_error, "RuntimeError: Queue objects", lock_error, lock_error]
    assert len(lines) == 4, lines
    for line, name, reason in zip(lines, ["uses_lock", "uses_queue", "Guarded.double",
                                          "take_lock"],
                                  reasons, strict=True):
        assert line.startswith(f"cannot send {name} to the pool's workers. By reference: "
                               f"a worker started by {start_method} imports your main "
                               "script again, and a notebook"), line
        assert "By value: " + reason in line, line
        assert "Fix: create that object inside the function" in line, line


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


def call(function_and_argument):
    function, argument = function_and_argument
    return function(argument)


def unpickled_here(_=None):
    return unpickled


def run(make_pool):
    with make_pool(1) as pool:
        results = [pool.apply_async(uses_big, (i,)) for i in range(20)]
        assert [result.get(30) for result in results] == [1_000_000 + i for i in range(20)]
        passed = pool.map(call, [(uses_big, i) for i in range(20)], chunksize=1)
        assert passed == [1_000_000 + i for i in range(20)]
        return pickled, pool.apply(unpickled_here)


if __name__ == "__main__":
    if METHOD == "fork" or AS_FILE:
        print("stdlib:", run(theirs))
    print("ours:", run(ours))
    def uses_big(i):  # redefined, as in a new notebook cell: the new version is sent
        return -i
    with ours(1) as pool:
        print("redefined:", pool.apply(uses_big, (5,)), pool.map(call, [(uses_big, 5)]))
"""


@pytest.mark.parametrize("as_file", [True, False], ids=["script", "notebook"])
def test_a_large_global_is_pickled_once_at_most_task_or_argument(start_method, as_file):
    """20 ``apply_async`` calls of a function that uses a large global, then a map of 20
    chunks that pass it as an argument. Where the workers have it (a script, or anything
    under fork), nothing is pickled, as in the standard library: a forked worker shares
    the global copy-on-write. A notebook's, under spawn or forkserver, is pickled once
    and unpickled once by the worker."""
    source = f"AS_FILE = {as_file}\n{LARGE_GLOBAL}"
    lines = run_main(source, start_method, as_file=as_file)
    if start_method == "fork" or as_file:
        expected = ["stdlib: (0, 0)", "ours: (0, 0)"]
    else:
        expected = ["ours: (1, 1)"]
    assert lines == expected + ["redefined: -5 [-5]"]


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
