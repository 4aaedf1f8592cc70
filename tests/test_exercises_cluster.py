"""The checks of notebook 13 accept a right answer and give a hint for wrong ones."""

from __future__ import annotations

import distributed
import pytest

from procsync_teach.course.exercises.cluster import (
    check_dask_translation,
    check_task_size,
    smallest_task_for,
)
from tests.helpers import square

pytestmark = pytest.mark.timeout(60)

OVERHEAD = 0.002  # seconds per task: about what a LocalCluster costs


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster:
        with distributed.Client(cluster, set_as_default=False) as connected:
            yield connected


def test_the_smallest_task_is_nine_times_the_overhead():
    assert smallest_task_for(0.002) == pytest.approx(0.018)
    share = 0.002 / (smallest_task_for(0.002) + 0.002)
    assert share == pytest.approx(0.10)


def test_task_size_accepts_nine_times_the_overhead():
    assert check_task_size(9 * OVERHEAD, OVERHEAD)


@pytest.mark.parametrize(
    "answer, words",
    [
        (10 * OVERHEAD, "task *plus* the overhead"),
        (5 * OVERHEAD, "more than a tenth"),
        (20 * OVERHEAD, "less than a tenth"),
        (18.0, "units"),  # milliseconds, not seconds
        (0.1 * OVERHEAD, "units"),
        (0, "above 0"),
        ("18 ms", "above 0"),
    ],
)
def test_task_size_hints(answer, words):
    verdict = check_task_size(answer, OVERHEAD)
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text


def test_task_size_untouched_is_not_answered_yet():
    verdict = check_task_size(..., OVERHEAD)
    assert not verdict and "Not answered yet" in verdict.text and "Hint" not in verdict.text


def on_cluster(client, numbers):
    return client.gather(client.map(square, numbers))


def test_translation_accepts_map_and_gather(client):
    verdict = check_dask_translation(on_cluster, client, square)
    assert verdict and "client.gather" in verdict.text


def test_translation_accepts_submit_and_gather(client):
    def submitted(client, numbers):
        return client.gather([client.submit(square, n) for n in numbers])

    assert check_dask_translation(submitted, client, square)


def stub(client, numbers): ...


def forgets_return(client, numbers):
    client.gather(client.map(square, numbers))


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda client, numbers: client.map(square, numbers), "futures"),
        (lambda client, numbers: [square(n) for n in numbers], "computed here"),
        (lambda client, numbers: client.gather(client.map(square, numbers[:3])), "12 squares"),
        (lambda client, numbers: 1 / 0, "raised ZeroDivisionError"),
        (forgets_return, "returned None"),
        (42, "pass your function itself"),
    ],
)
def test_translation_hints(client, answer, words):
    verdict = check_dask_translation(answer, client, square)
    assert not verdict
    assert "Hint:" in verdict.text and words in verdict.text



@pytest.mark.parametrize("answer", [stub, ...])
def test_translation_untouched_is_not_answered_yet(client, answer):
    verdict = check_dask_translation(answer, client, square)
    assert not verdict and "Not answered yet" in verdict.text and "Hint" not in verdict.text


def test_tasks_sent_through_another_client_do_not_count(client):
    # The notebook's own client (a global) is not the one the check hands over: squares
    # computed there, or half of them here, are not the exercise.
    def half_here(given, numbers):
        return [*client.gather(client.map(square, numbers[:6])), *map(square, numbers[6:])]

    verdict = check_dask_translation(half_here, client, square)
    assert not verdict and "sent 0 task(s) for 12 numbers" in verdict.text
