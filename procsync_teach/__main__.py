"""``python -m procsync_teach``: the course's demos in a terminal, for a teacher without Jupyter.

    python -m procsync_teach demo garbled
    python -m procsync_teach demo sync-async --procs 4 --start-method spawn
    python -m procsync_teach demo deadlock --step  # waits for Enter between sections
    python -m procsync_teach demo --help          # every demo and option

This file only reads the command line; the demos are in :mod:`procsync_teach.course.demos`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING

from .context import checked_start_method

if TYPE_CHECKING:
    from .course.demos.basics import Options


def number_between(kind: Callable[[str], float], low: float, high: float):
    """An argparse ``type`` that accepts a number from ``low`` to ``high``, with a clear error."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, not {text}")
        return value

    return parse


def build_parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The parser of the whole command, and that of ``demo`` (to report its errors)."""
    from .course.demos import DEMOS, OPTION_MEANINGS

    # One line per demo, the summary wrapped under itself: the help fits 80 columns.
    indent = 2 + max(map(len, DEMOS)) + 1
    demo_list = "demos:\n" + "\n".join(
        textwrap.fill(f"  {name:<{indent - 3}} {demo.summary}", 79, subsequent_indent=" " * indent)
        for name, demo in DEMOS.items())
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="python -m procsync_teach", formatter_class=formatter,
        description="The course's experiments as terminal demos.",
        epilog=demo_list + "\n\nrun one with: python -m procsync_teach demo NAME",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo", formatter_class=formatter, help="run a demo (see the list below)",
        description="Run one of the course's demos in this terminal.", epilog=demo_list,
    )
    demo.add_argument("name", choices=list(DEMOS), metavar="NAME",
                      help="the demo: " + ", ".join(DEMOS))
    demo.add_argument("--procs", type=number_between(int, 1, 32), metavar="N",
                      help=f"1 to 32; {OPTION_MEANINGS['procs']}")
    demo.add_argument("--tasks", type=number_between(int, 1, 100), metavar="N",
                      help=f"1 to 100; {OPTION_MEANINGS['tasks']}")
    demo.add_argument("--duration", type=number_between(float, 0.001, 60), metavar="SECONDS",
                      help=OPTION_MEANINGS["duration"])
    demo.add_argument("--start-method", choices=["fork", "spawn", "forkserver"],
                      help="how processes start (default: $PROCSYNC_START_METHOD, else "
                           "Python's default)")
    demo.add_argument("--no-color", action="store_true",
                      help="no colours (also when NO_COLOR is set, or output is not a terminal)")
    demo.add_argument("--step", action="store_true",
                      help="wait for Enter before each section, for a teacher who talks")
    return parser, demo


def options_for(args: argparse.Namespace, demo_parser: argparse.ArgumentParser) -> Options:
    """The demo's defaults, overridden by the options given; refuse the ones it ignores."""
    from .course.demos import DEMOS
    from .course.demos.basics import Options

    defaults = DEMOS[args.name].defaults
    given = {name: getattr(args, name) for name in ("procs", "tasks", "duration")
             if getattr(args, name) is not None}
    ignored = [f"--{name}" for name in given if name not in defaults]
    if ignored:
        uses = ", ".join(f"--{name}" for name in defaults) or "no option"
        demo_parser.error(f"the {args.name} demo does not use {', '.join(ignored)}; "
                          f"it uses {uses}")
    if args.start_method:
        try:
            checked_start_method(args.start_method, given_as="--start-method")
        except ValueError as error:
            demo_parser.error(str(error))
    settings = {"procs": 1, "tasks": 1, "duration": 0.1, **defaults, **given}
    return Options(start_method=args.start_method, **settings)


def main(argv: list[str] | None = None) -> int:
    # Everything, imports included, inside the try: a Ctrl-C at any moment ends quietly.
    try:
        from .course.demos import run

        parser, demo_parser = build_parser()
        args = parser.parse_args(argv)
        code = run(args.name, options_for(args, demo_parser), False if args.no_color else None,
                   step=args.step)
    except KeyboardInterrupt:
        # Leaving the demo's with-blocks on the way here stopped its pool and processes.
        print("\ninterrupted", file=sys.stderr)
        code = 130
    # The demo is over; only the exit remains, which a late Ctrl-C must not interrupt.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code


if __name__ == "__main__":  # not when a spawned child imports this module as __mp_main__
    sys.exit(main())
