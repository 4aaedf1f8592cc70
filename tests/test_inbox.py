"""Reading a worker's replies in bulk: every message that has arrived, framed as
``Connection.send_bytes`` frames it, none lost when the sender dies mid-message."""

from __future__ import annotations

import socket
from multiprocessing.connection import Pipe

import pytest

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
    sent = [bytes([n]) * n for n in range(200)]
    for message in sent:
        sender.send_bytes(message)
    assert read_messages(receiver) == (sent, True)


def test_a_message_longer_than_one_read_is_read_whole(pipe):
    sender, receiver = pipe
    small, large = b"first", bytes(range(256)) * (3 * READ_SIZE // 256 + 7)
    sender.send_bytes(small)
    sender.send_bytes(large)
    assert read_messages(receiver) == ([small, large], True)


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

