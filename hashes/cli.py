"""``frankly`` subcommands contributed by :mod:`hashes`: ``hash`` and ``list``."""

from __future__ import annotations

import argparse
from typing import Any

from hashes import _cli_hash, _cli_list


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands to the ``frankly`` parser."""
    _cli_hash.register(subparsers)
    _cli_list.register(subparsers)
