"""``frankly evidence destroy|purge``: crypto-shred report evidence, audited (``hold``,
``release`` and ``holds`` join the same ``evidence`` command from
:mod:`report_service.escalation.preservation.cli`).

Both act on the data folder (``--data DIR``, default ``./frankly-data`` or the settings),
whose database is found by :func:`report_service.settings.load_settings`. They need no
key file: destroying deletes a wrapped key, it never decrypts anything. Output names
reports, items and audit positions only; never content or key material. Exit status 0 on
success, 2 with ``error: ...`` on stderr when nothing was destroyed because of an error
(unknown report, already destroyed, under a preservation hold, bad reason or name,
database unreachable).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
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
    from report_service.review.lifecycle.destruction import EvidenceDestroyer


def register(subparsers: argparse._SubParsersAction[Any]) -> argparse._SubParsersAction[Any]:
    """Add ``evidence`` to the ``frankly`` parser; returns its sub-command action, to which
    :mod:`report_service.cli` adds the preservation-hold commands."""
    ev = subparsers.add_parser(
        "evidence", help="destroy report evidence (crypto-shredding) and manage preservation holds"
    )
    esub: argparse._SubParsersAction[Any] = ev.add_subparsers(
        dest="evidence_command", metavar="ACTION", required=True
    )

    destroy = esub.add_parser(
        "destroy",
        help="destroy one report's evidence now (e.g. a legal or data-protection request)",
        description="Delete the report's wrapped data key: its message text, attachments, "
        "comment and device hints can never be decrypted again. The verified facts stay. "
        "Works whatever the state of the report's items, legal hold included, but is "
        "refused while a preservation hold keeps the report (frankly evidence holds; "
        "release it first). Audited (evidence_destroy) with --by and --reason.",
    )
    destroy.add_argument(
        "report_id", metavar="REPORT_ID", help="the report id the reporter's client printed"
    )
    destroy.add_argument(
        "--reporter",
        default=None,
        metavar="USER",
        help="the reporter who asked: REPORT_ID is then the id their client printed, "
        "found even when the service stored it under an alias, and never someone else's",
    )
    _common(destroy)
    destroy.set_defaults(func=_destroy)

    purge = esub.add_parser(
        "purge",
        help="destroy the evidence of reports decided more than N days ago",
        description="Destroy the evidence of every report whose items are all decided "
        "and unclaimed, whose decisions and arrival are more than N days old, and whose "
        "items were never escalated to legal or child safety (legal hold: never purged), "
        "and that no preservation hold keeps (each held report is listed with its hold). "
        "Each report is audited (evidence_destroy).",
    )
    purge.add_argument(
        "--decided-before-days",
        type=int,
        required=True,
        metavar="N",
        help="retention period in days (at least 1)",
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="list what would be destroyed; change nothing"
    )
    _common(purge)
    purge.set_defaults(func=_purge)
    return esub


def _common(parser: argparse.ArgumentParser) -> None:
    add_reason_option(parser, "a ticket reference")
    add_by_option(parser, "destroying")
    add_data_option(parser)


def _run(args: argparse.Namespace, action: Callable[[EvidenceDestroyer], int]) -> int:
    """``action`` with a destroyer on the data folder's database (schema upgraded first),
    or ``error: ...`` and 2."""

    def go() -> int:
        from report_service.review.lifecycle.destruction import EvidenceDestroyer

        with open_data(args.data) as (_settings, sessions):
            return action(EvidenceDestroyer(sessions, now_ms))

    return run_reporting_errors(go)


def _items(ids: tuple[int, ...]) -> str:
    return ", ".join(str(i) for i in ids) or "none"


def _scrub_note(scrubbed: bool) -> None:
    if not scrubbed:
        print(
            "note: another process is reading the SQLite database, so its write-ahead log "
            "was not checkpointed; old pages are overwritten at the next checkpoint",
            file=sys.stderr,
        )


def _destroy(args: argparse.Namespace) -> int:
    def act(destroyer: EvidenceDestroyer) -> int:
        done = destroyer.destroy(
            args.report_id, actor=args.by, reason=args.reason, reporter=args.reporter
        )
        print(
            f"destroyed the evidence of report {done.report_id} (items: {_items(done.item_ids)}; "
            f"audit entry {done.audit_seq})"
        )
        _scrub_note(done.scrubbed)
        return 0

    return _run(args, act)


def _purge(args: argparse.Namespace) -> int:
    from report_service.review.lifecycle.retention import Verdict

    def act(destroyer: EvidenceDestroyer) -> int:
        result = destroyer.purge(
            decided_before_days=args.decided_before_days,
            actor=args.by,
            reason=args.reason,
            dry_run=args.dry_run,
        )
        for d in result.destroyed:
            print(
                f"destroyed {d.report_id} (items: {_items(d.item_ids)}; audit entry {d.audit_seq})"
            )
        for report_id in result.would_destroy:
            print(f"would destroy {report_id}")
        for h in result.held:
            ref = f", reference {h.reference}" if h.reference else ""
            until = "until released" if h.expires_at is None else f"until {utc_text(h.expires_at)}"
            print(f"kept {h.report_id}: preservation_hold {h.hold_id} ({h.source}{ref}) {until}")
        count = len(result.would_destroy) if result.dry_run else len(result.destroyed)
        kept = ", ".join(
            f"{result.kept.get(v, 0)} {v.value}" for v in Verdict if v is not Verdict.DESTROY
        )
        verb = "would destroy" if result.dry_run else "destroyed"
        print(
            f"{verb} {count}; kept {kept} "
            f"(cutoff {utc_text(result.cutoff_ms)}, {result.cutoff_ms} ms)"
        )
        _scrub_note(result.scrubbed)
        return 0

    return _run(args, act)
