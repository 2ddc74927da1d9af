"""``frankly`` subcommands contributed by :mod:`report_service`."""

from __future__ import annotations

import argparse
from typing import Any

from report_service import _cli_banks, _cli_service, backup_cli
from report_service.escalation.dsa import cli as dsa_cli
from report_service.escalation.ncmec import cli as ncmec_cli
from report_service.escalation.preservation import cli as preservation_cli
from report_service.escalation.webhooks import cli as webhooks_cli
from report_service.review import cli as review_cli
from report_service.review.lifecycle import destruction_cli
from report_service.transparency import cli as transparency_cli


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands to the ``frankly`` parser."""
    _cli_service.register(subparsers)
    _cli_banks.register(subparsers)
    review_cli.register(subparsers)
    preservation_cli.register(destruction_cli.register(subparsers))
    backup_cli.register(subparsers)
    ncmec_cli.register(subparsers)
    webhooks_cli.register(subparsers)
    dsa_cli.register(subparsers)
    transparency_cli.register(subparsers)
