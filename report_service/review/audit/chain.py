"""The hash-chained audit log: a pure core (no database, no clock).

Each entry has the fields ``seq`` (1-based position), ``at_ms``, ``actor``, ``action``,
``item_id`` (or null), ``detail`` (a JSON object) and ``prev_hash``. Its hash is::

    entry_hash = SHA-256(canonical_json({"action", "actor", "at_ms", "detail",
                                         "item_id", "prev_hash", "seq"}))

as lowercase hex, where ``canonical_json`` is ``json.dumps(obj, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8. Floats are refused in
``detail`` so that the encoding is unambiguous. The first entry's ``prev_hash`` is
:data:`GENESIS` (64 zeros); every later one carries the previous entry's hash.

Because ``seq`` and ``prev_hash`` are inside the hash, editing an entry breaks its own
hash, deleting or inserting one breaks the next entry's ``prev_hash`` (and the ``seq``
run), and reordering breaks ``seq``. A chain head (the last ``seq`` and hash, kept
separately and published by auditors) catches a truncated tail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from report_service.review.errors import AuditChainBroken, InvalidInput

GENESIS = "0" * 64

JSONValue = str | int | bool | None | list["JSONValue"] | dict[str, "JSONValue"]


def _check_json(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, list):
        for v in value:
            _check_json(v, where)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidInput(f"{where}: keys must be strings")
            _check_json(v, where)
        return
    raise InvalidInput(f"{where}: {type(value).__name__} is not allowed (no floats)")


def canonical_json(obj: Any) -> bytes:
    """The canonical UTF-8 JSON encoding used for hashing.

    Raises:
        InvalidInput: ``obj`` holds something other than str, int, bool, None, list, dict.
    """
    _check_json(obj, "canonical_json")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit log entry, as stored."""

    seq: int
    at_ms: int
    actor: str
    action: str
    item_id: int | None
    detail: Mapping[str, Any]
    prev_hash: str
    entry_hash: str

    def hashed_fields(self) -> dict[str, Any]:
        """The fields covered by ``entry_hash``."""
        return _fields(
            self.seq,
            self.at_ms,
            self.actor,
            self.action,
            self.item_id,
            self.detail,
            self.prev_hash,
        )


def _fields(
    seq: int,
    at_ms: int,
    actor: str,
    action: str,
    item_id: int | None,
    detail: Mapping[str, Any],
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "at_ms": at_ms,
        "actor": actor,
        "action": action,
        "item_id": item_id,
        "detail": dict(detail),
        "prev_hash": prev_hash,
    }


def entry_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``fields``.

    Raises:
        InvalidInput: a field is not canonical-JSON encodable.
    """
    return hashlib.sha256(canonical_json(dict(fields))).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last position and hash of a chain (``seq`` 0 and :data:`GENESIS` when empty)."""

    seq: int
    hash: str


EMPTY_HEAD = ChainHead(0, GENESIS)


def check_names(actor: str, action: str) -> None:
    """Refuse an entry without an actor or an action.

    Raises:
        InvalidInput: ``actor`` or ``action`` is empty.
    """
    if not actor or not action:
        raise InvalidInput("audit entries need an actor and an action")


def next_entry(
    head: ChainHead,
    *,
    at_ms: int,
    actor: str,
    action: str,
    item_id: int | None,
    detail: Mapping[str, Any],
) -> AuditEntry:
    """Build the entry that follows ``head``.

    Raises:
        InvalidInput: ``detail`` is not canonical-JSON encodable, or ``actor``/``action``
            is empty.
    """
    check_names(actor, action)
    seq = head.seq + 1
    h = entry_hash(_fields(seq, at_ms, actor, action, item_id, detail, head.hash))
    return AuditEntry(seq, at_ms, actor, action, item_id, dict(detail), head.hash, h)


def verify_chain(entries: Iterable[AuditEntry], head: ChainHead | None = None) -> ChainHead:
    """Check a whole chain given in ``seq`` order; return its head.

    ``head``, when given, is the separately kept chain head: a chain that verifies but ends
    before it (or after it) was truncated (or extended).

    Raises:
        AuditChainBroken: at the first broken 1-based position.
    """
    prev = GENESIS
    position = 0
    for position, entry in enumerate(entries, start=1):
        if entry.seq != position:
            raise AuditChainBroken(position, f"sequence number {entry.seq} out of place")
        if entry.prev_hash != prev:
            raise AuditChainBroken(position, "previous-hash link does not match")
        try:
            recomputed = entry_hash(entry.hashed_fields())
        except InvalidInput as exc:
            raise AuditChainBroken(position, "entry is not canonical JSON") from exc
        if recomputed != entry.entry_hash:
            raise AuditChainBroken(position, "entry hash does not match its contents")
        prev = entry.entry_hash
    found = ChainHead(position, prev)
    if head is not None and found != head:
        if head.seq > found.seq:
            raise AuditChainBroken(found.seq + 1, f"entries missing up to {head.seq}")
        if head.seq < found.seq:
            raise AuditChainBroken(head.seq + 1, "entries beyond the recorded head")
        raise AuditChainBroken(found.seq, "last entry differs from the recorded head")
    return found
