"""``frankly log verify|monitor``: audit a published log of list versions.

SOURCE is a folder written by ``frankly log publish`` or a base URL that serves the same
files (``checkpoint``, ``tile/...``). Exit status: 0 the log checks out; 1 the audit found
it wrong (the error's class and code are printed); 2 the log could not be read or an
argument is bad. The auditor's state file (``--state``) is written 0600.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from client_scan.transparency.audit import AuditReport
    from client_scan.transparency.bundle import Fetch

EXIT_AUDIT_FAILED = 1
EXIT_UNAVAILABLE = 2


class _UsageError(Exception):
    pass


def register_audit_commands(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``verify`` and ``monitor`` to the ``frankly log`` subcommands."""
    verify = sub.add_parser("verify", help="audit a whole published log (checkpoint to leaves)")
    _add_audit_arguments(verify)
    verify.set_defaults(func=_verify)
    monitor = sub.add_parser("monitor", help="watch a published log and print each new version")
    _add_audit_arguments(monitor)
    monitor.add_argument(
        "--interval", type=float, default=300.0, metavar="S", help="seconds between looks"
    )
    monitor.add_argument("--once", action="store_true", help="look once and stop")
    monitor.set_defaults(func=_monitor)


def _add_audit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SOURCE", help="a published log: a folder or base URL")
    p.add_argument("--log-vkey", required=True, metavar="VKEY", help="the log's verifier key")
    p.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="VKEY",
        help="a trusted witness's verifier key (repeat for several)",
    )
    p.add_argument(
        "--witness-threshold",
        type=int,
        default=None,
        metavar="N",
        help="trusted witnesses that must cosign (default: all given)",
    )
    p.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="auditor state (0600): the checkpoint and list heads seen last; without it "
        "every run starts afresh",
    )
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PUBKEY_B64",
        help="a trusted curator public key, base64 (repeat); every leaf must name them",
    )
    p.add_argument(
        "--threshold", type=int, default=1, metavar="K", help="trusted curators per list"
    )
    p.add_argument(
        "--lists",
        type=Path,
        metavar="DIR",
        help="folder of list bodies named <digest hex>.list, checked against their leaves",
    )
    p.add_argument(
        "--require-lists", action="store_true", help="fail when a logged list's body is missing"
    )


def _fetch(source: str) -> Fetch:
    from client_scan.transparency.fetch import HttpLog, directory_fetch

    if source.startswith(("http://", "https://")):
        return HttpLog(source)
    if not Path(source).is_dir():
        raise _UsageError(f"{source} is neither a folder nor an http(s) URL")
    return directory_fetch(source)


def _audit(args: argparse.Namespace, fetch: Fetch) -> AuditReport:
    from client_scan.transparency.audit import (
        AuditState,
        audit_log,
        directory_lists,
        load_state,
        save_state,
    )
    from hashes.lists import TrustPolicy
    from hashes.transparency.cosignature import WitnessPolicy
    from hashes.transparency.note import parse_vkey

    witnesses = tuple(parse_vkey(w) for w in args.witness)
    threshold = len(witnesses) if args.witness_threshold is None else args.witness_threshold
    keys: dict[str, bytes] = {}
    for text in args.trust:
        try:
            key = base64.b64decode(text, validate=True)
        except binascii.Error:
            raise _UsageError(f"--trust {text[:60]!r} is not base64") from None
        keys[text] = key
    curators = TrustPolicy(keys, args.threshold) if keys else None
    state = load_state(args.state) if args.state is not None else AuditState()
    report = audit_log(
        fetch,
        log_key=parse_vkey(args.log_vkey),
        witnesses=WitnessPolicy(witnesses, threshold),
        state=state,
        now_s=int(time.time()),
        curators=curators,
        lists_by_digest=directory_lists(args.lists) if args.lists is not None else None,
        require_lists=args.require_lists,
    )
    if args.state is not None:
        save_state(args.state, report.state)
    return report


def _guarded(action: Callable[[], int]) -> int:
    from client_scan.errors import LogAuditFailed, LogUnavailable
    from hashes.errors import HashesError

    try:
        return action()
    except LogAuditFailed as exc:
        print(f"FAILED {type(exc).__name__} ({exc.code}): {exc}", file=sys.stderr)
        return EXIT_AUDIT_FAILED
    except (LogUnavailable, _UsageError, HashesError, ValueError, OSError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE


def _verify(args: argparse.Namespace) -> int:
    def act() -> int:
        report = _audit(args, _fetch(args.source))
        cp = report.state.checkpoint
        root = cp.checkpoint.root_hash.hex() if cp is not None else "-"
        cosigners = ", ".join(report.witnesses) or "no witness"
        ids = len(report.state.heads)
        print(f"checkpoint: {report.size} leaves, root {root}, cosigned by {cosigners}")
        print(
            f"leaves: {report.size} parse; {ids} list id(s), each version the successor of the last"
        )
        print(f"new since the last run: {len(report.new_leaves)} leaf(s)")
        print(f"list bodies checked: {report.bodies_checked}")
        print("OK")
        return 0

    return _guarded(act)


def _monitor(args: argparse.Namespace) -> int:
    from client_scan.transparency.audit import describe_changes, directory_lists

    lookup = directory_lists(args.lists) if args.lists is not None else None

    def act() -> int:
        fetch = _fetch(args.source)
        while True:
            report = _audit(args, fetch)
            for index, leaf in report.new_leaves:
                print(
                    f"[{index}] " + "\n".join(describe_changes(leaf, lookup, leaf.previous_digest))
                )
            if not report.new_leaves:
                print(f"no new version ({report.size} leaves)")
            sys.stdout.flush()
            if args.once:
                return 0
            time.sleep(args.interval)

    return _guarded(act)
