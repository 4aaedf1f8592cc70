"""The checks of notebook 02 accept a right answer and turn wrong ones away with a hint.

The answers are written here the way a learner would write them in the notebook; they
reach the check's processes by value, so these tests pass under every start method.
"""

from __future__ import annotations

import pytest

from procsync_teach import Lock
from procsync_teach.course.exercises import locks
from tests.helpers import assert_hint, stub

pytestmark = pytest.mark.timeout(120)


# -- exercise 1: safe_increment --------------------------------------------------------


def locked_increment(counter, lock, n):
    for _ in range(n):
        with lock:
            counter.value = counter.value + 1


def unlocked_increment(counter, lock, n):
    for _ in range(n):
        counter.value = counter.value + 1


def own_lock_increment(counter, lock, n):
    mine = Lock()  # a lock of its own: keeps out nobody else
    for _ in range(n):
        with mine:
            counter.value += 1


def lock_around_the_write_only(counter, lock, n):
    for _ in range(n):
        value = counter.value
        with lock:
            counter.value = value + 1


def never_released(counter, lock, n):
    for _ in range(n):
        lock.acquire()
        counter.value += 1


def adds_two(counter, lock, n):
    for _ in range(n):
        with lock:
            counter.value += 2


def raises(counter, lock, n):
    raise KeyError("oops")


def test_safe_increment_accepts_the_lock_held_from_read_to_write():
    verdict = locks.check_safe_increment(locked_increment)
    assert verdict, verdict.text
    assert verdict.text.startswith("✅ Correct!")


def test_safe_increment_stub_is_not_answered():
    assert locks.check_safe_increment(stub) == locks.not_answered()
    assert locks.check_safe_increment(...) == locks.not_answered()


@pytest.mark.parametrize(
    "wrong", [unlocked_increment, own_lock_increment, lock_around_the_write_only]
)
def test_safe_increment_rejects_lost_updates(wrong):
    assert_hint(locks.check_safe_increment(wrong), "updates were lost", "with lock:")


@pytest.fixture
def impatient(monkeypatch):
    """Call a process stuck sooner than learners' checks do, to keep these tests quick."""
    monkeypatch.setattr(locks, "STUCK_AFTER", 1.0)


def test_safe_increment_rejects_a_lock_never_released(impatient):
    assert_hint(locks.check_safe_increment(never_released), "still waiting")


def test_safe_increment_rejects_too_many_and_errors():
    assert_hint(locks.check_safe_increment(adds_two), "more than")
    assert_hint(locks.check_safe_increment(raises), "KeyError: 'oops'")


# -- exercise 2: transfer ----------------------------------------------------------------


def ordered_transfer(locks, source, target):
    first, second = sorted([source, target])
    with locks[first]:
        with locks[second]:
            pass


def source_first_transfer(locks, source, target):
    with locks[source]:
        with locks[target]:
            pass


def one_at_a_time_transfer(locks, source, target):
    with locks[source]:
        pass
    with locks[target]:
        pass


def test_transfer_accepts_one_agreed_order():
    verdict = locks.check_transfer(ordered_transfer)
    assert verdict, verdict.text


def test_transfer_stub_is_not_answered():
    assert locks.check_transfer(stub) == locks.not_answered()


def test_transfer_rejects_a_deadlock(impatient):
    assert_hint(locks.check_transfer(source_first_transfer), "deadlock", "same order")


def test_transfer_rejects_locks_not_held_together():
    assert_hint(locks.check_transfer(one_at_a_time_transfer), "never held both")


# -- the notebook's PretendLock ----------------------------------------------------------


def test_pretend_lock_lets_everyone_in_and_records_each_hold():
    pretend = locks.PretendLock()
    with pretend:
        assert pretend.acquire(block=False)  # a real lock would refuse: it is held
        pretend.release()
    holds = pretend.holds()
    assert len(holds) == 2
    assert all(hold.acquired <= hold.released for hold in holds)
