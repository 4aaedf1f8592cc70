"""Which cells of the course behave differently on Windows and macOS, and why.

The course's committed outputs come from Linux. A few cells show what only some operating
systems have (``fork``, zombies, signals, Ctrl-C sent to a group of processes); on the
others they check the platform and explain instead. Notebook 00 lists them for the
learner's system with :func:`print_platform_notes`, so that nothing comes as a surprise.
"""

from __future__ import annotations

import sys

#: What a learner on each system sees differ from the committed outputs, cell by cell.
NOTES = {
    "win32": (
        "Windows",
        [
            "every process starts with spawn, the only start method Windows has: "
            "PROCSYNC_START_METHOD=fork or forkserver is refused",
            "06 §8: a killed worker's exit code is not -9, because "
            "Windows has no signals (psutil's kill() calls TerminateProcess)",
            "06 §5: lock.py locks with msvcrt.locking, and its _wait_lock_file asks again "
            "and again: msvcrt's blocking lock gives up after 10 s",
            "07 §4 (fork with threads), §5 (zombies) and §7 (Ctrl-C): Windows has no fork, "
            "no zombies and no process groups to send Ctrl-C to; each cell says so",
            "the terminal demo `crash` needs SIGKILL and does not run",
        ],
    ),
    "darwin": (
        "macOS",
        [
            "processes start with spawn by default (the committed outputs come from fork on "
            "Linux, and are the same under spawn)",
            "07 §5: `ps` shows a zombie's name in brackets, not `<defunct>`; the notebook "
            "asks psutil, which says `zombie` on both",
        ],
    ),
}


def platform_notes(platform: str = sys.platform) -> tuple[str, list[str]]:
    """The name of the operating system ``platform`` (a ``sys.platform`` value) and what
    behaves differently on it; an empty list where every cell behaves as committed."""
    if platform.startswith("linux"):
        return "Linux", []
    return NOTES.get(platform, (platform, ["the course is written for Linux, macOS and "
                                           "Windows; on this system, expect differences"]))


def print_platform_notes(platform: str = sys.platform) -> None:
    """Print which cells of the course behave differently on this operating system."""
    name, notes = platform_notes(platform)
    if not notes:
        print(f"✅ {name}: every cell of the course gives the outputs you see committed")
        return
    print(f"⚠️ {name}: the course works; these cells differ from the committed outputs:")
    for note in notes:
        print(f"   - {note}")
