"""What every ``frankly`` service command shares: the ``--data DIR`` option, the
``--by NAME`` and ``--reason TEXT`` of audited actions, opening the data folder's
database, the wall clock, UTC times and the ``error: ...`` / exit status 2 of a refused
command."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from report_service.settings import Settings

DATA_HELP = "data folder (default: $FRANKLY_DATA_DIR, else ./frankly-data)"
"""The one help text of every command's ``--data DIR``."""

CLI_ACTOR = "cli"
"""Who a command acts as in the audit log when ``--by`` is not given."""

ERROR_EXIT = 2
"""The exit status of a command refused with ``error: ...`` on stderr."""


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """``--data DIR`` with the one help text every command shares."""
    parser.add_argument("--data", type=Path, default=None, metavar="DIR", help=DATA_HELP)


def add_by_option(parser: argparse.ArgumentParser, doing: str) -> None:
    """``--by NAME`` (default :data:`CLI_ACTOR`): who is ``doing`` it, for the audit log."""
    parser.add_argument(
        "--by",
        default=CLI_ACTOR,
        metavar="NAME",
        help=f"who is {doing}, for the audit log (default: {CLI_ACTOR})",
    )


def add_reason_option(parser: argparse.ArgumentParser, example: str | None = None) -> None:
    """The required ``--reason TEXT`` written to the audit log; ``example`` (e.g. "a ticket
    reference") is shown in its help."""
    eg = f", e.g. {example}" if example else ""
    parser.add_argument(
        "--reason",
        required=True,
        metavar="TEXT",
        help=f"why (10 to 1000 characters{eg}); written to the audit log",
    )


def now_ms() -> int:
    """Milliseconds since the epoch from the system clock."""
    return time.time_ns() // 1_000_000


def utc_text(ms: int) -> str:
    """``ms`` since the epoch as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fail(message: str) -> int:
    """Print ``error: message`` on stderr; the exit status :data:`ERROR_EXIT`."""
    print(f"error: {message}", file=sys.stderr)
    return ERROR_EXIT


def run_reporting_errors(action: Callable[[], int], also: tuple[type[Exception], ...] = ()) -> int:
    """``action()``'s exit status, or :func:`fail` with the message of the
    :class:`~report_service.errors.ServiceError` (or one of ``also``) it raised."""
    from report_service.errors import ServiceError

    caught: tuple[type[Exception], ...] = (ServiceError, *also)
    try:
        return action()
    except caught as exc:
        return fail(str(exc))


@contextmanager
def open_data(data: Path | str | None) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    """The settings of the data folder ``data`` (``--data``) and sessions on its existing
    database, upgraded first; the engine is disposed on exit.

    Raises:
        ServiceError: bad settings, or the database is missing or unreachable.
    """
    from report_service.settings import load_settings
    from report_service.storage.migrate import open_database

    settings = load_settings(None if data is None else Path(data))
    with open_database(settings, create=False) as sessions:
        yield settings, sessions
