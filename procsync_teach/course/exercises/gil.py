"""Checks for the exercises of notebook 12, "Threads and the GIL".

* :func:`check_fetch_all` runs the learner's ``fetch_all(urls)`` on :data:`URLS`. Each
  :func:`fake_download` notes when it started and ended, in this process, so the check
  counts how many downloads were waiting at the same moment: it judges what ran together,
  not how fast the machine was.
* :func:`check_tools` reads which tool the learner picks for each of :data:`JOBS`, and
  says which job is not right yet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ...clock import now
from ..spans import Span, most_at_once
from . import Verdict, check_choices, correct, does_nothing, hint, not_answered

URLS = [f"https://example.org/page/{number}" for number in range(8)]
DOWNLOAD_TIME = 0.1  # seconds one fake download waits, like a slow server
AT_ONCE = 4  # the fewest downloads that must be waiting together for "side by side"

_downloads: list[Span] = []  # what fake_download did, while a check runs
_downloads_lock = threading.Lock()  # guards _downloads: the learner's threads append to it


def fake_download(url: str) -> int:
    """Pretend to download ``url``: wait :data:`DOWNLOAD_TIME` seconds, as for a slow
    server, and return the length of the "page" (here: of the url)."""
    start = now()
    time.sleep(DOWNLOAD_TIME)  # waiting for the network: the GIL is free meanwhile
    with _downloads_lock:
        _downloads.append(Span(threading.get_ident(), start, now()))
    return len(url)


def check_fetch_all(fetch_all: Callable[[list[str]], Any]) -> Verdict:
    """Check ``fetch_all(urls)``: it returns ``[fake_download(url) for url in urls]``, in
    order, with the downloads waiting side by side in threads."""
    if does_nothing(fetch_all):
        return not_answered()
    with _downloads_lock:
        _downloads.clear()
    try:
        got = fetch_all(list(URLS))
    except Exception as error:
        return hint(f"your function raised {type(error).__name__}: {error}. Run it once by "
                    "hand to see the line.")
    if got is not None and not isinstance(got, list):
        got = list(got)  # a map object or a generator is fine: look at what it gives
    expected = [len(url) for url in URLS]
    if got != expected:
        return hint(f"fetch_all must return the {len(URLS)} results of fake_download, in "
                    f"the order of the urls: {expected}; it returned {got!r}.")
    with _downloads_lock:
        downloads = list(_downloads)
    if len(downloads) != len(URLS):
        return hint(f"{len(downloads)} downloads ran in this process, not {len(URLS)}: run "
                    "them in threads (processes would download in other processes).")
    together = most_at_once(downloads)
    if together < AT_ONCE:
        return hint(f"the results are right, but at most {together} download(s) waited at "
                    "the same time: they ran one after the other. Start them all in "
                    "threads before waiting for any result.")
    return correct(f"all {len(URLS)} downloads were waiting at the same time in threads, "
                   "and the results came back in order.")


#: The jobs of the first exercise: the tools accepted, and what each job is like.
JOBS = {
    "a": ({"processes"}, "is computation in pure Python: threads would take turns at the GIL"),
    "b": ({"threads"}, "spends its time waiting for servers, through a library that blocks"),
    "c": ({"asyncio"}, "keeps thousands of mostly idle connections, with a library written "
                       "for `await`; a thread each would be thousands of threads"),
    "d": ({"processes"}, "is parsing, pure Python work on the CPU, not waiting"),
}
TOOLS = ("processes", "threads", "asyncio")


def check_tools(answers: Any) -> Verdict:
    """Check ``answers``, a dict from each job's letter to ``"processes"``, ``"threads"``
    or ``"asyncio"``."""
    return check_choices(
        answers, JOBS, TOOLS, "job",
        "pure-Python computation goes to processes, waiting to threads, and thousands of "
        "idle connections to asyncio.",
    )
