"""The checks of notebook 12 accept a right answer, say "not answered yet" to the untouched
placeholder, and turn wrong answers away with a hint that names the part that is wrong."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from procsync_teach.course.exercises import gil
from procsync_teach.course.exercises.gil import fake_download
from tests.helpers import assert_hint, stub

pytestmark = pytest.mark.timeout(60)


# -- exercise 1: the right tool for each job -----------------------------------------------

RIGHT = {"a": "processes", "b": "threads", "c": "asyncio", "d": "processes"}


def test_tools_accepts_the_right_choices():
    verdict = gil.check_tools(RIGHT)
    assert verdict, verdict.text


def test_tools_placeholder_is_not_answered_and_gives_no_hint():
    verdict = gil.check_tools(dict.fromkeys(RIGHT, ...))
    assert verdict == gil.not_answered()
    assert "Hint" not in verdict.text


def test_tools_names_the_job_that_is_wrong():
    verdict = gil.check_tools({**RIGHT, "a": "threads"})
    assert_hint(verdict, "job a is not right yet", "GIL")
    assert "processes" not in verdict.text  # the hint says what the job is like, not the tool
    assert_hint(gil.check_tools({**RIGHT, "c": "coroutines"}), "job c: pick one of")


# -- exercise 2: fetch_all in threads ------------------------------------------------------


def threaded_fetch_all(urls):
    with ThreadPoolExecutor(max_workers=len(urls)) as threads:
        return list(threads.map(fake_download, urls))


def hand_made_threads(urls):
    results = [None] * len(urls)

    def fetch(index):
        results[index] = fake_download(urls[index])

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def one_after_the_other(urls):
    return [fake_download(url) for url in urls]


def unordered(urls):
    return sorted(threaded_fetch_all(urls), reverse=True)[:-1]


@pytest.mark.parametrize("answer", [threaded_fetch_all, hand_made_threads])
def test_fetch_all_accepts_threads(answer):
    verdict = gil.check_fetch_all(answer)
    assert verdict, verdict.text


def test_fetch_all_placeholder_is_not_answered():
    assert gil.check_fetch_all(stub) == gil.not_answered()


def test_fetch_all_one_after_the_other_is_told_to_start_them_together():
    assert_hint(gil.check_fetch_all(one_after_the_other), "one after the other",
                "at most 1 download")


def test_fetch_all_wrong_results_are_shown():
    assert_hint(gil.check_fetch_all(unordered), "in the order of the urls")
    assert_hint(gil.check_fetch_all(lambda urls: 1 / 0), "ZeroDivisionError")
