"""The report wire format (DESIGN.md, "Reports"): parse and encode the report JSON.

The service imports these models rather than defining them again. Parsing checks shape,
types, base64 and limits only; cryptographic checks belong to
:func:`client_scan.franking.verify_report.verify_report`. Every failure here is a
:class:`~client_scan.errors.ReportFormatError` whose ``code`` the service returns.

Codes: ``report_invalid`` (bad JSON, missing or mistyped field, bad base64, bad UUID),
``unsupported_version``, ``too_many_messages``, ``too_many_attachments``,
``too_many_device_matches``, ``comment_too_long``.

The JSON goes through :func:`client_scan.bounded_json.parse_json` (nesting, number length,
repeated keys), and ``device_matches``, the one free-form field the service stores, is a
list of small flat objects (:func:`check_device_matches`), so that what is stored can
always be read back.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from client_scan.bounded_json import JsonInputError, parse_json
from client_scan.errors import ReportFormatError, ReportLimitExceeded
from client_scan.franking.message import FrankedMessage

REPORT_VERSION = 1
MAX_MESSAGES = 50
MAX_ATTACHMENTS = 20
MAX_DEVICE_MATCHES = 50
MAX_COMMENT_CHARS = 1000
# Ids are stored by the service (as the relay and the payload bound them): at most 128
# characters, no control characters.
MAX_ID_CHARS = 128
# Bounds memory before any cryptography; verification enforces the 64 KiB payload limit.
MAX_ENCODED_PAYLOAD_BYTES = 128 * 1024
# The report needs depth 3 (report -> messages -> message); unknown fields are ignored.
MAX_REPORT_DEPTH = 8
# A device-match hint is one flat object: {"sha256", "list_id", "list_version",
# "category", "algorithm", "distance", "entry_id"} from the scanner, or the app's own keys.
MAX_DEVICE_MATCH_FIELDS = 16
MAX_DEVICE_MATCH_KEY_CHARS = 64
MAX_DEVICE_MATCH_TEXT_CHARS = 256

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f]")


class Reason(enum.StrEnum):
    """Why the user reports (DESIGN.md, "Reports")."""

    CHILD_SAFETY = "child_safety"
    NCII = "ncii"
    HARASSMENT = "harassment"
    HATE = "hate"
    VIOLENCE = "violence"
    TERRORISM = "terrorism"
    SELF_HARM = "self_harm"
    SPAM = "spam"
    SCAM = "scam"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Report:
    """A report as the client builds it and the service parses it.

    ``reported`` holds payload ids: within one report a payload id names exactly one
    message, since two messages carrying one payload id are refused (``duplicate_message``),
    so a client holding several stamped copies of one payload cites the one the user chose
    (:func:`client_scan.report_builder.select_messages`). ``attachments`` maps a SHA-256 hex
    digest to the plaintext bytes; ``device_matches`` are the client's on-device match
    hints, unverified and kept as given.
    """

    report_id: str
    reporter_id: str
    reason: Reason
    messages: tuple[FrankedMessage, ...]
    reported: tuple[str, ...]
    comment: str | None = None
    attachments: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    device_matches: tuple[Mapping[str, Any], ...] = ()
    v: int = REPORT_VERSION


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str, limit: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise ReportFormatError(f"{what} must be a base64 string")
    if limit is not None and len(value) > (limit + 2) // 3 * 4:
        raise ReportLimitExceeded(f"{what} is too large", code="report_too_large")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReportFormatError(f"{what} is not standard padded base64") from exc


def _text(value: object, what: str, *, max_chars: int = MAX_ID_CHARS) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= max_chars:
        raise ReportFormatError(f"{what} must be a string of 1 to {max_chars} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ReportFormatError(f"{what} is not valid Unicode text") from exc
    return value


def _id(value: object, what: str) -> str:
    text = _text(value, what)
    if _CONTROL.search(text):
        raise ReportFormatError(f"{what} must not contain control characters")
    return text


def _int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise ReportFormatError(f"{what} must be a non-negative integer")
    return value


DeviceHintValue = str | int | float | bool | None


def _hint_value(value: object, where: str) -> DeviceHintValue:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ReportFormatError(f"{where} is out of the 64-bit integer range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ReportFormatError(f"{where} is not a finite number")
        return value
    if isinstance(value, str):
        if len(value) > MAX_DEVICE_MATCH_TEXT_CHARS:
            raise ReportFormatError(
                f"{where} is longer than {MAX_DEVICE_MATCH_TEXT_CHARS} characters"
            )
        if value:
            _id(value, where)
        return value
    raise ReportFormatError(f"{where} must be a string, number, boolean or null")


def check_device_matches(value: object) -> tuple[dict[str, DeviceHintValue], ...]:
    """Validate on-device match hints: a list of at most :data:`MAX_DEVICE_MATCHES` flat
    objects of at most :data:`MAX_DEVICE_MATCH_FIELDS` fields, each key 1 to 64
    characters and each value a string (at most 256 characters, no control characters), a
    64-bit integer, a finite number, a boolean or null. Hints are unverified and shown to
    moderators as given, so their shape, not their meaning, is checked.

    Raises:
        ReportFormatError: not such a list (``report_invalid``).
        ReportLimitExceeded: more than 50 hints (``too_many_device_matches``).
    """
    if not isinstance(value, list):
        raise ReportFormatError("device_matches must be a list of objects")
    if len(value) > MAX_DEVICE_MATCHES:
        raise ReportLimitExceeded(
            f"at most {MAX_DEVICE_MATCHES} device matches", code="too_many_device_matches"
        )
    hints = []
    for i, hint in enumerate(value):
        where = f"device_matches[{i}]"
        if not isinstance(hint, dict):
            raise ReportFormatError("device_matches must be a list of objects")
        if len(hint) > MAX_DEVICE_MATCH_FIELDS:
            raise ReportFormatError(f"{where} has more than {MAX_DEVICE_MATCH_FIELDS} fields")
        checked: dict[str, DeviceHintValue] = {}
        for key, item in hint.items():
            if not isinstance(key, str) or len(key) > MAX_DEVICE_MATCH_KEY_CHARS:
                raise ReportFormatError(
                    f"{where} keys must be 1 to {MAX_DEVICE_MATCH_KEY_CHARS} characters"
                )
            _id(key, f"{where} key")
            checked[key] = _hint_value(item, f"{where}.{key[:32]}")
        hints.append(checked)
    return tuple(hints)


def normalise_report_id(value: object) -> str:
    """Return the canonical lowercase form of a report id.

    Raises:
        ReportFormatError: the value is not a UUID in its 36-character text form.
    """
    if not isinstance(value, str) or len(value) != 36:
        raise ReportFormatError("report_id must be a UUID")
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise ReportFormatError("report_id must be a UUID") from exc


def message_to_json(message: FrankedMessage) -> dict[str, Any]:
    """The design's ``FrankedMessage`` JSON object."""
    return {
        "payload": _b64(message.payload),
        "franking_key": _b64(message.franking_key),
        "commitment": _b64(message.commitment),
        "stamp": _b64(message.stamp),
        "key_id": message.key_id,
        "sender_id": message.sender_id,
        "recipient_id": message.recipient_id,
        "conversation_id": message.conversation_id,
        "timestamp_ms": message.timestamp_ms,
    }


def message_from_json(obj: object, index: int) -> FrankedMessage:
    """Parse one ``FrankedMessage`` object.

    Raises:
        ReportFormatError: a field is missing, mistyped or not base64.
    """
    if not isinstance(obj, dict):
        raise ReportFormatError(f"messages[{index}] must be an object")
    where = f"messages[{index}]"
    return FrankedMessage(
        payload=_unb64(obj.get("payload"), f"{where}.payload", MAX_ENCODED_PAYLOAD_BYTES),
        franking_key=_unb64(obj.get("franking_key"), f"{where}.franking_key", 64),
        commitment=_unb64(obj.get("commitment"), f"{where}.commitment", 64),
        stamp=_unb64(obj.get("stamp"), f"{where}.stamp", 64),
        key_id=_id(obj.get("key_id"), f"{where}.key_id"),
        sender_id=_id(obj.get("sender_id"), f"{where}.sender_id"),
        recipient_id=_id(obj.get("recipient_id"), f"{where}.recipient_id"),
        conversation_id=_id(obj.get("conversation_id"), f"{where}.conversation_id"),
        timestamp_ms=_int(obj.get("timestamp_ms"), f"{where}.timestamp_ms"),
    )


def report_to_json(report: Report) -> dict[str, Any]:
    """The design's report JSON object."""
    obj: dict[str, Any] = {
        "v": report.v,
        "report_id": report.report_id,
        "reporter_id": report.reporter_id,
        "reason": str(report.reason),
        "messages": [message_to_json(m) for m in report.messages],
        "reported": list(report.reported),
        "attachments": {digest: _b64(data) for digest, data in report.attachments.items()},
        "device_matches": [dict(m) for m in report.device_matches],
    }
    if report.comment is not None:
        obj["comment"] = report.comment
    return obj


def encode_report(report: Report) -> bytes:
    """Encode a report as UTF-8 JSON, ready to seal."""
    return json.dumps(report_to_json(report), ensure_ascii=False, separators=(",", ":")).encode()


def parse_report(data: bytes) -> Report:
    """Parse report JSON (the opened seal).

    Raises:
        ReportFormatError: malformed (``report_invalid``, ``unsupported_version``).
        ReportLimitExceeded: over a limit (``too_many_messages``, ``too_many_attachments``,
            ``too_many_device_matches``, ``comment_too_long``, ``report_too_large``).
    """
    try:
        obj = parse_json(data, max_bytes=None, max_depth=MAX_REPORT_DEPTH)
    except JsonInputError as exc:
        raise ReportFormatError(f"report is not acceptable UTF-8 JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise ReportFormatError("report must be a JSON object")
    version = obj.get("v")
    if version != REPORT_VERSION or isinstance(version, bool):
        raise ReportFormatError("report version must be 1", code="unsupported_version")
    report_id = normalise_report_id(obj.get("report_id"))
    reporter_id = _id(obj.get("reporter_id"), "reporter_id")
    raw_reason = obj.get("reason")
    try:
        reason = Reason(raw_reason if isinstance(raw_reason, str) else "")
    except ValueError as exc:
        raise ReportFormatError(f"reason must be one of {', '.join(Reason)}") from exc
    comment = obj.get("comment")
    if comment is not None:
        if not isinstance(comment, str):
            raise ReportFormatError("comment must be a string")
        if len(comment) > MAX_COMMENT_CHARS:
            raise ReportLimitExceeded(
                f"comment is longer than {MAX_COMMENT_CHARS} characters", code="comment_too_long"
            )
        if comment:
            _text(comment, "comment", max_chars=MAX_COMMENT_CHARS)
    raw_messages = obj.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise ReportFormatError("messages must be a non-empty list")
    if len(raw_messages) > MAX_MESSAGES:
        raise ReportLimitExceeded(
            f"at most {MAX_MESSAGES} messages per report", code="too_many_messages"
        )
    messages = tuple(message_from_json(m, i) for i, m in enumerate(raw_messages))
    raw_reported = obj.get("reported")
    if not isinstance(raw_reported, list) or not raw_reported:
        raise ReportFormatError("reported must be a non-empty list of payload ids")
    if len(raw_reported) > len(messages):
        raise ReportFormatError("reported names more messages than the report holds")
    reported = tuple(_id(r, "reported[]") for r in raw_reported)
    if len(set(reported)) != len(reported):
        raise ReportFormatError("reported lists a payload id twice")
    raw_attachments = obj.get("attachments", {})
    if not isinstance(raw_attachments, dict):
        raise ReportFormatError("attachments must be an object of sha256 -> base64")
    if len(raw_attachments) > MAX_ATTACHMENTS:
        raise ReportLimitExceeded(
            f"at most {MAX_ATTACHMENTS} attachments per report", code="too_many_attachments"
        )
    attachments: dict[str, bytes] = {}
    for digest, encoded in raw_attachments.items():
        if not _SHA256_HEX.fullmatch(digest):
            raise ReportFormatError("attachment keys must be 64 lowercase hex characters")
        attachments[digest] = _unb64(encoded, f"attachments[{digest[:12]}…]")
    device_matches = check_device_matches(obj.get("device_matches", []))
    return Report(
        report_id=report_id,
        reporter_id=reporter_id,
        reason=reason,
        messages=messages,
        reported=reported,
        comment=comment if comment else None,
        attachments=attachments,
        device_matches=device_matches,
    )
