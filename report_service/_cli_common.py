"""What every ``frankly`` service command shares: the ``--data DIR`` option."""

from __future__ import annotations

import argparse
from pathlib import Path

DATA_HELP = "data folder (default: $FRANKLY_DATA_DIR, else ./frankly-data)"
"""The one help text of every command's ``--data DIR``."""


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """``--data DIR`` with the one help text every command shares."""
    parser.add_argument("--data", type=Path, default=None, metavar="DIR", help=DATA_HELP)
