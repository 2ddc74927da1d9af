"""``frankly webhooks add|list|remove|enable|disable|test|deliveries|replay|prune|deliver``.

Every command acts on the data folder (``--data DIR``, default ``./frankly-data`` or the
settings). ``add``, ``test`` and ``deliver`` need the key file too: endpoint secrets are
encrypted under its evidence master key. The secret is printed once, by ``add``, on
stdout (the rest of the output goes to stderr); nothing else ever prints it.

Exit status: 0 success (``test``: the endpoint answered 2xx); 1 ``test`` got no 2xx
answer; 2 bad input, settings, key file or database (``error: ...`` on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from report_service._cli_common import (
    add_data_option,
    fail,
    now_ms,
    run_reporting_errors,
    utc_text,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from report_service.escalation.webhooks.deliverer import Result
    from report_service.keys import KeyMaterial
    from report_service.settings import Settings


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``webhooks`` to the ``frankly`` parser."""
    wh = subparsers.add_parser(
        "webhooks", help="signed webhooks: endpoints, deliveries, dead letters, replay"
    )
    sub = wh.add_subparsers(dest="webhooks_command", metavar="ACTION", required=True)

    add = sub.add_parser(
        "add",
        help="add an endpoint; prints its signing secret once",
        description="Add a webhook endpoint and print its whsec_ signing secret (once: it "
        "is stored encrypted and never shown again). https is required, except to a "
        "loopback address or with FRANKLY_WEBHOOK_ALLOW_HTTP.",
    )
    add.add_argument("url", metavar="URL", help="where to POST the events (https://...)")
    add.add_argument(
        "--events",
        required=True,
        metavar="TYPES",
        help="comma-separated event types (report.created, item.claimed, item.decided, "
        "item.escalated, ncmec.submitted), families such as appeal.*, or * for all",
    )
    add.add_argument(
        "--description", default="", metavar="TEXT", help="a note for operators (optional)"
    )
    add_data_option(add)
    add.set_defaults(func=_add)

    lst = sub.add_parser("list", help="list endpoints (never their secrets)")
    add_data_option(lst)
    lst.set_defaults(func=_list)

    for name, func, text in (
        ("remove", _remove, "remove an endpoint and its queued and past deliveries"),
        ("enable", _enable, "enable an endpoint (e.g. after it answered 410 Gone)"),
        ("disable", _disable, "stop sending to an endpoint; its deliveries wait"),
        ("test", _test, "send a webhook.test event to an endpoint now and print the answer"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("endpoint_id", type=int, metavar="ID", help="the endpoint's id (list)")
        add_data_option(p)
        p.set_defaults(func=func)

    dl = sub.add_parser("deliveries", help="list recent deliveries, or the dead-letter list")
    dl.add_argument("--dead", action="store_true", help="only dead-lettered deliveries")
    dl.add_argument(
        "--limit", type=int, default=50, metavar="N", help="at most N, newest first (default 50)"
    )
    add_data_option(dl)
    dl.set_defaults(func=_deliveries)

    rp = sub.add_parser(
        "replay",
        help="queue a delivery again, or every dead-lettered one (same webhook-id)",
        description="Queue deliveries again, due now, with a fresh retry schedule. Each "
        "keeps its webhook-id, so a receiver that already processed it can tell.",
    )
    which = rp.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "delivery_id", type=int, nargs="?", metavar="DELIVERY_ID", help="one delivery (deliveries)"
    )
    which.add_argument("--dead-letter", action="store_true", help="every dead-lettered delivery")
    rp.add_argument(
        "--since",
        default=None,
        metavar="TIME",
        help="with --dead-letter: only events created at or after TIME (ISO 8601, UTC if "
        "no offset, e.g. 2026-01-31T00:00)",
    )
    add_data_option(rp)
    rp.set_defaults(func=_replay)

    pr = sub.add_parser(
        "prune",
        help="delete delivered rows older than the retention (never pending or dead ones)",
        description="Delete deliveries that were delivered more than N days ago "
        "(default FRANKLY_WEBHOOK_RETENTION_DAYS, 30). Pending deliveries and the "
        "dead-letter list are never pruned. The serve task does this on its own.",
    )
    pr.add_argument(
        "--older-than-days",
        type=int,
        default=None,
        metavar="N",
        help="retention in days, at least 1 (default: the webhook_retention_days setting)",
    )
    add_data_option(pr)
    pr.set_defaults(func=_prune)

    dv = sub.add_parser(
        "deliver",
        help="send the due deliveries once and exit (for cron, or with the serve task off)",
    )
    add_data_option(dv)
    dv.set_defaults(func=_deliver)


@dataclass
class _Context:
    settings: Settings
    sessions: sessionmaker[Session]
    keys: Callable[[], KeyMaterial]
    now: Callable[[], int]


@contextmanager
def _context(args: argparse.Namespace, *, need_keys: bool) -> Iterator[_Context]:
    """Settings, sessions on the upgraded database and (``need_keys``) the key file.
    With the key file found, a missing embedded database is created (as ``users add``
    does); without, a folder with no database is refused rather than quietly filled."""
    from report_service.errors import KeyFileError
    from report_service.keys import load_key_file
    from report_service.settings import load_settings
    from report_service.storage.migrate import open_database

    settings = load_settings(args.data)
    material = load_key_file(settings.resolved_key_file) if need_keys else None

    def keys() -> KeyMaterial:
        if material is None:  # a command that needs keys asks for them (need_keys)
            raise KeyFileError("this command needs the key file")
        return material

    with open_database(settings, create=need_keys) as sessions:
        yield _Context(settings, sessions, keys, now_ms)


def _when(ms: int | None) -> str:
    return "-" if ms is None else utc_text(ms)


def _add(args: argparse.Namespace) -> int:
    import os

    from report_service.escalation.webhooks.payload import KNOWN_EVENTS
    from report_service.escalation.webhooks.store import add_endpoint, parse_events

    def go() -> int:
        events = parse_events(args.events)
        with _context(args, need_keys=True) as ctx, ctx.sessions() as session:
            new = add_endpoint(
                session,
                ctx.keys(),
                args.url,
                events,
                description=args.description,
                now_ms=ctx.now(),
                random=os.urandom,
                allow_http=ctx.settings.webhook_allow_http,
            )
        unknown = [e for e in events if "*" not in e and e not in KNOWN_EVENTS]
        if unknown:
            print(f"note: not an event Frankly emits today: {', '.join(unknown)}", file=sys.stderr)
        print(
            f"endpoint {new.id} added for {' '.join(new.event_types)}; its signing secret "
            "(shown once, store it in the receiver):",
            file=sys.stderr,
        )
        print(new.secret)
        return 0

    return run_reporting_errors(go)


def _list(args: argparse.Namespace) -> int:
    from report_service.escalation.webhooks.store import list_endpoints

    def go() -> int:
        with _context(args, need_keys=False) as ctx, ctx.sessions() as session:
            rows = list_endpoints(session)
            for e in rows:
                state = "enabled" if e.enabled else f"disabled ({e.disabled_reason or '-'})"
                print(
                    f"{e.id}\t{e.url}\t{e.event_types.replace(' ', ',')}\t{state}\t{e.description}"
                )
        if not rows:
            print("no webhook endpoints (add one with `frankly webhooks add`)", file=sys.stderr)
        return 0

    return run_reporting_errors(go)


def _remove(args: argparse.Namespace) -> int:
    from report_service.escalation.webhooks.store import remove_endpoint

    def go() -> int:
        with _context(args, need_keys=False) as ctx, ctx.sessions() as session:
            count = remove_endpoint(session, args.endpoint_id)
        print(f"endpoint {args.endpoint_id} removed with {count} deliveries", file=sys.stderr)
        return 0

    return run_reporting_errors(go)


def _set_enabled(args: argparse.Namespace, enabled: bool) -> int:
    from report_service.escalation.webhooks.store import set_enabled

    def go() -> int:
        with _context(args, need_keys=False) as ctx, ctx.sessions() as session:
            set_enabled(session, args.endpoint_id, enabled)
        word = "enabled" if enabled else "disabled"
        print(f"endpoint {args.endpoint_id} {word}", file=sys.stderr)
        return 0

    return run_reporting_errors(go)


def _enable(args: argparse.Namespace) -> int:
    return _set_enabled(args, True)


def _disable(args: argparse.Namespace) -> int:
    return _set_enabled(args, False)


def _print_result(r: Result) -> None:
    answer = f"HTTP {r.status}" if r.status is not None else "no answer"
    detail = f" ({r.error})" if r.error and r.status is None else ""
    delivery = "-" if r.delivery_id is None else str(r.delivery_id)
    print(
        f"{delivery}\t{r.message_id}\tendpoint {r.endpoint_id}\tattempt {r.attempt}\t"
        f"{answer}{detail}\t{r.state}"
    )


def _test(args: argparse.Namespace) -> int:
    from report_service.escalation.webhooks.background import deliverer_from_settings

    def go() -> int:
        with _context(args, need_keys=True) as ctx:
            deliverer = deliverer_from_settings(ctx.settings, ctx.sessions, ctx.keys, ctx.now)
            result = deliverer.send_test(args.endpoint_id)
        _print_result(result)
        return 0 if result.ok else 1

    return run_reporting_errors(go)


def _deliveries(args: argparse.Namespace) -> int:
    from report_service.escalation.webhooks.models import DEAD
    from report_service.escalation.webhooks.store import list_deliveries

    def go() -> int:
        with _context(args, need_keys=False) as ctx, ctx.sessions() as session:
            rows = list_deliveries(
                session, status=DEAD if args.dead else None, limit=max(1, args.limit)
            )
            for d in rows:
                last = "-" if d.last_status is None else str(d.last_status)
                print(
                    f"{d.id}\t{d.message_id}\t{d.event_type}\tendpoint {d.endpoint_id}\t"
                    f"{d.status}\tattempts {d.attempts}\tlast {last} {d.last_error or ''}\t"
                    f"created {_when(d.created_at)}\tnext {_when(d.next_attempt_at)}"
                )
        if not rows:
            print(
                "no deliveries" + (" in the dead-letter list" if args.dead else ""), file=sys.stderr
            )
        return 0

    return run_reporting_errors(go)


def parse_since(text: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 time (UTC when it has no offset).

    Raises:
        InvalidWebhook: not an ISO 8601 time.
    """
    from report_service.escalation.webhooks.errors import InvalidWebhook

    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidWebhook(f"--since {text!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1000)


def _replay(args: argparse.Namespace) -> int:
    from report_service.escalation.webhooks.errors import InvalidWebhook
    from report_service.escalation.webhooks.store import replay

    def go() -> int:
        if args.since is not None and not args.dead_letter:
            raise InvalidWebhook("--since goes with --dead-letter")
        since = None if args.since is None else parse_since(args.since)
        with _context(args, need_keys=False) as ctx, ctx.sessions() as session:
            ids = replay(session, ctx.now(), delivery_id=args.delivery_id, since_ms=since)
        print(
            f"{len(ids)} deliveries queued again: {' '.join(map(str, ids)) or '-'}", file=sys.stderr
        )
        return 0

    return run_reporting_errors(go)


def _prune(args: argparse.Namespace) -> int:
    from report_service.escalation.webhooks.background import deliverer_from_settings

    if args.older_than_days is not None and args.older_than_days < 1:
        return fail("--older-than-days must be at least 1")

    def go() -> int:
        with _context(args, need_keys=False) as ctx:
            days = args.older_than_days or ctx.settings.webhook_retention_days
            if days <= 0:
                print("retention is off (webhook_retention_days = 0): nothing pruned")
                return 0
            deliverer = deliverer_from_settings(ctx.settings, ctx.sessions, ctx.keys, ctx.now)
            count = deliverer.prune(days)
        print(f"pruned {count} deliveries delivered more than {days} days ago")
        return 0

    return run_reporting_errors(go)


def _deliver(args: argparse.Namespace) -> int:
    from report_service.escalation.webhooks.background import deliverer_from_settings

    def go() -> int:
        with _context(args, need_keys=True) as ctx:
            deliverer = deliverer_from_settings(ctx.settings, ctx.sessions, ctx.keys, ctx.now)
            results = deliverer.run_once()
        for r in results:
            _print_result(r)
        print(f"{len(results)} attempts", file=sys.stderr)
        return 0

    return run_reporting_errors(go)
