"""``frankly users rotate|revoke``: the token lifecycle of reporter / relay users.

Both act on the data folder's database and are written to the audit chain with the actor
``cli`` (see :mod:`report_service.review.lifecycle`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

CLI_ACTOR = "cli"


def _data_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="data folder (default: ./frankly-data, or FRANKLY_DATA_DIR)",
    )


def register_users(users_sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``rotate`` and ``revoke`` to ``frankly users``."""
    rotate = users_sub.add_parser(
        "rotate",
        help="issue a new bearer token (printed once; the old one stops working); "
        "re-activates a revoked user",
    )
    rotate.add_argument("name", help="user id")
    _data_arg(rotate)
    rotate.set_defaults(func=_users_rotate)
    revoke = users_sub.add_parser(
        "revoke", help="revoke a user: its token gets 401 at once (reports are kept)"
    )
    revoke.add_argument("name", help="user id")
    _data_arg(revoke)
    revoke.set_defaults(func=_users_revoke)


def _users_rotate(args: argparse.Namespace) -> int:
    from report_service.errors import ServiceError
    from report_service.review.lifecycle import open_accounts

    try:
        with open_accounts(args.data) as accounts:
            issued = accounts.rotate_user(CLI_ACTOR, args.name)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    again = " (it was revoked and is active again)" if issued.reactivated else ""
    print(
        f"user {issued.name}: new bearer token{again}; the old one no longer works. Shown once:",
        file=sys.stderr,
    )
    print(issued.token)
    return 0


def _users_revoke(args: argparse.Namespace) -> int:
    from report_service.errors import ServiceError
    from report_service.review.lifecycle import open_accounts

    try:
        with open_accounts(args.data) as accounts:
            accounts.revoke_user(CLI_ACTOR, args.name)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"revoked user {args.name}; `frankly users rotate {args.name}` reissues it")
    return 0
