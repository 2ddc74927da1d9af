"""The Standard Webhooks signature scheme: the published vector, vectors made with the
independent ``standardwebhooks`` package, and properties checked against that package."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from report_service.escalation.webhooks.errors import InvalidWebhook, SignatureInvalid
from report_service.escalation.webhooks.payload import encode_body
from report_service.escalation.webhooks.signing import (
    headers,
    new_secret,
    parse_secret,
    sign,
    verify,
)

VECTORS = json.loads(
    (Path(__file__).parents[2] / "vectors" / "webhooks" / "signatures.json").read_text("utf-8")
)


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vectors_sign_and_verify(v: dict[str, Any]) -> None:
    key = parse_secret(v["secret"])
    body = v["body"].encode("utf-8")
    assert sign(key, v["msg_id"], v["timestamp"], body) == v["signature"]
    received = {
        "webhook-id": v["msg_id"],
        "webhook-timestamp": str(v["timestamp"]),
        "webhook-signature": v["signature"],
    }
    assert verify(key, received, body, now_s=v["timestamp"]) == v["msg_id"]


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vectors_reject_any_change(v: dict[str, Any]) -> None:
    key = parse_secret(v["secret"])
    body = v["body"].encode("utf-8")
    base = {
        "webhook-id": v["msg_id"],
        "webhook-timestamp": str(v["timestamp"]),
        "webhook-signature": v["signature"],
    }
    for i in range(len(body)):
        tampered = body[:i] + bytes([body[i] ^ 1]) + body[i + 1 :]
        with pytest.raises(SignatureInvalid):
            verify(key, base, tampered, now_s=v["timestamp"])
    with pytest.raises(SignatureInvalid):
        verify(key, {**base, "webhook-id": v["msg_id"] + "x"}, body, now_s=v["timestamp"])
    later = str(v["timestamp"] + 1)
    with pytest.raises(SignatureInvalid):
        verify(key, {**base, "webhook-timestamp": later}, body, now_s=v["timestamp"])
    with pytest.raises(SignatureInvalid):  # too old: replay protection
        verify(key, base, body, now_s=v["timestamp"] + 301)


secrets_st = st.binary(min_size=24, max_size=64)
ids_st = st.from_regex(r"msg_[A-Za-z0-9_\-]{1,40}", fullmatch=True)
bodies_st = st.text(max_size=300).map(lambda s: s.encode("utf-8"))


@given(key=secrets_st, msg_id=ids_st, body=bodies_st)
def test_the_standardwebhooks_package_verifies_our_signatures(
    key: bytes, msg_id: str, body: bytes
) -> None:
    now = int(time.time())
    sent = headers(key, msg_id, now, body)
    Webhook(key).verify(body, sent, json_parse=False)  # raises if it does not verify
    # Another key (appending zero bytes would not do: HMAC pads keys with zeros).
    forged = headers(bytes([key[0] ^ 1]) + key[1:], msg_id, now, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(key).verify(body, forged, json_parse=False)


@given(key=secrets_st, msg_id=ids_st, body=bodies_st, ts=st.integers(0, 2**33))
def test_we_verify_the_standardwebhooks_package_signatures(
    key: bytes, msg_id: str, body: bytes, ts: int
) -> None:
    theirs = Webhook(key).sign(msg_id, datetime.fromtimestamp(ts, UTC), body.decode("utf-8"))
    assert sign(key, msg_id, ts, body) == theirs
    other = "v1," + "A" * 43 + "="
    received = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": f"{other} {theirs}",  # rotation: any listed one may match
    }
    assert verify(key, received, body, now_s=ts) == msg_id


@given(st.binary(min_size=32, max_size=32))
def test_new_secrets_round_trip_through_both_implementations(seed: bytes) -> None:
    secret = new_secret(lambda n: seed[:n])
    assert secret.startswith("whsec_")
    key = parse_secret(secret)
    assert key == seed
    assert Webhook(secret).sign("msg_1", datetime.fromtimestamp(1, UTC), "{}") == sign(
        key, "msg_1", 1, b"{}"
    )


@pytest.mark.parametrize(
    "secret", ["whsec_", "whsec_not base64!", "whsec_c2hvcnQ=", "whsec_" + "A" * 100]
)
def test_bad_secrets_are_refused(secret: str) -> None:
    with pytest.raises(InvalidWebhook):
        parse_secret(secret)


@pytest.mark.parametrize("msg_id", ["", "msg.1", "msg 1", "m" * 129])
def test_ids_that_could_confuse_the_signed_content_are_refused(msg_id: str) -> None:
    with pytest.raises(InvalidWebhook):
        sign(b"k" * 32, msg_id, 1, b"{}")


def test_a_missing_or_malformed_header_is_refused() -> None:
    key = b"k" * 32
    good = headers(key, "msg_1", 100, b"{}")
    for name in good:
        with pytest.raises(SignatureInvalid):
            verify(key, {k: v for k, v in good.items() if k != name}, b"{}", now_s=100)
    with pytest.raises(SignatureInvalid):
        verify(key, {**good, "webhook-timestamp": "1e2"}, b"{}", now_s=100)
    with pytest.raises(SignatureInvalid):
        verify(
            key,
            {**good, "webhook-signature": "v1a," + good["webhook-signature"][3:]},
            b"{}",
            now_s=100,
        )


def test_the_body_is_the_standard_webhooks_payload_shape() -> None:
    body = encode_body("item.decided", {"item_id": 7, "outcome": "warn_sender"}, 1_767_225_600_123)
    assert json.loads(body) == {
        "type": "item.decided",
        "timestamp": "2026-01-01T00:00:00.123Z",
        "data": {"item_id": 7, "outcome": "warn_sender"},
    }
    assert b" " not in body  # minified: what is signed is what is sent


@pytest.mark.parametrize(
    "data",
    [
        {"text": {"nested": "content"}},
        {"score": 0.5},
        {"ids": [[1]]},
        {"Bad-Key": 1},
        {f"k{i}": i for i in range(40)},
        {"ids": list(range(101))},
        {"blob": "x" * 5000},
    ],
)
def test_event_data_is_flat_ids_and_outcomes_within_limits(data: dict[str, object]) -> None:
    with pytest.raises(InvalidWebhook):
        encode_body("item.decided", data, 0)


@pytest.mark.parametrize("event_type", ["", "report", "Report.Created", "a.b.c.d.e", "a..b"])
def test_malformed_event_types_are_refused(event_type: str) -> None:
    with pytest.raises(InvalidWebhook):
        encode_body(event_type, {}, 0)
