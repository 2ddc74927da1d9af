"""``frankly client ...``: the client flow from a terminal, against a running service.

State lives in a folder (``--home``, default ``./frankly-client``): ``client.json`` (user
id, service URL, bearer token; written 0600), ``<user>/records.sqlite`` and
``<user>/outbox.sqlite``. The E2EE session of a real messenger is stood in for by a shared
32-byte key given as ``--session-key`` (base64; ``frankly client session-key`` makes one):
a demo of the reference envelope, not a key exchange.

Commands: ``init``, ``session-key``, ``send``, ``inbox``, ``messages``, ``accept``,
``scan``, ``report``, ``outbox``, ``status``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from client_scan.bounded_json import JsonInputError, parse_json

if TYPE_CHECKING:
    from client_scan.client import FranklyClient

DEFAULT_HOME = Path("frankly-client")
CONFIG_FILE = "client.json"


class CliError(Exception):
    """A usage problem reported as one line on stderr."""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands to the ``frankly`` parser."""
    client = subparsers.add_parser(
        "client", help="the client library from a terminal: send, receive, scan, report"
    )
    client.add_argument(
        "--home",
        type=Path,
        default=DEFAULT_HOME,
        metavar="DIR",
        help="client state folder (default: ./frankly-client)",
    )
    sub = client.add_subparsers(dest="client_command", metavar="ACTION", required=True)

    init = sub.add_parser("init", help="remember the service URL, your user id and token")
    init.add_argument("--url", required=True, help="service base URL, e.g. http://127.0.0.1:8000")
    init.add_argument("--user", required=True, help="your user id (the name given to users add)")
    given = init.add_mutually_exclusive_group(required=True)
    given.add_argument(
        "--token",
        metavar="TOKEN",
        help="your bearer token (from users add); one that starts with '-' works too, "
        "but --token-file keeps it out of your shell history",
    )
    given.add_argument(
        "--token-file",
        metavar="PATH",
        help="read the bearer token from this file's first line ('-': standard input)",
    )
    init.set_defaults(func=_wrap(_init))

    key = sub.add_parser("session-key", help="print a new random demo session key (base64)")
    key.set_defaults(func=_wrap(_session_key))

    send = sub.add_parser("send", help="frank and send a message through the relay")
    send.add_argument("recipient", help="the recipient's user id")
    send.add_argument("body", help="the message text")
    send.add_argument("--conversation", required=True, metavar="ID", help="conversation id")
    send.add_argument(
        "--session-key", required=True, metavar="KEY_B64", help="shared demo key, base64"
    )
    send.add_argument(
        "--attach",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a file to attach (repeat for several)",
    )
    send.set_defaults(func=_wrap(_send))

    inbox = sub.add_parser("inbox", help="fetch, verify and keep incoming messages")
    inbox.add_argument(
        "--session-key", required=True, metavar="KEY_B64", help="shared demo key, base64"
    )
    inbox.set_defaults(func=_wrap(_inbox))

    messages = sub.add_parser("messages", help="list the local records of a conversation")
    messages.add_argument("conversation", help="conversation id")
    messages.set_defaults(func=_wrap(_messages))

    accept = sub.add_parser("accept", help="check a downloaded attachment and keep it")
    accept.add_argument(
        "message_id", metavar="RECORD_ID", help="the message's record id (inbox, messages)"
    )
    accept.add_argument("attachment_id", help="the attachment id inbox printed")
    accept.add_argument("file", type=Path, help="the downloaded attachment's bytes")
    accept.set_defaults(func=_wrap(_accept))

    scan = sub.add_parser("scan", help="scan files on this device against signed hash lists")
    scan.add_argument("files", type=Path, nargs="+", metavar="FILE", help="files to scan")
    scan.add_argument(
        "--list",
        dest="lists",
        type=Path,
        action="append",
        required=True,
        metavar="LIST_FILE",
        help="a signed hash list (repeat for several)",
    )
    scan.add_argument(
        "--trust", action="append", required=True, metavar="PUBKEY_B64", help="curator key"
    )
    scan.add_argument(
        "--threshold", type=int, default=1, metavar="K", help="curators that must sign (1)"
    )
    scan.add_argument(
        "--log",
        metavar="SOURCE",
        help="transparency mode: accept each list only with proofs from this published log "
        "(folder or URL); needs --log-vkey",
    )
    scan.add_argument("--log-vkey", metavar="VKEY", help="the log's verifier key")
    scan.add_argument(
        "--witness", action="append", default=[], metavar="VKEY", help="a trusted witness key"
    )
    scan.add_argument(
        "--witness-threshold",
        type=int,
        default=None,
        metavar="N",
        help="trusted witnesses that must cosign (default: all given)",
    )
    scan.set_defaults(func=_wrap(_scan))

    report = sub.add_parser("report", help="report received message(s) to the service")
    report.add_argument(
        "message_ids",
        nargs="+",
        metavar="RECORD_ID",
        help="record ids of the messages to report (inbox, messages); one copy of a message "
        "per report",
    )
    report.add_argument("--reason", required=True, help="child_safety, harassment, spam, ...")
    report.add_argument("--comment", metavar="TEXT", help="your own words (unverified)")
    report.add_argument(
        "--context", type=int, default=10, metavar="N", help="context messages (default 10)"
    )
    report.add_argument(
        "--include", action="append", default=[], metavar="SHA256", help="attachment to include"
    )
    report.set_defaults(func=_wrap(_report))

    outbox = sub.add_parser("outbox", help="list the outbox; --flush retries what is due")
    outbox.add_argument(
        "--flush", action="store_true", help="retry the messages and reports that are due"
    )
    outbox.add_argument("--now", action="store_true", help="with --flush: retry all pending now")
    outbox.set_defaults(func=_wrap(_outbox))

    status = sub.add_parser("status", help="a report's status and outcome")
    status.add_argument("report_id", help="the report id report printed")
    status.set_defaults(func=_wrap(_status))


def _wrap(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Expected errors print one line on stderr (never a secret) and exit with status 1."""

    def run(args: argparse.Namespace) -> int:
        from client_scan.errors import (
            ClientScanError,
            ListUpdateRejected,
            ReportRejected,
            SubmissionDeferred,
        )

        try:
            return handler(args)
        except ReportRejected as exc:
            where = "" if exc.message_index is None else f" (message {exc.message_index})"
            print(f"error: refused: {exc.code}{where}: {exc.message}", file=sys.stderr)
        except SubmissionDeferred as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
        except ListUpdateRejected as exc:
            print(f"error: {type(exc).__name__} ({exc.code}): {exc}", file=sys.stderr)
        except ClientScanError as exc:
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        except BrokenPipeError:
            raise  # the reader went away: frankly.cli.main stops quietly
        except (CliError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
        return 1

    return run


def iso_utc(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 in UTC, e.g. ``2026-12-03T09:41:07.123Z``."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _config_path(args: argparse.Namespace) -> Path:
    home: Path = args.home
    return home / CONFIG_FILE


def read_token(source: str) -> str:
    """The token on the first line of the file ``source`` (``-``: standard input).

    Raises:
        CliError: the file cannot be read, or its first line is empty.
    """
    try:
        if source == "-":
            text = sys.stdin.readline()
        else:
            with open(source, encoding="utf-8") as f:
                text = f.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the token from {source}: {exc}") from None
    token = text.strip()
    if not token:
        where = "standard input" if source == "-" else source
        raise CliError(f"no token in {where} (expected it on the first line)")
    return token


def _init(args: argparse.Namespace) -> int:
    token = args.token if args.token is not None else read_token(args.token_file)
    if not token.strip():
        raise CliError("--token is empty")
    home: Path = args.home
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = _config_path(args)
    config = {"base_url": args.url, "user_id": args.user, "token": token}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(config, f)
    print(f"client for {args.user} at {args.url} in {home}")
    return 0


def _open(args: argparse.Namespace) -> FranklyClient:
    from client_scan.client import FranklyClient

    path = _config_path(args)
    try:
        config = parse_json(path.read_bytes(), max_bytes=64 * 1024)
    except FileNotFoundError:
        raise CliError(f"no {path}; run `frankly client init` first") from None
    except JsonInputError as exc:
        raise CliError(f"{path} is not valid JSON ({exc})") from None
    fields = ("user_id", "base_url", "token")
    if not isinstance(config, dict) or not all(isinstance(config.get(k), str) for k in fields):
        raise CliError(f"{path} must hold user_id, base_url and token; run `frankly client init`")
    home: Path = args.home
    return FranklyClient(
        user_id=config["user_id"],
        base_url=config["base_url"],
        token=config["token"],
        data_dir=home / config["user_id"],
    )


def _session_key_arg(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise CliError("--session-key is not base64") from None
    if len(key) != 32:
        raise CliError("--session-key must be 32 bytes (base64)")
    return key


def _session_key(args: argparse.Namespace) -> int:
    print(base64.b64encode(os.urandom(32)).decode())
    return 0


def _send(args: argparse.Namespace) -> int:
    import mimetypes

    from client_scan.messaging import Attachment

    key = _session_key_arg(args.session_key)
    attachments = [
        Attachment(
            p.read_bytes(), mimetypes.guess_type(p.name)[0] or "application/octet-stream", p.name
        )
        for p in args.attach
    ]
    with _open(args) as client:
        record = client.send(key, args.recipient, args.conversation, args.body, attachments)
    print(
        f"sent {record.id} at {iso_utc(record.timestamp_ms)} "
        f"(t={record.timestamp_ms} ms, relay id {record.relay_message_id})"
    )
    for ref in record.payload.attachments:
        print(f"  attachment {ref.id} sha256 {ref.sha256} ({ref.size} bytes)")
    return 0


def _inbox(args: argparse.Namespace) -> int:
    key = _session_key_arg(args.session_key)
    with _open(args) as client:
        result = client.receive(lambda delivery: key)
    for record in result.accepted:
        print(
            f"{record.id} from {record.message.sender_id} in {record.conversation_id}: "
            f"{record.payload.body!r}"
        )
        for ref in record.payload.attachments:
            print(f"  attachment {ref.id} sha256 {ref.sha256} ({ref.size} bytes, {ref.mime})")
    for rejection in result.rejected:
        d = rejection.delivery
        print(
            f"refused delivery {d.message_id} from {d.sender_id}: {type(rejection.error).__name__}",
            file=sys.stderr,
        )
    print(f"{len(result.accepted)} accepted, {len(result.rejected)} refused")
    return 0 if not result.rejected else 2


def _messages(args: argparse.Namespace) -> int:
    with _open(args) as client:
        records = client.store.conversation(args.conversation)
    for r in records:
        m = r.message
        print(
            f"{r.id} {r.direction:<8} {m.sender_id}->{m.recipient_id} {iso_utc(m.timestamp_ms)} "
            f"{r.payload.body!r}"
        )
    return 0


def _accept(args: argparse.Namespace) -> int:
    with _open(args) as client:
        ref = client.accept_attachment(args.message_id, args.attachment_id, args.file.read_bytes())
    print(f"attachment {ref.id} verified and kept (sha256 {ref.sha256})")
    return 0


def _scan(args: argparse.Namespace) -> int:
    from client_scan.scanner import Scanner
    from hashes.lists import TrustPolicy

    keys: dict[str, bytes] = {}
    for text in args.trust:
        try:
            keys[text] = base64.b64decode(text, validate=True)
        except binascii.Error:
            raise CliError(f"--trust {text[:60]!r} is not base64") from None
    try:
        policy = TrustPolicy(curator_keys=keys, threshold=args.threshold)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.log is None:
        scanner = Scanner(policy)
        for path in args.lists:
            state = scanner.load_list(path.read_bytes())
            print(f"list {state.list_id} v{state.version} verified")
    else:
        scanner = _transparent_scanner(args, policy)
        for path in args.lists:
            state = _apply_from_log(args, scanner, path.read_bytes())
            size = scanner.trusted_checkpoint.checkpoint.size if scanner.trusted_checkpoint else 0
            print(f"list {state.list_id} v{state.version} verified in the log ({size} leaves)")
    matched = 0
    for path in args.files:
        result = scanner.scan(path.read_bytes())
        note = " (low quality)" if result.low_quality else ""
        if result.decode_error:
            note += f" (not decoded: {result.decode_error})"
        print(f"{path}: {len(result.matches)} match(es){note}")
        for m in result.matches:
            variant = f" variant {m.variant}" if m.variant != "original" else ""
            print(f"  {m.list_id} v{m.list_version} {m.category} distance {m.distance}{variant}")
        matched += bool(result.matches)
    return 0 if matched == 0 else 3


def _transparent_scanner(args: argparse.Namespace, policy: Any) -> Any:
    """A scanner in transparency mode whose trusted state lives in ``<home>/trust.json``."""
    from client_scan.scanner import Scanner
    from client_scan.transparency.rule import LogPolicy
    from client_scan.transparency.store import TrustStore
    from hashes.errors import HashesError
    from hashes.transparency.cosignature import WitnessPolicy
    from hashes.transparency.note import parse_vkey

    if not args.log_vkey:
        raise CliError("--log needs --log-vkey")
    try:
        witnesses = tuple(parse_vkey(w) for w in args.witness)
        n = len(witnesses) if args.witness_threshold is None else args.witness_threshold
        log_policy = LogPolicy(parse_vkey(args.log_vkey), WitnessPolicy(witnesses, n))
    except (HashesError, ValueError) as exc:
        raise CliError(f"bad log policy: {exc}") from None
    args.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Scanner(policy, log_policy=log_policy, store=TrustStore(args.home / "trust.json"))


def _apply_from_log(args: argparse.Namespace, scanner: Any, data: bytes) -> Any:
    from client_scan.transparency.bundle import build_bundle
    from client_scan.transparency.fetch import HttpLog, directory_fetch

    old = scanner.trusted_checkpoint
    old_size = old.checkpoint.size if old is not None else 0
    if args.log.startswith(("http://", "https://")):
        with HttpLog(args.log) as fetch:
            bundle = build_bundle(data, fetch, old_size=old_size)
    else:
        bundle = build_bundle(data, directory_fetch(args.log), old_size=old_size)
    return scanner.apply_update(bundle)


def _report(args: argparse.Namespace) -> int:
    from client_scan.report_format import Reason

    try:
        reason = Reason(args.reason)
    except ValueError:
        raise CliError(f"--reason must be one of {', '.join(Reason)}") from None
    with _open(args) as client:
        entry = client.report(
            args.message_ids,
            reason,
            comment=args.comment,
            context=args.context,
            include_attachments=args.include,
        )
    print(f"report {entry.report_id}: {entry.status}")
    return 0


def _outbox(args: argparse.Namespace) -> int:
    with _open(args) as client:
        if args.flush:
            result = client.flush_outbox(force=args.now)
            print(
                f"sent {len(result.sent)}, refused {len(result.failed)}, "
                f"deferred {len(result.deferred)}"
            )
        entries = client.outbox.entries()
        pending = client.pending_sends()
    for e in entries:
        detail = e.service_status or e.error_code or e.last_error or ""
        print(f"{e.report_id} {e.status:<7} attempts={e.attempts} {detail}")
    for m in pending:
        print(f"message {m.client_message_id} to {m.recipient_id} pending attempts={m.attempts}")
    return 0


def _status(args: argparse.Namespace) -> int:
    with _open(args) as client:
        status = client.report_status(args.report_id)
    outcome = "" if status.outcome is None else f" outcome={json.dumps(status.outcome)}"
    print(f"{status.report_id}: {status.status}{outcome}")
    return 0
