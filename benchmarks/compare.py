"""procsync_teach against multiprocessing, side by side, in one process.

Each workload runs on both implementations, alternating ours and the standard library's,
several times; the table shows the median time of each and the ratio ours/stdlib (below
1 means ours is faster). Workloads are small so that the whole run takes about a minute,
plus half a minute or more per repetition for Dask's side of the cluster map row
(``client.map`` of 10,000 tiny tasks, one Dask task each):

    python benchmarks/compare.py                 # every workload, 5 repetitions
    python benchmarks/compare.py --repeat 9      # steadier medians
    python benchmarks/compare.py --only lock     # the workloads whose name contains "lock"
    python benchmarks/compare.py --start-method spawn   # else the platform's default method

Times are wall-clock on a shared machine: compare ratios, and repeat before trusting one.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

import procsync_teach
from procsync_teach.context import ENVIRONMENT_VARIABLE, start_method

try:
    import fcntl
except ImportError:  # Windows: no flock to compare the Lock with
    fcntl = None


def tiny(x):
    return x * x


def _both_pools(workers: int, method: str | None = None):
    """Both pools, made with ``method``; None: --start-method's, else the platform's default."""
    method = method or start_method()
    return (
        lambda: procsync_teach.Pool(workers, context=method),
        lambda: multiprocessing.get_context(method).Pool(workers),
    )


def nap(seconds):
    time.sleep(seconds)


def map_workload(function: Callable, items: Sequence, chunksize: int | None
                 ) -> tuple[Callable, Callable]:
    """map(function, items) on a pool started beforehand (only the map is timed)."""

    def run(make_pool):
        with make_pool() as pool:
            pool.apply(tiny, (0,))  # every worker up
            start = time.perf_counter()
            pool.map(function, items, chunksize)
            return time.perf_counter() - start

    ours, stdlib = _both_pools(2)
    return (lambda: run(ours)), (lambda: run(stdlib))


def apply_round_trips(count: int) -> tuple[Callable, Callable]:
    """count sequential apply() calls: the latency of one task, there and back."""

    def run(make_pool):
        with make_pool() as pool:
            pool.apply(tiny, (0,))
            start = time.perf_counter()
            for i in range(count):
                pool.apply(tiny, (i,))
            return time.perf_counter() - start

    ours, stdlib = _both_pools(2)
    return (lambda: run(ours)), (lambda: run(stdlib))


def apply_burst(count: int, function: Callable) -> tuple[Callable, Callable]:
    """count apply_async calls at once, then every get(): a burst of small jobs."""

    def run(make_pool):
        with make_pool() as pool:
            pool.apply(function, (0,))
            start = time.perf_counter()
            results = [pool.apply_async(function, (i,)) for i in range(count)]
            for result in results:
                result.get(60)
            return time.perf_counter() - start

    ours, stdlib = _both_pools(2)
    return (lambda: run(ours)), (lambda: run(stdlib))


BIG: list[int] = []  # a large global of __main__, filled by the rows that use it


def uses_big(i):
    return BIG[i]


def call(function_and_argument):
    function, argument = function_and_argument
    return function(argument)


def big_global(count: int, as_argument: bool) -> tuple[Callable, Callable]:
    """A function of __main__ that reads a 1 M-element global, defined before the pool
    starts: ``count`` apply_async calls of it, or one map that passes it as an argument
    (``map(call, [(uses_big, i), ...])``). Both pools send it by name under fork."""

    def run(make_pool):
        BIG[:] = range(1_000_000)
        with make_pool() as pool:
            pool.apply(tiny, (0,))
            start = time.perf_counter()
            if as_argument:
                pool.map(call, [(uses_big, i) for i in range(count)])
            else:
                for result in [pool.apply_async(uses_big, (i,)) for i in range(count)]:
                    result.get(60)
            elapsed = time.perf_counter() - start
        BIG.clear()
        return elapsed

    ours, stdlib = _both_pools(2, "fork")
    return (lambda: run(ours)), (lambda: run(stdlib))


def worker_peak_mb(_=None) -> float:
    """In a worker: the most memory (resident) it has used so far, in MB."""
    import resource  # POSIX only, as fork is: the row that uses it needs fork

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def uses_large(_):
    return len(BIG)


def large_global_memory() -> tuple[Callable, Callable]:
    """Under fork, a worker's peak memory after tasks that read a 200 MB global: it shares
    the parent's copy unless the global is sent again. Returns MB, not seconds."""

    def run(make_pool):
        BIG[:] = [b"x" * 200 * 2**20]  # one 200 MB object, touched
        with make_pool() as pool:
            pool.map(uses_large, range(8), chunksize=1)
            peak = max(pool.map(worker_peak_mb, range(4), chunksize=1))
        BIG.clear()
        return peak

    ours, stdlib = _both_pools(2, "fork")
    return (lambda: run(ours)), (lambda: run(stdlib))


def pool_lifetime(method: str) -> tuple[Callable, Callable]:
    """Pool(2) start, one apply, close, join."""

    def run(make_pool):
        start = time.perf_counter()
        pool = make_pool()
        pool.apply(tiny, (1,))
        pool.close()
        pool.join()
        return time.perf_counter() - start

    ours, stdlib = _both_pools(2, method)
    return (lambda: run(ours)), (lambda: run(stdlib))


def lock_uncontended(count: int) -> tuple[Callable, Callable, Callable]:
    """count acquire+release pairs in one process; also the bare flock primitive."""

    def run(lock):
        start = time.perf_counter()
        for _ in range(count):
            lock.acquire()
            lock.release()
        return time.perf_counter() - start

    def raw_flock():
        with tempfile.NamedTemporaryFile() as file:
            fd = file.fileno()
            start = time.perf_counter()
            for _ in range(count):
                fcntl.flock(fd, fcntl.LOCK_EX)
                fcntl.flock(fd, fcntl.LOCK_UN)
            return time.perf_counter() - start

    locks = (lambda: run(procsync_teach.Lock())), (lambda: run(multiprocessing.Lock()))
    return locks if fcntl is None else (*locks, raw_flock)


def _increment(lock, counter, times):
    for _ in range(times):
        with lock:
            counter.value += 1


def lock_contended(times: int) -> tuple[Callable, Callable]:
    """Two processes, each doing ``times`` locked increments of a shared counter."""

    def run(lock):
        counter = multiprocessing.Value("i", 0, lock=False)
        processes = [multiprocessing.get_context(start_method()).Process(
            target=_increment, args=(lock, counter, times)) for _ in range(2)]
        start = time.perf_counter()
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        elapsed = time.perf_counter() - start
        if counter.value != 2 * times:
            raise AssertionError(f"lost updates: {counter.value} != {2 * times}")
        return elapsed

    return (lambda: run(procsync_teach.Lock())), (lambda: run(multiprocessing.Lock()))


@functools.cache
def _dask_client():
    """One LocalCluster of two workers for every cluster row, started once, untimed."""
    import distributed

    local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                     dashboard_address="127.0.0.1:0")
    client = distributed.Client(local, set_as_default=False)
    atexit.register(local.close)
    atexit.register(client.close)
    return client


def cluster_workload(count: int, kind: str) -> tuple[Callable, Callable]:
    """procsync_teach.cluster.Pool against Dask's own API, on the same cluster.

    ``kind`` "map": ``pool.map`` (one task per chunk) against ``client.map`` + ``gather``
    (one task per item); "apply": ``count`` apply_async + get against ``count``
    ``client.submit`` + ``gather``.
    """
    from procsync_teach import cluster

    def ours():
        pool = cluster.Pool(client=_dask_client())
        pool.apply(tiny, (0,))
        start = time.perf_counter()
        if kind == "map":
            pool.map(tiny, range(count))
        else:
            for result in [pool.apply_async(tiny, (i,)) for i in range(count)]:
                result.get(60)
        elapsed = time.perf_counter() - start
        pool.close()
        pool.join()
        return elapsed

    def dask():
        client = _dask_client()
        start = time.perf_counter()
        if kind == "map":
            futures = client.map(tiny, range(count), pure=False)
        else:
            futures = [client.submit(tiny, i, pure=False) for i in range(count)]
        client.gather(futures)
        return time.perf_counter() - start

    return ours, dask


def _fork_workloads() -> dict[str, tuple]:
    """The rows about a large global of __main__, which the workers share under fork."""
    return {
        "5,000 apply_async, __main__ function reading a 1 M-element global, fork":
            (big_global(5_000, as_argument=False), 1.2),
        "map of 5,000 calls given that function as an argument, fork":
            (big_global(5_000, as_argument=True), 1.5),
        "worker peak memory (MB, not s) under fork, 200 MB global": (large_global_memory(), 1.1),
    }


def workloads() -> dict[str, tuple]:
    """Every workload, by name, with the target ratio ours/stdlib (None: report only)."""
    return {
        "map 100,000 tiny tasks, default chunksize": (map_workload(tiny, range(100_000), None),
                                                      1.2),
        "map 5,000 tiny tasks, chunksize=1": (map_workload(tiny, range(5_000), 1), 0.8),
        # The slow items come to workers that have just run quick ones of the same function:
        # they must be shared between the workers, not lined up behind one.
        "map 40 quick items, then 8 of 0.1 s alternating with quick ones, chunksize=1":
            (map_workload(nap, [0.0] * 40 + [0.1, 0.0] * 8, 1), 1.05),
        "500 sequential apply round trips": (apply_round_trips(500), 1.0),
        "5,000 apply_async at once, importable function (abs)": (apply_burst(5_000, abs), None),
        # tiny lives in __main__ here, defined before the pools start: both send it by
        # name (under spawn a notebook's would go by value: see procsync_teach.pickling).
        "5,000 apply_async at once, function from __main__": (apply_burst(5_000, tiny), 1.2),
        **(_fork_workloads() if "fork" in multiprocessing.get_all_start_methods() else {}),
        **{f"Pool(2) start+apply+close+join, {method}": (pool_lifetime(method), 1.5)
           for method in multiprocessing.get_all_start_methods()},
        "lock acquire+release x100,000, uncontended": (lock_uncontended(100_000), None),
        "lock, 2 processes x 5,000 increments": (lock_contended(5_000), 2.5),
        # The cluster rows compare procsync_teach.cluster.Pool with Dask's own API (in the
        # "stdlib" column), on one LocalCluster of two workers.
        "cluster: Pool.map of 10,000 tiny tasks vs client.map + gather":
            (cluster_workload(10_000, "map"), 0.2),
        "cluster: 500 apply_async + get vs 500 client.submit + gather":
            (cluster_workload(500, "apply"), 1.3),
    }


def measure(functions: tuple[Callable, ...], repeat: int) -> list[float]:
    """Median of ``repeat`` runs of each function, run alternately."""
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeat):
        for index, function in enumerate(functions):
            times[index].append(function())
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each workload")
    parser.add_argument("--only", default="", help="run the workloads whose name contains this")
    parser.add_argument("--start-method", "--context",
                        choices=multiprocessing.get_all_start_methods(),
                        help="default: $PROCSYNC_START_METHOD, else the platform's default")
    options = parser.parse_args()
    if options.start_method:  # the processes of every workload start this way
        os.environ[ENVIRONMENT_VARIABLE] = options.start_method
    print(f"# {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
          f"{start_method()}, median of {options.repeat}")
    print("| workload | ours (s) | stdlib (s) | ours/stdlib | target |")
    print("|---|---:|---:|---:|---:|")
    for name, (functions, target) in workloads().items():
        if options.only not in name:
            continue
        ours, stdlib, *extra = measure(functions, options.repeat)
        ratio = ours / stdlib
        verdict = "" if target is None else f"≤ {target} {'✓' if ratio <= target else '✗'}"
        print(f"| {name} | {ours:.4f} | {stdlib:.4f} | {ratio:.3g} | {verdict} |", flush=True)
        if extra:
            print(f"| ↳ bare flock pair, same count | {extra[0]:.4f} | | "
                  f"{ours / extra[0]:.2f} (ours/flock) | |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
