"""``frankly users rotate|revoke`` and ``frankly keys rewrap|retire-master``.

They act on the data folder's database (and, for ``keys``, its key file) and every change
is written to the audit chain with the actor ``cli`` (see
:mod:`report_service.review.moderators.tokens` and :mod:`report_service.review.lifecycle.rewrap`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from report_service._cli_common import add_data_option as _data_arg

CLI_ACTOR = "cli"


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
    from report_service.review.moderators.tokens import open_accounts

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
    from report_service.review.moderators.tokens import open_accounts

    try:
        with open_accounts(args.data) as accounts:
            accounts.revoke_user(CLI_ACTOR, args.name)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"revoked user {args.name}; `frankly users rotate {args.name}` reissues it")
    return 0


def register_keys(keys_sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``rewrap`` and ``retire-master`` to ``frankly keys``."""
    rewrap = keys_sub.add_parser(
        "rewrap",
        help="re-wrap every report's data key under the active master key (after "
        "`keys rotate master` and a service restart); resumable, safe to run again",
    )
    rewrap.add_argument(
        "--batch",
        type=int,
        default=500,
        metavar="N",
        help="data keys per transaction (1 to 10000, default 500)",
    )
    _data_arg(rewrap)
    rewrap.set_defaults(func=_keys_rewrap)
    retire = keys_sub.add_parser(
        "retire-master",
        help="delete an old evidence master key from the key file once no data key needs "
        "it (after `keys rewrap`); this makes earlier crypto-shredding final",
    )
    retire.add_argument("kid", help="the master key id (see `frankly keys list`)")
    retire.add_argument("--yes", action="store_true", help="do not ask for confirmation (scripts)")
    _data_arg(retire)
    retire.set_defaults(func=_keys_retire_master)


def _keys_rewrap(args: argparse.Namespace) -> int:
    import os
    import time

    from report_service.errors import ServiceError
    from report_service.escalation.webhooks.store import rewrap_secrets, secrets_under
    from report_service.keys import load_key_file
    from report_service.review.lifecycle.rewrap import RewrapProgress, rewrap, wrapped_under
    from report_service.settings import load_settings
    from report_service.storage.migrate import open_database

    def progress(p: RewrapProgress) -> None:
        print(f"  {p.rewrapped} data keys re-wrapped ({p.batches} batches)", file=sys.stderr)

    try:
        settings = load_settings(args.data)
        keys = load_key_file(settings.resolved_key_file)
        with open_database(settings) as sessions:
            done = rewrap(
                sessions,
                keys,
                actor=CLI_ACTOR,
                clock=lambda: time.time_ns() // 1_000_000,
                random=os.urandom,
                batch=args.batch,
                on_batch=progress,
            )
            with sessions() as session:
                counts = wrapped_under(session)
            with sessions() as session:  # webhook secrets live under the master key too
                secrets = rewrap_secrets(session, keys, os.urandom)
            with sessions() as session:
                for m in keys.master:
                    counts[m.kid] = counts.get(m.kid, 0) + secrets_under(session, m.kid)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"re-wrapped {done.rewrapped} data keys under {done.target} "
        f"({done.batches} batches); {done.remaining} still under other master keys; "
        f"{secrets} webhook secrets re-encrypted"
    )
    for m in keys.master:
        if m.kid != done.target and counts.get(m.kid, 0) == 0:
            print(f"{m.kid} wraps no data key now: `frankly keys retire-master {m.kid}`")
    return 0 if done.remaining == 0 else 1


def _keys_retire_master(args: argparse.Namespace) -> int:
    import time

    from report_service.errors import ServiceError
    from report_service.escalation.webhooks.store import (
        check_retirable as check_no_webhook_secrets,
    )
    from report_service.keys import load_key_file, save_key_file
    from report_service.review.lifecycle.rewrap import check_retirable, retire_master
    from report_service.settings import load_settings
    from report_service.storage.migrate import open_database

    try:
        settings = load_settings(args.data)
        path = settings.resolved_key_file
        keys = load_key_file(path)
        with open_database(settings) as sessions:
            with sessions() as session:
                check_retirable(session, keys, args.kid)
                check_no_webhook_secrets(session, args.kid)
            if not args.yes and not _confirm(args.kid, path):
                print("not retired", file=sys.stderr)
                return 1
            retire_master(
                sessions,
                keys,
                args.kid,
                actor=CLI_ACTOR,
                clock=lambda: time.time_ns() // 1_000_000,
                save=lambda material: save_key_file(path, material),
            )
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"retired master key {args.kid}: deleted from {path}. Restart every service "
        "process. Key-file backups made earlier still hold it: delete them to make "
        "earlier destructions final (see docs/operations.md)."
    )
    return 0


def _confirm(kid: str, path: Path) -> bool:
    """Ask on the terminal; refuse without one (scripts pass ``--yes``)."""
    if not sys.stdin.isatty():
        print(
            "error: retiring a master key cannot be undone; confirm on a terminal or pass --yes",
            file=sys.stderr,
        )
        return False
    print(
        f"This deletes evidence master key {kid} from {path} for good: database copies "
        "taken before the re-wrap can then no longer be opened with this key file.",
        file=sys.stderr,
    )
    answer = input(f"Type {kid} to confirm: ")
    return answer.strip() == kid
