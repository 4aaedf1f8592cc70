"""Reading a worker's replies in bulk: every message that has arrived, framed as
``Connection.send_bytes`` frames it, none lost when the sender dies mid-message."""

from __future__ import annotations

import socket
import threading
from multiprocessing import get_all_start_methods
from multiprocessing.connection import Pipe, wait

import pytest

try:
    import resource
except ImportError:  # Windows
    resource = None

from procsync_teach import Pool, inbox
from procsync_teach.inbox import READ_SIZE, read_messages

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="POSIX pipes")


@pytest.fixture
def pipe():
    sender, receiver = Pipe(duplex=True)
    yield sender, receiver
    sender.close()
    receiver.close()


def test_every_message_that_has_arrived_comes_out_of_one_read(pipe):
    sender, receiver = pipe
    # Few and small, so that they fit in the smallest buffer (macOS's 8 KiB, of which Linux
    # counts some 700 bytes for each message however small)
    sent = [bytes([n]) * n for n in range(8)]
    for message in sent:
        sender.send_bytes(message)
    assert read_messages(receiver) == (sent, True)


def test_a_message_longer_than_one_read_is_read_whole(pipe):
    sender, receiver = pipe
    small, large = b"first", bytes(range(256)) * (3 * READ_SIZE // 256 + 7)
    # From a thread: more than a pipe holds, so the sender waits for the reader.
    sending = threading.Thread(target=lambda: [sender.send_bytes(small), sender.send_bytes(large)])
    sending.start()
    received = []
    while len(received) < 2 and receiver.poll(30):
        messages, pipe_open = read_messages(receiver)  # whole messages only, every time
        assert pipe_open
        received += messages
    sending.join(30)
    assert received == [small, large]


def test_the_long_length_header_is_understood(pipe):
    # Messages over 2 GiB carry the length -1, then an 8-byte length: build one by hand.
    sender, receiver = pipe
    body = b"a body framed the long way"
    frame = (-1).to_bytes(4, "big", signed=True) + len(body).to_bytes(8, "big") + body
    sender._send(frame)
    sender.send_bytes(b"and a short one")
    assert read_messages(receiver) == ([body, b"and a short one"], True)


def test_messages_before_the_end_are_kept_and_the_end_is_reported(pipe):
    sender, receiver = pipe
    sender.send_bytes(b"last words")
    sender._send((1000).to_bytes(4, "big") + b"cut off")  # the sender died mid-message
    sender.close()
    assert read_messages(receiver) == ([b"last words"], False)


def test_a_closed_pipe_reads_as_no_messages_and_not_open(pipe):
    sender, receiver = pipe
    sender.close()
    assert read_messages(receiver) == ([], False)



# -- waiting on many pipes where wait() takes only 63 (Windows before Python 3.13) -----------


def wait_of_old_windows(things, timeout=None):
    """``multiprocessing.connection.wait`` as Windows has it before Python 3.13: it refuses
    more than 63 handles (WaitForMultipleObjects' limit)."""
    if len(things) > 63:
        raise ValueError(f"need at most 63 handles, got a sequence of length {len(things)}")
    return wait(things, timeout)


@pytest.fixture
def windows_watcher(monkeypatch):
    """A Watcher that takes the path it takes on Windows, with Windows' limit on wait()."""
    monkeypatch.setattr(inbox, "_PIPES_ARE_DESCRIPTORS", False)
    monkeypatch.setattr(inbox, "WAIT_LIMIT", 63)
    monkeypatch.setattr(inbox, "wait", wait_of_old_windows)
    return inbox.Watcher()


@pytest.fixture
def room_for_1024_descriptors():
    """A soft limit of at least 1,024 open files while the test runs: 130 pipes are 260
    descriptors, over the 256 that macOS's shell allows. Its hard limit is far above, and a
    program may raise its own soft limit up to the hard one."""
    if resource is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1024 if hard == resource.RLIM_INFINITY else min(1024, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize("ready_at", [0, 63, 129])
def test_the_windows_watcher_finds_a_ready_pipe_among_130(windows_watcher, ready_at,
                                                          room_for_1024_descriptors):
    pipes = [Pipe(duplex=False) for _ in range(130)]  # a Pool(64): 2 x 64 + 1 and more
    try:
        receivers = [receiver for receiver, _ in pipes]
        pipes[ready_at][1].send_bytes(b"reply")
        assert windows_watcher.wait(receivers) == [receivers[ready_at]]
    finally:
        for receiver, sender in pipes:
            receiver.close()
            sender.close()


def test_a_pool_of_40_works_on_the_windows_watcher(windows_watcher):
    # 40 workers: 40 pipes, 40 sentinels and the wake-up pipe, 81 things to watch.
    with Pool(40, context="fork" if "fork" in get_all_start_methods() else None) as pool:
        assert pool.map(abs, range(-100, 0), chunksize=1) == list(range(100, 0, -1))
