"""How jobs and replies become bytes: the fast standard pickle for plain data, cloudpickle
for whatever a worker could not look up by name."""

from __future__ import annotations

import pickle
import sys
import threading

import pytest

from procsync_teach.messages import (
    FunctionPickles,
    InitializerFailed,
    Job,
    Reply,
    dumps,
    pack_jobs,
    pack_reply,
    unpack_function,
    unpack_jobs,
    unpack_reply,
)
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


def test_something_named_in_main_travels_by_value(monkeypatch):
    """pickle.dumps succeeds for ``__main__.tenfold``, but a spawned worker has no such name."""

    def tenfold(x):
        return 10 * x

    tenfold.__module__, tenfold.__qualname__ = "__main__", "tenfold"
    monkeypatch.setattr(sys.modules["__main__"], "tenfold", tenfold, raising=False)
    assert b"__main__" in pickle.dumps(tenfold)
    pickled = dumps(tenfold)
    monkeypatch.delattr(sys.modules["__main__"], "tenfold")  # as in a worker that lacks it
    assert pickle.loads(pickled)(4) == 40


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
    return pickle.loads(unpack_function(pickled_function))(*args)


def test_a_pool_pickles_a_function_once_until_a_global_it_uses_changes(monkeypatch):
    pickles, scale = FunctionPickles(), scaler()
    first = pickles.get(scale)
    assert pickles.get(scale) is first  # the same bytes: not pickled again
    assert call(first, 5) == 10
    monkeypatch.setattr(sys.modules[__name__], "SCALE", 3)
    assert call(pickles.get(scale), 5) == 15


def test_a_callable_object_is_pickled_at_every_call():
    """Its state may change between calls: the pool sends it as it is now."""
    pickles, counter = FunctionPickles(), CountCalls()
    assert call(pickles.get(counter)) == 1
    counter.calls = 41
    assert call(pickles.get(counter)) == 42
