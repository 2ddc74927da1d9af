"""The message payload ``P`` of franking protocol v1 (DESIGN.md, "Payload P").

``P`` is UTF-8 JSON of at most 64 KiB::

    {"v":1,"id":"<uuid>","body":"<text>",
     "attachments":[{"id":"…","sha256":"<hex>","size":N,"mime":"image/jpeg"}]}

Unknown fields are kept (the committed bytes are what counts) but ignored. Parsing is
strict where ambiguity could be exploited: duplicate keys, non-finite numbers, booleans
posing as integers and invalid UTF-8 are all refused, and so are numbers longer than 40
characters and nesting deeper than 64 levels (:mod:`client_scan.bounded_json`), so that
every failure is :class:`~client_scan.errors.PayloadInvalid`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from client_scan.bounded_json import JsonInputError, parse_json
from client_scan.errors import PayloadInvalid

PAYLOAD_VERSION = 1
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_ID_CHARS = 128
MAX_ATTACHMENTS = 32
MAX_MIME_CHARS = 127
MAX_ATTACHMENT_SIZE = 2**53 - 1  # the largest integer every JSON parser keeps exactly
# Unknown fields are kept but ignored; this bounds how deep they may nest. The known
# fields need depth 3; 64 leaves room for future fields. A fixed bound far below the
# interpreter's recursion limit gives the same answer in every caller (a client at a
# shallow stack, the service deep in a request), so a message a client shows can always
# be reported: without it, ~990 levels parsed in one and failed in the other.
MAX_PAYLOAD_DEPTH = 64

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f]")
_MIME = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """An attachment as committed in the payload: its id, SHA-256, size and type."""

    id: str
    sha256: str
    size: int
    mime: str

    def __post_init__(self) -> None:
        _check_id(self.id, "attachment id")
        if not isinstance(self.sha256, str) or not _SHA256_HEX.fullmatch(self.sha256):
            raise PayloadInvalid("attachment sha256 must be 64 lowercase hex characters")
        if (
            not isinstance(self.size, int)
            or isinstance(self.size, bool)
            or not 0 <= self.size <= MAX_ATTACHMENT_SIZE
        ):
            raise PayloadInvalid("attachment size must be a non-negative integer")
        if (
            not isinstance(self.mime, str)
            or len(self.mime) > MAX_MIME_CHARS
            or not _MIME.fullmatch(self.mime)
        ):
            raise PayloadInvalid("attachment mime must be a media type like image/jpeg")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "sha256": self.sha256, "size": self.size, "mime": self.mime}


@dataclass(frozen=True, slots=True)
class Payload:
    """A parsed version-1 payload. ``raw`` holds the exact committed bytes."""

    id: str
    body: str
    attachments: tuple[AttachmentRef, ...]
    raw: bytes

    def attachment(self, sha256: str) -> AttachmentRef | None:
        """The committed attachment with this digest, if the payload has one."""
        for ref in self.attachments:
            if ref.sha256 == sha256:
                return ref
        return None


def _check_id(value: object, what: str) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_CHARS:
        raise PayloadInvalid(f"{what} must be a string of 1 to {MAX_ID_CHARS} characters")
    # The service stores the payload id (a database cannot hold NUL or a lone surrogate):
    # a message whose id it could not store could not be reported, so it is never shown.
    if _CONTROL.search(value) or _unencodable(value):
        raise PayloadInvalid(f"{what} must be valid text without control characters")


def _unencodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def encode_payload(
    body: str,
    attachments: Sequence[AttachmentRef] = (),
    *,
    payload_id: str | None = None,
) -> Payload:
    """Build a payload and its canonical bytes (compact JSON, UTF-8).

    ``payload_id`` defaults to a fresh UUID4.

    Raises:
        PayloadInvalid: a field is out of range or the encoding exceeds 64 KiB.
    """
    pid = str(uuid.uuid4()) if payload_id is None else payload_id
    _check_id(pid, "payload id")
    if not isinstance(body, str):
        raise PayloadInvalid("body must be a string")
    if len(attachments) > MAX_ATTACHMENTS:
        raise PayloadInvalid(f"at most {MAX_ATTACHMENTS} attachments")
    obj = {
        "v": PAYLOAD_VERSION,
        "id": pid,
        "body": body,
        "attachments": [a.to_json() for a in attachments],
    }
    try:
        raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates in body
        raise PayloadInvalid("body is not valid Unicode text") from exc
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadInvalid(f"payload is {len(raw)} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    return Payload(id=pid, body=body, attachments=tuple(attachments), raw=raw)


def parse_payload(raw: bytes) -> Payload:
    """Parse and validate payload bytes.

    Raises:
        PayloadInvalid: the bytes are not a valid version-1 payload.
    """
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadInvalid(f"payload is {len(raw)} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    try:
        obj = parse_json(raw, max_bytes=MAX_PAYLOAD_BYTES, max_depth=MAX_PAYLOAD_DEPTH)
    except JsonInputError as exc:
        # Every way the bytes can fail to be JSON (huge integers, deep nesting, repeated
        # keys, non-finite numbers, invalid UTF-8) is the same typed, reportable error.
        raise PayloadInvalid(f"payload is not acceptable UTF-8 JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise PayloadInvalid("payload must be a JSON object")
    version = obj.get("v")
    if not isinstance(version, int) or isinstance(version, bool) or version != PAYLOAD_VERSION:
        raise PayloadInvalid("payload version must be 1")
    _check_id(obj.get("id"), "payload id")
    body = obj.get("body")
    if not isinstance(body, str):
        raise PayloadInvalid("body must be a string")
    items = obj.get("attachments", [])
    if not isinstance(items, list) or len(items) > MAX_ATTACHMENTS:
        raise PayloadInvalid(f"attachments must be a list of at most {MAX_ATTACHMENTS}")
    refs: list[AttachmentRef] = []
    for item in items:
        if not isinstance(item, dict):
            raise PayloadInvalid("each attachment must be an object")
        refs.append(
            AttachmentRef(
                id=item.get("id"),  # type: ignore[arg-type]  # validated in __post_init__
                sha256=item.get("sha256"),  # type: ignore[arg-type]
                size=item.get("size"),  # type: ignore[arg-type]
                mime=item.get("mime"),  # type: ignore[arg-type]
            )
        )
    return Payload(id=obj["id"], body=body, attachments=tuple(refs), raw=raw)
