"""SpanLog gathers spans from every process; most_at_once counts overlaps correctly."""

from __future__ import annotations

import time

import pytest

from procsync_teach import Process
from procsync_teach.course.spans import Span, SpanLog, most_at_once

pytestmark = pytest.mark.timeout(60)


def busy(log, who):
    with log.span(who):
        time.sleep(0.01)


def test_spans_from_child_processes_come_back_to_the_creator():
    log = SpanLog()
    children = [Process(target=busy, args=(log, who)) for who in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=30)
    spans = log.spans()
    assert sorted(span.who for span in spans) == [0, 1, 2]
    assert all(span.start < span.end for span in spans)
    assert [span.start for span in spans] == sorted(span.start for span in spans)


def test_a_span_is_recorded_even_when_the_block_raises():
    log = SpanLog()
    with pytest.raises(KeyError):
        with log.span(5):
            raise KeyError("x")
    assert [span.who for span in log.spans()] == [5]


@pytest.mark.parametrize(
    "intervals, expected",
    [
        ([], 0),
        ([(0, 1)], 1),
        ([(0, 1), (1, 2)], 1),  # one ends as the next starts: never together
        ([(0, 2), (1, 3), (1.5, 1.6)], 3),
        ([(0, 1), (0.5, 2), (1.5, 3)], 2),
    ],
)
def test_most_at_once(intervals, expected):
    assert most_at_once([Span(0, start, end) for start, end in intervals]) == expected
