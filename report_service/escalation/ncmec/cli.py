"""``frankly ncmec list|show|approve|submit|export|demo``: CyberTipline reports by hand.

They act on the data folder (``--data DIR``) like every service command. ``approve``
needs ``--by`` naming an active ``safety_lead`` account (not the moderator who decided);
``submit`` makes one pass of the submitter over approved reports (nothing is sent
unless ``FRANKLY_NCMEC_URL`` and the credentials are set); ``export`` writes an approved
report's package to a new folder. Output names reports, items and ids only. Exit status
0 on success, 2 with ``error: ...`` on stderr otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from report_service._cli_common import add_data_option, now_ms, open_data, run_reporting_errors


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``ncmec`` to the ``frankly`` parser."""
    p = subparsers.add_parser("ncmec", help="NCMEC CyberTipline reports: review, approve, send")
    sub = p.add_subparsers(dest="ncmec_command", metavar="ACTION", required=True)

    lst = sub.add_parser("list", help="list CyberTipline reports and where each stands")
    lst.add_argument("--status", default=None, help="only this status (prepared, approved, ...)")
    add_data_option(lst)
    lst.set_defaults(func=_list)

    show = sub.add_parser("show", help="show one report as JSON (no content)")
    show.add_argument("report", type=int, metavar="N", help="Frankly's report number")
    add_data_option(show)
    show.set_defaults(func=_show)

    approve = sub.add_parser("approve", help="approve a prepared report for submission")
    approve.add_argument("report", type=int, metavar="N", help="Frankly's report number")
    approve.add_argument(
        "--by", required=True, metavar="NAME", help="the approving safety_lead account"
    )
    approve.add_argument(
        "--classification",
        choices=["A1", "A2", "B1", "B2"],
        default=None,
        help="industry classification of every file",
    )
    approve.add_argument(
        "--screen-name", default=None, metavar="NAME", help="the reported user's screen name"
    )
    approve.add_argument(
        "--high-priority",
        default=None,
        metavar="TEXT",
        help="ask NCMEC to escalate, saying why (a child in imminent danger)",
    )
    approve.add_argument(
        "--publicly-available",
        action="store_true",
        help="the files were publicly available on the service",
    )
    add_data_option(approve)
    approve.set_defaults(func=_approve)

    submit = sub.add_parser("submit", help="send every approved report now (one pass)")
    add_data_option(submit)
    submit.set_defaults(func=_submit)

    export = sub.add_parser(
        "export", help="write an approved report's package (XML and files) to a new folder"
    )
    export.add_argument(
        "ref", metavar="REPORT_OR_ITEM", help="an item id (42) or a report number (ct-7)"
    )
    export.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="the new folder to write"
    )
    export.add_argument(
        "--by", default="cli", metavar="NAME", help="who exports, for the audit log"
    )
    add_data_option(export)
    export.set_defaults(func=_export)

    demo = sub.add_parser(
        "demo",
        help="a confirmed child-safety case the whole way out: filed with a local "
        "CyberTipline stand-in after a lead's approval, then the hold, the DSA statement of "
        "reasons, the reporter's notice and signed webhooks checked (temporary folder, "
        "loopback only; make demo-escalation)",
    )
    demo.set_defaults(func=_demo)


def _run(args: argparse.Namespace, action: Any, *, keys: bool = False) -> int:
    from report_service.escalation.ncmec.service import NcmecService

    def go() -> int:
        with open_data(args.data) as (settings, sessions):
            evidence = None
            if keys:
                from report_service.keys import load_key_file
                from report_service.review.media.evidence_access import MasterKeyEvidence

                material = load_key_file(settings.resolved_key_file)
                evidence = MasterKeyEvidence(lambda kid: material.master_key(kid).key)
            result: int = action(settings, sessions, NcmecService(sessions, now_ms), evidence)
            return result

    return run_reporting_errors(go, also=(FileExistsError,))


def _list(args: argparse.Namespace) -> int:
    def go(_s: Any, _db: Any, service: Any, _e: Any) -> int:
        for r in service.list(None, args.status).reports:
            ncmec_id = r.ncmec_report_id if r.ncmec_report_id is not None else "-"
            print(
                f"ct-{r.id}\titem {r.item_id}\t{r.status}\tNCMEC {ncmec_id}\t"
                f"{len(r.files)} file(s)\t{r.incident_type}"
                + (f"\terror: {r.last_error}" if r.last_error else "")
            )
        return 0

    return _run(args, go)


def _show(args: argparse.Namespace) -> int:
    def go(_s: Any, _db: Any, service: Any, _e: Any) -> int:
        print(json.dumps(service.show(None, args.report).model_dump(), indent=2))
        return 0

    return _run(args, go)


def _approve(args: argparse.Namespace) -> int:
    def go(_s: Any, sessions: Any, service: Any, _e: Any) -> int:
        from report_service.escalation.ncmec.schemas import ApproveIn
        from report_service.review.core import Actor
        from report_service.review.errors import Forbidden
        from report_service.review.models import Moderator
        from report_service.review.moderators.roles import Role

        with sessions() as session:
            mod = session.get(Moderator, args.by)
            if mod is None or mod.revoked_at is not None:
                raise Forbidden(f"--by {args.by!r} is not an active moderator account")
            actor = Actor(mod.name, Role.parse(mod.role))
        body = ApproveIn(
            classification=args.classification,
            screen_name=args.screen_name,
            escalate_to_high_priority=args.high_priority,
            publicly_available=args.publicly_available,
        )
        r = service.approve(actor, args.report, body)
        print(f"ct-{r.id} approved by {r.approved_by}; it is sent by the next submitter pass")
        return 0

    return _run(args, go)


def _submit(args: argparse.Namespace) -> int:
    def go(settings: Any, sessions: Any, _service: Any, evidence: Any) -> int:
        from report_service.escalation.ncmec import config, wiring
        from report_service.escalation.ncmec.store import get

        client = config.client(settings)
        try:
            submitter = wiring.submitter(
                settings, sessions, now_ms, evidence, client, owner=f"cli-{os.getpid()}"
            )
            worked = submitter.run_once()
        finally:
            client.close()
        with sessions() as session:
            for rid in worked:
                row = get(session, rid)
                extra = f"; {row.last_error}" if row.last_error else ""
                print(f"ct-{rid}\t{row.status}\tNCMEC {row.ncmec_report_id or '-'}{extra}")
        if not worked:
            print("nothing to send")
        return 0

    return _run(args, go, keys=True)


def _demo(args: argparse.Namespace) -> int:
    from report_service.escalation.ncmec.demo import run

    return run()


def _export(args: argparse.Namespace) -> int:
    def go(settings: Any, sessions: Any, _service: Any, evidence: Any) -> int:
        from report_service.escalation.ncmec import config
        from report_service.escalation.ncmec.export import export_package

        manifest = export_package(
            sessions,
            evidence,
            config.profile(settings),
            args.ref,
            args.out,
            actor=args.by,
            clock=now_ms,
        )
        files = manifest["files"]
        count = len(files) if isinstance(files, list) else 0
        print(f"wrote {count} file(s) and manifest.json to {args.out}")
        return 0

    return _run(args, go, keys=True)
