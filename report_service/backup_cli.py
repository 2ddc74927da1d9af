"""``frankly backup DEST`` and ``frankly restore SRC``: see :mod:`report_service.backup`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _data_arg(parser: argparse.ArgumentParser, what: str = "data folder") -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"{what} (default: ./frankly-data, or FRANKLY_DATA_DIR)",
    )


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``backup`` and ``restore`` to the ``frankly`` parser."""
    b = subparsers.add_parser(
        "backup",
        help="copy the database and the key file consistently into a new folder (0700, "
        "files 0600); the service may keep running",
    )
    b.add_argument(
        "dest",
        type=Path,
        metavar="DEST",
        help="a new (or empty) folder; it will hold every secret of the service",
    )
    _data_arg(b)
    b.set_defaults(func=_backup)
    r = subparsers.add_parser(
        "restore",
        help="restore a backup into a fresh data folder (and an empty database), then "
        "verify the audit chain",
    )
    r.add_argument("src", type=Path, metavar="SRC", help="a folder made by `frankly backup`")
    _data_arg(
        r,
        "the fresh data folder to restore into (no key file or database yet; with "
        "FRANKLY_DATABASE_URL set, an empty PostgreSQL database)",
    )
    r.set_defaults(func=_restore)


def _backup(args: argparse.Namespace) -> int:
    from report_service.app import wall_clock_ms
    from report_service.backup import backup
    from report_service.errors import ServiceError
    from report_service.settings import load_settings

    try:
        settings = load_settings(args.data)
        result = backup(
            settings.resolved_database_url,
            settings.resolved_key_file,
            args.dest,
            clock=wall_clock_ms,
        )
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    head = result.manifest["audit_head"]
    print(
        f"backed up the {result.manifest['database']} database and the key file to "
        f"{result.folder} (audit head seq {head['seq']} hash {head['hash']}). It holds "
        "every secret of the service: store it encrypted, apart from other copies."
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    import time

    from report_service.backup import restore
    from report_service.errors import ServiceError
    from report_service.review.audit import store as audit_store
    from report_service.review.service import ReviewService
    from report_service.settings import load_settings
    from report_service.storage.migrate import open_database

    try:
        settings = load_settings(args.data)
        if settings.database_url is None:
            settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        manifest = restore(args.src, settings.resolved_database_url, settings.resolved_key_file)
        with open_database(settings) as sessions:
            verified = ReviewService(
                sessions, lambda: time.time_ns() // 1_000_000, _NoEvidence()
            ).audit_verify()
            with sessions() as session:
                expected = manifest["audit_head"]
                seq = (
                    0
                    if expected["seq"] == 0
                    else audit_store.audit_seq_of(session, str(expected["hash"]))
                )
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not verified.ok:
        print(
            f"restored, but the audit chain is BROKEN at position {verified.first_broken}: "
            f"{verified.problem}",
            file=sys.stderr,
        )
        return 1
    if seq is None:
        print("restored, but the backup's audit head is not in the chain", file=sys.stderr)
        return 1
    print(
        f"restored {args.src} into {settings.data_dir}: audit chain ok, {verified.entries} "
        f"entries, head seq {verified.head_seq}; start the service with `frankly serve`"
    )
    return 0


class _NoEvidence:
    def read(self, session: Any, report_id: str, kind: str, ref: str) -> bytes | None:
        from report_service.errors import EvidenceDestroyed

        raise EvidenceDestroyed("restore does not read evidence")
