"""The franking vectors, checked against the package and a second, minimal implementation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from client_scan.errors import CommitmentMismatch, FrankingError, StampInvalid
from client_scan.franking import FrankedMessage, check_stamp_tag, commit, verify_commitment

VECTORS = Path(__file__).parents[2] / "vectors" / "franking"


def _load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return data


VALID = _load("valid.json")
INVALID = _load("invalid.json")


def _message(v: dict[str, Any]) -> FrankedMessage:
    return FrankedMessage(
        payload=base64.b64decode(v["payload"]),
        franking_key=base64.b64decode(v["franking_key"]),
        commitment=base64.b64decode(v["commitment"]),
        stamp=base64.b64decode(v["stamp"]),
        key_id=v["key_id"],
        sender_id=v["sender_id"],
        recipient_id=v["recipient_id"],
        conversation_id=v["conversation_id"],
        timestamp_ms=v["timestamp_ms"],
    )


def check_with_package(v: dict[str, Any]) -> None:
    message = _message(v)
    check_stamp_tag(base64.b64decode(v["platform_key"]), message)
    verify_commitment(message.franking_key, message.payload, message.commitment)


def check_independently(v: dict[str, Any]) -> str | None:
    """A second implementation from the design text alone; returns the error code."""

    def lp(x: bytes) -> bytes:
        return struct.pack(">I", len(x)) + x

    def mac(key: bytes, label: bytes, *fields: bytes) -> bytes:
        return hmac.new(key, lp(label) + b"".join(map(lp, fields)), hashlib.sha256).digest()

    raw = {k: base64.b64decode(v[k]) for k in ("franking_key", "payload", "commitment", "stamp")}
    expected_stamp = mac(
        base64.b64decode(v["platform_key"]),
        b"frankly/v1/stamp",
        raw["commitment"],
        v["sender_id"].encode(),
        v["recipient_id"].encode(),
        v["conversation_id"].encode(),
        struct.pack(">Q", v["timestamp_ms"]),
        v["key_id"].encode(),
    )
    if not hmac.compare_digest(expected_stamp, raw["stamp"]):
        return "stamp_invalid"
    expected_c = mac(raw["franking_key"], b"frankly/v1/commit", raw["payload"])
    if not hmac.compare_digest(expected_c, raw["commitment"]):
        return "commitment_mismatch"
    return None


@pytest.mark.parametrize("vector", VALID, ids=[v["name"] for v in VALID])
def test_valid_vector_is_accepted(vector: dict[str, Any]) -> None:
    check_with_package(vector)
    assert check_independently(vector) is None
    message = _message(vector)
    assert commit(message.franking_key, message.payload) == message.commitment


@pytest.mark.parametrize("vector", INVALID, ids=[v["name"] for v in INVALID])
def test_invalid_vector_is_rejected_with_its_code(vector: dict[str, Any]) -> None:
    expected = {"stamp_invalid": StampInvalid, "commitment_mismatch": CommitmentMismatch}
    with pytest.raises(FrankingError) as exc:
        check_with_package(vector)
    assert type(exc.value) is expected[vector["error"]]
    assert exc.value.code == vector["error"]
    assert check_independently(vector) == vector["error"]


def test_vector_files_have_exactly_the_design_fields() -> None:
    fields = {
        "name",
        "franking_key",
        "payload",
        "commitment",
        "platform_key",
        "key_id",
        "sender_id",
        "recipient_id",
        "conversation_id",
        "timestamp_ms",
        "stamp",
    }
    assert all(set(v) == fields for v in VALID)
    assert all(set(v) == fields | {"error"} for v in INVALID)
    assert {v["error"] for v in INVALID} == {"stamp_invalid", "commitment_mismatch"}
    assert len({v["name"] for v in VALID + INVALID}) == len(VALID) + len(INVALID)


def test_committed_vectors_match_the_generator() -> None:
    spec = importlib.util.spec_from_file_location("franking_generate", VECTORS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (VECTORS / "valid.json").read_text(encoding="utf-8") == module.render(
        module.valid_vectors()
    )
    assert (VECTORS / "invalid.json").read_text(encoding="utf-8") == module.render(
        module.invalid_vectors()
    )


def test_maximal_payload_vector_is_exactly_64_kib() -> None:
    sizes = {v["name"]: len(base64.b64decode(v["payload"])) for v in VALID}
    assert sizes["maximal payload (64 KiB)"] == 64 * 1024
    assert sizes["empty payload bytes"] == 0
