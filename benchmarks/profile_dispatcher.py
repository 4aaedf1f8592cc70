"""Where does a pool's time go? Profile the dispatcher thread during one map.

The dispatcher is the one thread through which every job and every reply passes, so
it is where a per-task cost shows first. This runs ``pool.map(tiny, range(items),
chunksize)`` a few times under cProfile, attached to the dispatcher thread only, and
prints the functions that took the most time of their own:

    python benchmarks/profile_dispatcher.py                   # 5,000 tasks, chunksize=1
    python benchmarks/profile_dispatcher.py --items 100000 --chunksize 0   # default chunksize
    python benchmarks/profile_dispatcher.py --start-method spawn   # else the platform's default

Profiling slows Python code down several times, and system calls not at all, so read
the ranking, not the seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import pstats
import sys
import time

from procsync_teach.pool import Pool, _Dispatcher


def tiny(x):
    return x * x


def profile_map(items: int, chunksize: int | None, rounds: int,
                method: str | None = None) -> pstats.Stats:
    """Run the map ``rounds`` times with the dispatcher profiled, on a pool whose workers
    start with ``method`` (None: $PROCSYNC_START_METHOD, else the platform's default);
    return the dispatcher's profile."""
    profile = cProfile.Profile()
    dispatch = _Dispatcher._run

    def profiled_dispatch(dispatcher: _Dispatcher) -> None:
        profile.enable()
        try:
            dispatch(dispatcher)
        finally:
            profile.disable()

    _Dispatcher._run = profiled_dispatch
    try:
        with Pool(2, context=method) as pool:
            pool.apply(tiny, (0,))  # every worker up
            for _ in range(rounds):
                start = time.perf_counter()
                pool.map(tiny, range(items), chunksize)
                print(f"map of {items:,} tasks: {time.perf_counter() - start:.3f} s (profiled)")
    finally:
        _Dispatcher._run = dispatch
    return pstats.Stats(profile, stream=sys.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5_000, help="tasks in the map")
    parser.add_argument("--chunksize", type=int, default=1, help="0: the pool's default")
    parser.add_argument("--rounds", type=int, default=3, help="maps to profile")
    parser.add_argument("--top", type=int, default=15, help="functions to show")
    parser.add_argument("--start-method", "--context",
                        choices=multiprocessing.get_all_start_methods(),
                        help="default: $PROCSYNC_START_METHOD, else the platform's default")
    options = parser.parse_args()
    stats = profile_map(options.items, options.chunksize or None, options.rounds,
                        options.start_method)
    stats.sort_stats("tottime").print_stats(options.top)


if __name__ == "__main__":
    main()
