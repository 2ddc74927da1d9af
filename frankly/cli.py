"""The ``frankly`` command line.

Each package contributes its own subcommands through a ``register(subparsers)`` function in
its ``cli`` module; a subcommand stores its handler as ``func(args) -> int`` (the exit
status). Handlers import heavy modules lazily so that ``frankly hash`` does not load the
web service.
"""

from __future__ import annotations

import argparse
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    version = sub.add_parser("version", help="print the version and exit")
    version.set_defaults(func=_version)

    demo = sub.add_parser("demo", help="walk through the whole flow in the terminal")
    demo.add_argument("--data", default=None, help="data folder (default: a temporary one)")
    demo.add_argument(
        "--franking", action="store_true", help="only the franking protocol walk-through"
    )
    demo.set_defaults(func=_demo)

    hashes.cli.register(sub)
    client_scan.cli.register(sub)
    report_service.cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return status
