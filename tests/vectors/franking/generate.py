"""Generate the franking protocol v1 test vectors (valid.json, invalid.json).

Run from the repository root:  .venv/bin/python tests/vectors/franking/generate.py

Everything is derived from fixed seeds, so the output is the same on every run; the test
suite regenerates the vectors in memory and checks that the committed files are current.
Keys are ``SHA-256("frankly/vectors/<seed>")``. The MACs are computed here from first
principles (hmac + struct), not with the package, so the vectors are an independent check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
MAX_PAYLOAD = 64 * 1024


def _key(seed: str) -> bytes:
    return hashlib.sha256(f"frankly/vectors/{seed}".encode()).digest()


def _lp(x: bytes) -> bytes:
    return struct.pack(">I", len(x)) + x


def _mac(key: bytes, label: str, *fields: bytes) -> bytes:
    data = _lp(label.encode()) + b"".join(_lp(f) for f in fields)
    return hmac.new(key, data, hashlib.sha256).digest()


def _payload(body: str, pid: str, attachments: list[dict[str, Any]] | None = None) -> bytes:
    obj = {"v": 1, "id": pid, "body": body, "attachments": attachments or []}
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _maximal_payload() -> bytes:
    prefix = _payload("", "00000000-0000-4000-8000-00000000ffff")
    filler = MAX_PAYLOAD - len(prefix)
    payload = _payload("x" * filler, "00000000-0000-4000-8000-00000000ffff")
    if len(payload) != MAX_PAYLOAD:
        raise RuntimeError("maximal payload is not exactly 64 KiB")
    return payload


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _vector(
    name: str,
    payload: bytes,
    *,
    fk_seed: str,
    platform_seed: str = "platform-2026-01",
    key_id: str = "k2026-01",
    sender: str = "alice",
    recipient: str = "bob",
    conversation: str = "conv-1",
    timestamp_ms: int = 1_780_000_000_000,
) -> dict[str, Any]:
    fk = _key(fk_seed)
    platform_key = _key(platform_seed)
    c = _mac(fk, "frankly/v1/commit", payload)
    st = _mac(
        platform_key,
        "frankly/v1/stamp",
        c,
        sender.encode(),
        recipient.encode(),
        conversation.encode(),
        struct.pack(">Q", timestamp_ms),
        key_id.encode(),
    )
    return {
        "name": name,
        "franking_key": b64(fk),
        "payload": b64(payload),
        "commitment": b64(c),
        "platform_key": b64(platform_key),
        "key_id": key_id,
        "sender_id": sender,
        "recipient_id": recipient,
        "conversation_id": conversation,
        "timestamp_ms": timestamp_ms,
        "stamp": b64(st),
    }


def valid_vectors() -> list[dict[str, Any]]:
    digest = hashlib.sha256(b"frankly demo attachment").hexdigest()
    return [
        _vector(
            "plain text message",
            _payload("hello bob", "9b1c7a2e-3f4d-4c5b-8a6e-1d2c3b4a5f60"),
            fk_seed="fk-1",
        ),
        _vector("empty payload bytes", b"", fk_seed="fk-2"),
        _vector(
            "empty body",
            _payload("", "2f8e4d6c-1a3b-4c5d-9e7f-0a1b2c3d4e5f"),
            fk_seed="fk-3",
        ),
        _vector("maximal payload (64 KiB)", _maximal_payload(), fk_seed="fk-4"),
        _vector(
            "unicode body and identifiers",
            _payload(
                "Grüße 👋🏽 שלום مرحبا — e\u0301 (combining)",
                "5d3e2f1a-0b9c-4d8e-a7f6-e5d4c3b2a190",
            ),
            fk_seed="fk-5",
            sender="zoë",
            recipient="李雷",
            conversation="会話-☃",
        ),
        _vector(
            "message with attachment",
            _payload(
                "see picture",
                "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
                [{"id": "att-1", "sha256": digest, "size": 23, "mime": "image/jpeg"}],
            ),
            fk_seed="fk-6",
        ),
        _vector(
            "timestamp zero",
            _payload("epoch", "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"),
            fk_seed="fk-7",
            timestamp_ms=0,
        ),
        _vector(
            "timestamp uint64 max",
            _payload("far future", "8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a"),
            fk_seed="fk-8",
            timestamp_ms=2**64 - 1,
        ),
        _vector(
            "second platform key",
            _payload("after rotation", "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"),
            fk_seed="fk-9",
            platform_seed="platform-2026-07",
            key_id="k2026-07",
        ),
        _vector(
            "group message, one stamp per recipient",
            _payload("hi all", "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"),
            fk_seed="fk-10",
            recipient="carol",
            conversation="group-42",
        ),
    ]


def _b64flip(value: str, byte_index: int, bit: int = 0) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[byte_index % len(raw)] ^= 1 << bit
    return base64.b64encode(bytes(raw)).decode()


Mutation = Callable[[dict[str, Any]], None]


def _set(field: str, value: Any) -> Mutation:
    def apply(v: dict[str, Any]) -> None:
        v[field] = value

    return apply


def _flip(field: str, byte_index: int, bit: int = 0) -> Mutation:
    def apply(v: dict[str, Any]) -> None:
        v[field] = _b64flip(v[field], byte_index, bit)

    return apply


def invalid_vectors() -> list[dict[str, Any]]:
    base = valid_vectors()[0]
    unicode_base = valid_vectors()[4]
    other = valid_vectors()[5]
    cases: list[tuple[str, dict[str, Any], Mutation, str]] = [
        ("stamp: sender changed", base, _set("sender_id", "mallory"), "stamp_invalid"),
        ("stamp: recipient changed", base, _set("recipient_id", "carol"), "stamp_invalid"),
        ("stamp: conversation changed", base, _set("conversation_id", "conv-2"), "stamp_invalid"),
        (
            "stamp: timestamp changed by 1 ms",
            base,
            _set("timestamp_ms", base["timestamp_ms"] + 1),
            "stamp_invalid",
        ),
        ("stamp: key id changed", base, _set("key_id", "k2026-07"), "stamp_invalid"),
        (
            "stamp: sender and recipient swapped",
            base,
            lambda v: v.update(sender_id=v["recipient_id"], recipient_id=v["sender_id"]),
            "stamp_invalid",
        ),
        (
            "stamp: field boundary moved (sender+recipient concatenation kept)",
            base,
            lambda v: v.update(sender_id="aliceb", recipient_id="ob"),
            "stamp_invalid",
        ),
        (
            "stamp: unicode normalisation differs (NFC vs NFD sender)",
            unicode_base,
            _set("sender_id", "zoe\u0308"),
            "stamp_invalid",
        ),
        ("one bit flipped in the stamp", base, _flip("stamp", 0), "stamp_invalid"),
        ("last bit flipped in the stamp", base, _flip("stamp", 31, 7), "stamp_invalid"),
        (
            "stamp truncated to 31 bytes",
            base,
            lambda v: v.update(stamp=base64.b64encode(base64.b64decode(v["stamp"])[:31]).decode()),
            "stamp_invalid",
        ),
        ("one bit flipped in the platform key", base, _flip("platform_key", 5), "stamp_invalid"),
        (
            "one bit flipped in the commitment (stamp checked first)",
            base,
            _flip("commitment", 9),
            "stamp_invalid",
        ),
        ("one bit flipped in the payload", base, _flip("payload", 3), "commitment_mismatch"),
        (
            "one bit flipped in the last payload byte",
            base,
            _flip("payload", -1, 6),
            "commitment_mismatch",
        ),
        (
            "one bit flipped in the franking key",
            base,
            _flip("franking_key", 17),
            "commitment_mismatch",
        ),
        (
            "payload of another message",
            base,
            _set("payload", other["payload"]),
            "commitment_mismatch",
        ),
        (
            "franking key of another message",
            base,
            _set("franking_key", other["franking_key"]),
            "commitment_mismatch",
        ),
        (
            "payload with a trailing byte",
            base,
            lambda v: v.update(
                payload=base64.b64encode(base64.b64decode(v["payload"]) + b" ").decode()
            ),
            "commitment_mismatch",
        ),
        (
            "empty payload instead of the real one",
            base,
            _set("payload", ""),
            "commitment_mismatch",
        ),
    ]
    out = []
    for name, source, mutate, error in cases:
        vector = dict(source)
        mutate(vector)
        vector["name"] = name
        vector["error"] = error
        out.append(vector)
    return out


def render(vectors: list[dict[str, Any]]) -> str:
    return json.dumps(vectors, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    (HERE / "valid.json").write_text(render(valid_vectors()), encoding="utf-8")
    (HERE / "invalid.json").write_text(render(invalid_vectors()), encoding="utf-8")
    print(f"wrote {HERE / 'valid.json'} and {HERE / 'invalid.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
