"""``frankly evidence hold|release|holds``: preservation holds by hand, audited.

They act on the data folder's database (``--data DIR``, or ``FRANKLY_DATABASE_URL``) and
need no key file. Every change is written to the audit chain in its own transaction with
``--by`` (default ``cli``) and ``--reason``. Exit status 0 on success, 2 with
``error: ...`` on stderr when nothing changed because of an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from report_service._cli_common import (
    add_by_option,
    add_data_option,
    add_reason_option,
    now_ms,
    open_data,
    run_reporting_errors,
    utc_text,
)

if TYPE_CHECKING:
    from report_service.escalation.preservation.service import HoldView


def register(evidence_sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``hold``, ``release`` and ``holds`` to ``frankly evidence``."""
    hold = evidence_sub.add_parser(
        "hold",
        help="place a preservation hold on a report's evidence (or on every report of a "
        "review item): purge skips it and destroy refuses it until released or expired",
        description="Place a manual preservation hold (a litigation hold, a law-enforcement "
        "preservation request). Lasts FRANKLY_PRESERVATION_DAYS days (default 365) unless "
        "--days or --indefinite says otherwise. Audited (preservation_hold).",
    )
    hold.add_argument(
        "target",
        metavar="REPORT_OR_ITEM",
        help="a report id, or a review item id (all the item's reports are held)",
    )
    add_reason_option(hold, "a case or order number")
    length = hold.add_mutually_exclusive_group()
    length.add_argument(
        "--days", type=int, default=None, metavar="N", help="hold for N days (1 to 36500)"
    )
    length.add_argument(
        "--indefinite", action="store_true", help="hold until released by hand (no expiry)"
    )
    hold.add_argument(
        "--reference",
        default=None,
        metavar="REF",
        help="an outside reference (order, ticket or case number); the same report and "
        "reference is held once, so repeating the command changes nothing",
    )
    add_by_option(hold, "acting")
    add_data_option(hold)
    hold.set_defaults(func=_hold)

    release = evidence_sub.add_parser(
        "release",
        help="release a preservation hold (the record stays; audited)",
        description="Release holds by id (see frankly evidence holds), in one "
        "transaction: all or none. An NCMEC hold "
        "cannot be released during its statutory minimum year without "
        "--force-before-expiry. Audited (preservation_release).",
    )
    release.add_argument(
        "hold_ids",
        type=int,
        nargs="+",
        metavar="HOLD_ID",
        help="the hold's id (several: all or none are released, e.g. the holds of one item)",
    )
    add_reason_option(release)
    release.add_argument(
        "--force-before-expiry",
        action="store_true",
        help="release an NCMEC hold before its statutory year ends (only when counsel "
        "says the duty no longer applies; the audit entry records the override)",
    )
    add_by_option(release, "acting")
    add_data_option(release)
    release.set_defaults(func=_release)

    holds = evidence_sub.add_parser(
        "holds",
        help="list preservation holds: what they cover and when they expire",
    )
    holds.add_argument("--all", action="store_true", help="also released and expired holds")
    holds.add_argument("--report", default=None, metavar="ID", help="only the holds on this report")
    holds.add_argument("--json", action="store_true", help="one JSON array instead of lines")
    add_data_option(holds)
    holds.set_defaults(func=_holds)


def _when(ms: int | None) -> str:
    return "until released" if ms is None else utc_text(ms)


def describe(h: HoldView) -> str:
    """One line per hold: id, status, report, item, source and reference, expiry, who."""
    item = f" item {h.item_id}" if h.item_id is not None else ""
    ref = f" reference {h.reference}" if h.reference else ""
    until = "until released" if h.expires_at is None else f"until {_when(h.expires_at)}"
    line = (
        f"hold {h.hold_id} [{h.status.value}] report {h.report_id}{item}: {h.source}{ref}, "
        f"{until}; placed {_when(h.placed_at)} by {h.placed_by}: {h.reason}"
    )
    if h.minimum_until is not None:
        line += f"; statutory minimum until {_when(h.minimum_until)}"
    if h.released_at is not None:
        forced = " (before its minimum period: forced)" if h.release_forced else ""
        line += f"; released {_when(h.released_at)} by {h.released_by}{forced}: {h.release_reason}"
    return line


def _hold(args: argparse.Namespace) -> int:
    from report_service.escalation.preservation.service import place_manual_hold

    def go() -> int:
        with open_data(args.data) as (settings, sessions):
            if args.indefinite:
                days = None
            else:
                days = settings.preservation_days if args.days is None else args.days
            with sessions.begin() as session:
                done = place_manual_hold(
                    session,
                    args.target,
                    args.reason,
                    days=days,
                    reference=args.reference,
                    actor=args.by,
                    now_ms=now_ms(),
                )
        for h in done.holds:
            verb = "placed" if h.hold_id in done.placed else "already in place:"
            print(f"{verb} {describe(h)}")
        for report_id in done.already_destroyed:
            print(
                f"note: the evidence of report {report_id} was already destroyed; nothing to hold",
                file=sys.stderr,
            )
        return 0

    return run_reporting_errors(go)


def _release(args: argparse.Namespace) -> int:
    from report_service.escalation.preservation.service import release_hold

    def go() -> int:
        with open_data(args.data) as (_settings, sessions), sessions.begin() as session:
            now = now_ms()
            released = [
                release_hold(
                    session,
                    hold_id,
                    args.reason,
                    actor=args.by,
                    now_ms=now,
                    force_before_expiry=args.force_before_expiry,
                )
                for hold_id in dict.fromkeys(args.hold_ids)
            ]
        for h in released:
            print(f"released {describe(h)}")
        return 0

    return run_reporting_errors(go)


def _holds(args: argparse.Namespace) -> int:
    from report_service.escalation.preservation.service import list_holds

    def go() -> int:
        with open_data(args.data) as (_settings, sessions), sessions() as session:
            found = list_holds(session, now_ms(), include_inactive=args.all, report_id=args.report)
        if args.json:
            print(json.dumps([h.to_json() for h in found], indent=2))
            return 0
        for h in found:
            print(describe(h))
        what = "holds" if args.all else "active holds"
        print(f"{len(found)} {what}", file=sys.stderr)
        return 0

    return run_reporting_errors(go)
