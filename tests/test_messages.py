"""How jobs and replies become bytes: the fast standard pickle for plain data, cloudpickle
for whatever a worker could not look up by name; and a pool's FunctionPickles, which
decides between by reference and by value (procsync_teach.pickling)."""

from __future__ import annotations

import pickle
import sys
import threading

import pytest

from procsync_teach.messages import (
    InitializerFailed,
    Job,
    Reply,
    dumps,
    pack_jobs,
    pack_reply,
    unpack_jobs,
    unpack_reply,
)
from procsync_teach.pickling import FunctionPickles
from tests.helpers import CountCalls


@pytest.mark.parametrize("make", [lambda: [1, 2.5, "three"], lambda: {"a": (1, None)},
                                  lambda: b"bytes", lambda: ValueError("x")])
def test_plain_data_is_pickled_by_the_standard_pickle(make):
    # A fresh copy for each: once distributed is imported, tblib's reducer for exceptions
    # adds to an exception the first time it is pickled, so a second pickling differs.
    assert dumps(make()) == pickle.dumps(make(), pickle.HIGHEST_PROTOCOL)


def test_a_lambda_travels_by_value():
    offset = 5
    assert pickle.loads(dumps(lambda x: x + offset))(1) == 6


def in_main(monkeypatch, function, name):
    """Make ``function`` a function of ``__main__`` called ``name``, as a notebook's is."""
    function.__module__, function.__qualname__ = "__main__", name
    monkeypatch.setattr(sys.modules["__main__"], name, function, raising=False)
    return function


def tenfold(x):
    return 10 * x


@pytest.mark.parametrize("start_method", ["fork", "spawn", "forkserver"])
def test_a_function_of_main_goes_by_name_only_where_the_workers_have_it(
        monkeypatch, start_method):
    """Under fork, what existed when the pool started goes by name, as multiprocessing
    sends it; what came after, by value. pytest's __main__ has no top-level ``def``s
    that a worker started by spawn or forkserver would import: by value there."""
    before = FunctionPickles(start_method)  # a pool that started before tenfold existed
    function = in_main(monkeypatch, tenfold, "tenfold")
    after = FunctionPickles(start_method)
    by_name = pickle.dumps(function, pickle.HIGHEST_PROTOCOL)
    assert (after.function(function) == by_name) == (start_method == "fork")
    assert before.function(function) != by_name
    monkeypatch.delattr(sys.modules["__main__"], "tenfold")  # as in a worker that lacks it
    assert pickle.loads(before.function(function))(4) == 40


def test_a_function_of_main_rebound_since_the_pool_started_goes_by_value(monkeypatch):
    """The workers would still have the old ``tenfold``: the new one goes by value."""
    in_main(monkeypatch, tenfold, "tenfold")
    pickles = FunctionPickles("fork")
    by_name = pickle.dumps(tenfold, pickle.HIGHEST_PROTOCOL)
    assert pickles.function(tenfold) == by_name
    redefined = in_main(monkeypatch, lambda x: 100 * x, "tenfold")
    assert pickles.function(redefined) != by_name
    monkeypatch.delattr(sys.modules["__main__"], "tenfold")
    assert call(pickles.function(redefined), 2) == 200


def test_what_cannot_be_pickled_at_all_raises():
    with pytest.raises(TypeError, match="lock"):
        dumps(threading.Lock())


def test_jobs_and_replies_come_back_as_they_went():
    jobs = [Job(1, b"function", "map", dumps([1, 2])), Job(2, None, "apply", dumps(((3,), {})))]
    assert unpack_jobs(pack_jobs(jobs)) == jobs
    reply = Reply(True, [1, 4], 1.5, 2.5)
    assert unpack_reply(pack_reply(reply)) == reply
    failed = InitializerFailed(ConnectionError("no database"), "Traceback ...")
    came_back = unpack_reply(dumps(failed))
    assert isinstance(came_back, InitializerFailed) and came_back.traceback_text == "Traceback ..."


SCALE = 2  # a global that a function pickled by value uses


def scaler():
    """A function that pickle cannot send by name: cloudpickle sends it with SCALE."""

    def scale(x):
        return SCALE * x

    return scale


def call(pickled_function, *args):
    return pickle.loads(pickled_function)(*args)


def test_a_pool_pickles_a_function_once_until_a_global_it_uses_changes(monkeypatch):
    pickles, scale = FunctionPickles("spawn"), scaler()
    first = pickles.function(scale)
    assert pickles.function(scale) is first  # the same bytes: not pickled again
    assert call(first, 5) == 10
    monkeypatch.setattr(sys.modules[__name__], "SCALE", 3)
    assert call(pickles.function(scale), 5) == 15


def test_a_closure_is_pickled_again_when_its_cell_changes():
    """The cache must look at closure cells too, not only at the globals."""
    n = 10

    def add(x):
        return x + n

    pickles = FunctionPickles("spawn")
    assert call(pickles.function(add), 1) == 11
    n = 100
    assert call(pickles.function(add), 10) == add(10) == 110


def test_a_callable_object_is_pickled_at_every_call():
    """Its state may change between calls: the pool sends it as it is now."""
    pickles, counter = FunctionPickles("spawn"), CountCalls()
    assert call(pickles.function(counter)) == 1
    counter.calls = 41
    assert call(pickles.function(counter)) == 42


def test_what_can_go_neither_by_name_nor_by_value_raises_and_says_why(monkeypatch):
    lock = threading.Lock()

    def locked(x):
        with lock:
            return x

    in_main(monkeypatch, locked, "locked")
    with pytest.raises(pickle.PicklingError) as raised:
        FunctionPickles("spawn").function(locked)
    message = str(raised.value)
    assert message.startswith("cannot send locked to the pool's workers. By reference: ")
    assert "By value: TypeError: cannot pickle '_thread.lock' object" in message
    assert "Fix: create that object inside the function" in message
