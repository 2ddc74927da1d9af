"""``frankly dsa submit|export|show|forget`` and ``frankly appeals list``.

They act on the data folder (``--data DIR``) whose database
:func:`report_service.settings.load_settings` finds. ``dsa submit`` sends nothing unless
``dsa_endpoint`` and a token are configured. Output names statements by id and PUID and
never prints the token. Exit status 0 on success, 2 with ``error: ...`` on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from report_service._cli_common import (
    add_data_option,
    fail,
    now_ms,
    open_data,
    run_reporting_errors,
    utc_text,
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``dsa`` and ``appeals`` to the ``frankly`` parser."""
    dsa = subparsers.add_parser("dsa", help="EU DSA statements of reasons (Transparency Database)")
    dsub = dsa.add_subparsers(dest="dsa_command", metavar="ACTION", required=True)
    submit = dsub.add_parser(
        "submit",
        help="send every due statement to the configured Transparency Database, once",
        description="One pass: claim due statements in batches of up to 100, post them, "
        "record each outcome; failures are retried on a later pass with backoff. Safe to "
        "run from several machines at once, and beside `frankly serve`, which does the "
        "same in the background every FRANKLY_DSA_SUBMIT_INTERVAL_S. Needs "
        "FRANKLY_DSA_ENDPOINT and a token.",
    )
    add_data_option(submit)
    submit.set_defaults(func=_submit)
    export = dsub.add_parser(
        "export",
        help="write statements since a date as JSON for manual upload",
        description='Writes {"statements": [...]} (the API\'s multiple-statements body) of '
        "every statement created since DATE that was not withdrawn; sends nothing.",
    )
    export.add_argument(
        "--since", required=True, metavar="DATE", help="first day to include, YYYY-MM-DD (UTC)"
    )
    export.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write to FILE (created 0600) instead of standard output",
    )
    add_data_option(export)
    export.set_defaults(func=_export)
    show = dsub.add_parser("show", help="list statements and their submission state")
    show.add_argument(
        "--state",
        default=None,
        choices=["pending", "submitted", "rejected", "withdrawn"],
        help="only statements in this state",
    )
    add_data_option(show)
    show.set_defaults(func=_show)

    forget = dsub.add_parser(
        "forget",
        help="clear who and which message old statements were about (the EU copy stays)",
        description="For statements older than N days whose decision has no open appeal, "
        "clear the fields kept only for the user's own copy (user id, message id and "
        "time); the user no longer sees them through GET /v1/statements. The copy for "
        "the Transparency Database, which holds no personal data, is kept.",
    )
    forget.add_argument(
        "--older-than-days",
        type=int,
        required=True,
        metavar="N",
        help="age in days (at least 183: the six months in which an appeal may be filed)",
    )
    add_data_option(forget)
    forget.set_defaults(func=_forget)

    appeals = subparsers.add_parser("appeals", help="appeals against decisions (DSA Art. 20)")
    asub = appeals.add_subparsers(dest="appeals_command", metavar="ACTION", required=True)
    lst = asub.add_parser("list", help="list appeals waiting or held (all with --all)")
    lst.add_argument("--all", action="store_true", help="include decided appeals")
    add_data_option(lst)
    lst.set_defaults(func=_appeals_list)


def _submit(args: argparse.Namespace) -> int:
    from report_service.escalation.dsa.config import token_from_settings
    from report_service.escalation.dsa.submitter import Submitter
    from report_service.settings import load_settings
    from report_service.storage.migrate import open_database

    def go() -> int:
        settings = load_settings(args.data)
        token = token_from_settings(settings)
        if settings.dsa_endpoint is None or token is None:
            return fail(
                "nothing sent: set FRANKLY_DSA_ENDPOINT and FRANKLY_DSA_TOKEN "
                "(or FRANKLY_DSA_TOKEN_FILE); `frankly dsa export` writes JSON instead"
            )
        with open_database(settings, create=False) as sessions:
            submitter = Submitter(
                sessions, settings.dsa_endpoint, token, now_ms, batch_size=settings.dsa_batch_size
            )
            try:
                result = submitter.run_once()
            finally:
                submitter.close()
        _print_submitted(result)
        return 0

    return run_reporting_errors(go)


def _print_submitted(result: Any) -> None:
    print(
        f"submitted {result.submitted}, rejected {result.rejected}, "
        f"retrying later {result.retrying} ({result.batches} batches)"
    )
    for err in result.errors:
        print(f"warning: {err}", file=sys.stderr)


def _export(args: argparse.Namespace) -> int:
    from report_service.escalation.dsa import store

    try:
        day = datetime.strptime(args.since, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return fail("--since takes a date YYYY-MM-DD")

    def go() -> int:
        with open_data(args.data) as (_settings, sessions), sessions() as session:
            rows = store.since(session, int(day.timestamp() * 1000))
            doc = {"statements": [json.loads(r.payload) for r in rows]}
        text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
        if args.out is None:
            sys.stdout.write(text)
            return 0
        try:
            fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            return fail(f"cannot write {args.out}: {exc.strerror}")
        print(f"wrote {len(rows)} statements to {args.out}", file=sys.stderr)
        return 0

    return run_reporting_errors(go)


def _when(ms: int | None) -> str:
    return "-" if ms is None else utc_text(ms)


def _show(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from report_service.escalation.dsa.models import StatementRow

    def go() -> int:
        with open_data(args.data) as (_settings, sessions), sessions() as session:
            q = select(StatementRow).order_by(StatementRow.id)
            if args.state is not None:
                q = q.where(StatementRow.state == args.state)
            rows = list(session.scalars(q))
            for r in rows:
                extra = f" error={r.last_error}" if r.last_error else ""
                corrects = f" corrects={r.corrects_id}" if r.corrects_id else ""
                print(
                    f"{r.id}\t{r.puid}\t{r.kind}\t{r.decision}\t{r.state}\t"
                    f"created={_when(r.created_at)}\tsubmitted={_when(r.submitted_at)}\t"
                    f"attempts={r.attempts}{corrects}{extra}"
                )
        print(f"{len(rows)} statements", file=sys.stderr)
        return 0

    return run_reporting_errors(go)


def _appeals_list(args: argparse.Namespace) -> int:
    from report_service.escalation.appeals.service import AppealsService
    from report_service.escalation.dsa.config import mapping_from_settings

    def go() -> int:
        with open_data(args.data) as (settings, sessions):
            service = AppealsService(sessions, now_ms, mapping_from_settings(settings), os.urandom)
            out = service.all_appeals(include_decided=args.all)
        for a in out.appeals:
            print(
                f"{a.appeal_id}\titem={a.item_id}\tstatement={a.statement_id}\t{a.decision}\t"
                f"{a.status}\tdecided_by={a.decided_by}\tclaimed_by={a.claimed_by or '-'}\t"
                f"outcome={a.outcome or '-'}\tfiled={_when(a.created_at)}"
            )
        print(f"{len(out.appeals)} appeals", file=sys.stderr)
        return 0

    return run_reporting_errors(go)


def _forget(args: argparse.Namespace) -> int:
    from report_service.escalation.dsa import store

    if args.older_than_days < 183:
        return fail("--older-than-days must be at least 183 (the appeal window)")
    cutoff = now_ms() - args.older_than_days * 24 * 3600 * 1000

    def go() -> int:
        with open_data(args.data) as (_settings, sessions), sessions.begin() as s:
            count = store.forget_subjects(s, cutoff)
        print(f"cleared the user fields of {count} statements created before {_when(cutoff)}")
        return 0

    return run_reporting_errors(go)
