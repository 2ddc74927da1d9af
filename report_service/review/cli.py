"""``frankly moderators add|revoke|rotate|list`` and ``frankly audit verify|show``.

They act on the data folder (``--data DIR``, default ``./frankly-data`` or the settings),
whose database is found by :func:`report_service.settings.load_settings`; the schema is
created or upgraded first, so they work on a fresh folder.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from report_service.review.service import ReviewService

CLI_ACTOR = "cli"
MAX_AUDIT_LIMIT = 1000


def _limit(text: str) -> int:
    value = _non_negative(text)
    if not 1 <= value <= MAX_AUDIT_LIMIT:
        raise argparse.ArgumentTypeError(f"{value} is not 1 to {MAX_AUDIT_LIMIT}")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``moderators`` and ``audit`` to the ``frankly`` parser."""
    mods = subparsers.add_parser("moderators", help="manage moderator accounts and roles")
    msub = mods.add_subparsers(dest="moderators_command", metavar="ACTION", required=True)

    add = msub.add_parser(
        "add",
        help="create an account (or reissue a revoked name) and print its bearer token once",
    )
    add.add_argument("name", help="account name (1 to 64 letters, digits, _ . @ -)")
    add.add_argument(
        "--role",
        required=True,
        choices=["moderator", "child_safety", "safety_lead", "lead", "auditor", "admin"],
        help="moderator: general queue; child_safety: both queues; safety_lead: as "
        "child_safety, plus approving CyberTipline reports; lead: view any, reopen; "
        "auditor: the audit log; admin: accounts and the audit log",
    )
    _data(add)
    add.set_defaults(func=_add, needs_key_file=True)

    revoke = msub.add_parser("revoke", help="revoke an account (its token stops working)")
    revoke.add_argument("name", help="the account to revoke")
    revoke.add_argument(
        "--force",
        action="store_true",
        help="also revoke the last active admin (nobody can then manage accounts over "
        "HTTP until `frankly moderators add NAME --role admin`)",
    )
    _data(revoke)
    revoke.set_defaults(func=_revoke)

    rotate = msub.add_parser(
        "rotate", help="issue a new token for an active account and print it once"
    )
    rotate.add_argument("name", help="the account whose token to replace")
    _data(rotate)
    rotate.set_defaults(func=_rotate)

    lst = msub.add_parser("list", help="list accounts (never tokens)")
    _data(lst)
    lst.set_defaults(func=_list)

    audit = subparsers.add_parser("audit", help="the hash-chained audit log")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = asub.add_parser(
        "verify", help="recompute the chain; exit 1 and name the first broken position"
    )
    verify.add_argument(
        "--expect-head",
        metavar="HASH",
        help="also require this hash, a head you published earlier, to be in the chain",
    )
    _data(verify)
    verify.set_defaults(func=_verify)

    show = asub.add_parser(
        "show", help="print entries as JSON lines (times in ms since the epoch, UTC)"
    )
    show.add_argument("--actor", metavar="NAME", help="only entries by this moderator or cli")
    show.add_argument(
        "--action", metavar="ACTION", help="only this action, e.g. decide, moderator_add"
    )
    show.add_argument("--item", type=int, metavar="ID", help="only entries about this item")
    show.add_argument(
        "--after",
        type=_non_negative,
        default=0,
        metavar="SEQ",
        help="entries after this seq (default 0)",
    )
    show.add_argument(
        "--limit",
        type=_limit,
        default=100,
        metavar="N",
        help=f"at most N entries, 1 to {MAX_AUDIT_LIMIT} (default 100)",
    )
    _data(show)
    show.set_defaults(func=_show)


def _data(parser: argparse.ArgumentParser) -> None:
    from report_service._cli_common import DATA_HELP

    parser.add_argument("--data", default=None, metavar="DIR", help=DATA_HELP)


@contextmanager
def _service(args: argparse.Namespace) -> Iterator[ReviewService]:
    """A review service on the data folder's database (no evidence access); the engine
    is disposed on exit."""
    import time
    from pathlib import Path

    from sqlalchemy.orm import Session

    from report_service.errors import EvidenceDestroyed
    from report_service.review.service import ReviewService
    from report_service.settings import load_settings
    from report_service.storage.migrate import open_database

    class _NoEvidence:
        def read(self, session: Session, report_id: str, kind: str, ref: str) -> bytes | None:
            raise EvidenceDestroyed("the command line does not read evidence")

    settings = load_settings(None if args.data is None else Path(args.data))
    creates = getattr(args, "needs_key_file", False)  # adding an account may start a database
    if creates:
        from report_service._cli_service import require_key_file

        require_key_file(settings)
    with open_database(settings, create=creates) as sessions:
        yield ReviewService(sessions, lambda: time.time_ns() // 1_000_000, _NoEvidence())


def _run(args: argparse.Namespace, action: Any) -> int:
    from report_service.errors import ServiceError

    try:
        with _service(args) as service:
            result: int = action(service)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return result


def _add(args: argparse.Namespace) -> int:
    def act(service: ReviewService) -> int:
        created = service.add_moderator(CLI_ACTOR, args.name, args.role)
        print(
            f"created {created.name} ({created.role}); its bearer token, shown once:",
            file=sys.stderr,
        )
        print(created.token)
        return 0

    return _run(args, act)


def _revoke(args: argparse.Namespace) -> int:
    def act(service: ReviewService) -> int:
        service.revoke_moderator(CLI_ACTOR, args.name, force=args.force)
        print(f"revoked {args.name}")
        return 0

    return _run(args, act)


def _rotate(args: argparse.Namespace) -> int:
    from report_service.errors import ServiceError
    from report_service.review.moderators.tokens import open_accounts

    try:
        with open_accounts(args.data) as accounts:
            issued = accounts.rotate_moderator(CLI_ACTOR, args.name)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"rotated {issued.name} ({issued.role}); the old token no longer works; "
        "the new bearer token, shown once:",
        file=sys.stderr,
    )
    print(issued.token)
    return 0


def _list(args: argparse.Namespace) -> int:
    from report_service._cli_service import iso_utc

    def act(service: ReviewService) -> int:
        for m in service.list_moderators().moderators:
            state = "active" if m.revoked_at is None else f"revoked at {iso_utc(m.revoked_at)}"
            print(f"{m.name}\t{m.role}\t{state}")
        return 0

    return _run(args, act)


def _verify(args: argparse.Namespace) -> int:
    def act(service: ReviewService) -> int:
        result = service.audit_verify()
        if not result.ok:
            print(
                f"BROKEN at position {result.first_broken}: {result.problem} "
                f"({result.entries} entries read, head seq {result.head_seq})",
                file=sys.stderr,
            )
            return 1
        print(f"ok: {result.entries} entries, head seq {result.head_seq} hash {result.head_hash}")
        if args.expect_head:
            seq = service.audit_position(args.expect_head)
            if seq is None:
                print(
                    f"BROKEN: the published head {args.expect_head} is not in the chain "
                    "(the log was rewritten or truncated since)",
                    file=sys.stderr,
                )
                return 1
            grown = result.head_seq - seq
            print(f"ok: the published head is entry {seq}; {grown} entries appended since")
        return 0

    return _run(args, act)


def _show(args: argparse.Namespace) -> int:
    from report_service.review.audit.store import AuditFilter

    def act(service: ReviewService) -> int:
        page = service.audit_entries(
            AuditFilter(
                actor=args.actor,
                action=args.action,
                item_id=args.item,
                after_seq=args.after,
                limit=args.limit,
            )
        )
        for e in page.entries:
            print(e.model_dump_json())
        return 0

    return _run(args, act)
