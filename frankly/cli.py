"""The ``frankly`` command line.

Each package contributes its own subcommands through a ``register(subparsers)`` function in
its ``cli`` module; a subcommand stores its handler as ``func(args) -> int`` (the exit
status). Handlers import heavy modules lazily so that ``frankly hash`` does not load the
web service.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from frankly import __version__


def _version(args: argparse.Namespace) -> int:
    print(f"frankly {__version__}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from frankly.demo import run_demo

    return run_demo(args)


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser with every package's subcommands."""
    import client_scan.cli
    import hashes.cli
    import report_service.cli

    parser = argparse.ArgumentParser(
        prog="frankly",
        description="Verifiable abuse reporting for end-to-end-encrypted messengers.",
    )
    parser.add_argument(
        "--version", action="version", version=f"frankly {__version__}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    version = sub.add_parser("version", help="print the version and exit")
    version.set_defaults(func=_version)

    demo = sub.add_parser("demo", help="walk through the whole flow in the terminal")
    demo.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help="an empty folder, or one an earlier demo made (default: a temporary one); "
        "a folder holding anything else is refused",
    )
    demo.add_argument(
        "--franking", action="store_true", help="only the franking protocol walk-through"
    )
    demo.set_defaults(func=_demo)

    hashes.cli.register(sub)
    client_scan.cli.register(sub)
    report_service.cli.register(sub)
    return parser


VALUE_OPTIONS_STARTING_WITH_DASH = frozenset({"--token"})
"""Options whose value may start with ``-`` (a base64url token does about 1 time in 64)."""


def join_dash_values(
    argv: Sequence[str], options: frozenset[str] = VALUE_OPTIONS_STARTING_WITH_DASH
) -> list[str]:
    """Rewrite ``--token -abc`` as ``--token=-abc`` for each option in ``options``.

    argparse takes a value that starts with ``-`` for an option and fails with ``expected
    one argument``; the ``=`` form is always read as the value.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in options and i + 1 < len(argv):
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status.

    Exit status: what the command returns (0 success, 1 or 2 for its documented
    failures), 2 for a usage error, 130 when interrupted, 141 (like a shell's SIGPIPE)
    when the reader of the output went away, as in ``frankly ... | head -1``.
    """
    parser = build_parser()
    args = parser.parse_args(join_dash_values(sys.argv[1:] if argv is None else argv))
    try:
        status: int = args.func(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away: stop quietly, and keep Python from complaining again when
        # it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return status
