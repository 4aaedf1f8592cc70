"""Programs sharing one Dask cluster are isolated: what one program's ``cluster.Pool``
sends never changes what another program's tasks see, even with the same global names.

A notebook function goes to a Dask worker by value, with the globals it reads. They live
there in a namespace of the pool's own, never in the worker's shared ``__main__``: plain
``client.submit`` gives each program its own values too.
"""

from __future__ import annotations

import distributed
import pytest

from procsync_teach.course.scripts import run_script

pytestmark = pytest.mark.timeout(180)

PROGRAM = """
from procsync_teach import cluster

SCALE = {scale}


def scaled(x):
    return SCALE * x


def remember(x):
    global LAST
    LAST = x


def last(_=None):
    return LAST


pool = cluster.Pool(address={address!r})
try:
    print(pool.map(scaled, range(4)), pool.apply(scaled, (1,)))
    try:
        print(pool.apply(last))
    except NameError as error:
        print(error)
    pool.map(remember, [{scale}] * 4, chunksize=1)
finally:
    pool.terminate()
    pool.join()
"""


@pytest.fixture(scope="module")
def address():
    """One LocalCluster on loopback, shared by the programs of each test."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as local:
        yield local.scheduler_address


def run_program(scale: int, address: str) -> list[str]:
    run = run_script(PROGRAM.format(scale=scale, address=address), timeout=120, as_file=False)
    assert run.exit_code == 0, run.stdout + run.stderr
    return run.stdout.splitlines()


def test_programs_sharing_a_cluster_each_see_their_own_globals(address):
    """Program B's SCALE is B's, not A's that came first; a global that A's tasks
    assigned on the workers does not exist for B; A run again sees its new SCALE."""
    for scale in (2, 3, 5):
        assert run_program(scale, address) == [
            f"[0, {scale}, {2 * scale}, {3 * scale}] {scale}", "name 'LAST' is not defined"
        ]
