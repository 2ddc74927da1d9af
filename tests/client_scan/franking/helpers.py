"""Build honest franked messages and reports for the franking tests (deterministic keys)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from client_scan.franking import (
    AttachmentRef,
    FrankedMessage,
    FrankingKey,
    Keyring,
    commit,
    encode_payload,
    stamp,
)
from client_scan.report_format import Reason, Report

NOW_MS = 1_780_000_000_000
DAY_MS = 24 * 3600 * 1000


def key(seed: str) -> bytes:
    return hashlib.sha256(seed.encode()).digest()


def keyring(created_at_ms: int = NOW_MS - 30 * DAY_MS) -> Keyring:
    return Keyring(
        keys=(FrankingKey("k1", key("platform-k1"), created_at_ms),),
        active_kid="k1",
        retention_ms=90 * DAY_MS,
        max_skew_ms=5 * 60 * 1000,
    )


def franked(
    ring: Keyring,
    body: str = "hello",
    *,
    sender: str = "alice",
    recipient: str = "bob",
    conversation: str = "conv-1",
    t: int = NOW_MS - 60_000,
    attachments: Sequence[AttachmentRef] = (),
    seed: str = "fk",
) -> FrankedMessage:
    payload = encode_payload(
        body, attachments, payload_id=str(uuid.uuid5(uuid.NAMESPACE_URL, seed))
    )
    fk = key(seed)
    c = commit(fk, payload.raw)
    st = stamp(ring, c, sender, recipient, conversation, t)
    return FrankedMessage(payload.raw, fk, c, st.tag, st.key_id, sender, recipient, conversation, t)


def payload_id(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


def report(
    messages: Sequence[FrankedMessage],
    reported_seeds: Sequence[str],
    *,
    reporter: str = "bob",
    attachments: dict[str, bytes] | None = None,
) -> Report:
    return Report(
        report_id=str(uuid.uuid4()),
        reporter_id=reporter,
        reason=Reason.HARASSMENT,
        messages=tuple(messages),
        reported=tuple(payload_id(s) for s in reported_seeds),
        comment="they keep doing this",
        attachments=attachments or {},
    )


def image_ref(data: bytes, ref_id: str = "att-1") -> AttachmentRef:
    return AttachmentRef(ref_id, hashlib.sha256(data).hexdigest(), len(data), "image/jpeg")
