"""Which cells of the course behave differently on Windows and macOS, and why.

The course's committed outputs come from Linux. A few cells show what only some operating
systems have (``fork``, zombies, signals, Ctrl-C sent to a group of processes); on the
others they check the platform and explain instead. Notebook 00 lists them for the
learner's system with :func:`print_platform_notes`, so that nothing comes as a surprise.
"""

from __future__ import annotations

import signal
import sys

#: What a learner on each system sees differ from the committed outputs, cell by cell.
NOTES = {
    "win32": (
        "Windows",
        [
            "every process starts with spawn, the only start method Windows has: "
            "PROCSYNC_START_METHOD=fork or forkserver is refused",
            "02 §7: the killed holder's exit code is -15, not -9: Windows has no signals; "
            "multiprocessing's kill() calls TerminateProcess and reports it as -15",
            "06 §8 and 09 §4: a killed worker's exit code is 15, not -9, because "
            "Windows has no signals (psutil's kill() calls TerminateProcess)",
            "10 §5: unlink() does nothing on Windows; a shared memory block goes when the "
            "last process that has it open closes it",
            "12 §3: Windows counts a thread's processor time in steps of 1/64 s; the check "
            "allows for them",
            "14 §3: Windows' pipes are no file descriptors: the dispatcher reads one reply "
            "per call (recv_bytes), not all that has arrived",
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


def exit_code_meaning(exitcode: int, platform: str = sys.platform) -> str:
    """What a process's exit code says about how it ended, in words true on ``platform``.

    On Linux and macOS a negative code is the signal that killed the process (-9: SIGKILL).
    Windows has no signals: killing there is ``TerminateProcess``, which sets the exit code
    the killer chose, 15 for psutil's ``kill()``, and ``multiprocessing`` reports its own
    ``kill()`` as -15, like SIGTERM.
    """
    if platform == "win32" and abs(exitcode) == signal.SIGTERM:
        return "ended by TerminateProcess: Windows has no signals"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:  # a number this system has no signal for
            return f"killed by signal {-exitcode}"
        return f"killed by signal {-exitcode}, {name}"
    return "ended normally" if exitcode == 0 else f"ended with exit code {exitcode}"


def print_platform_notes(platform: str = sys.platform) -> None:
    """Print which cells of the course behave differently on this operating system."""
    name, notes = platform_notes(platform)
    if not notes:
        print(f"✅ {name}: every cell of the course gives the outputs you see committed")
        return
    print(f"⚠️ {name}: the course works; these cells differ from the committed outputs:")
    for note in notes:
        print(f"   - {note}")
