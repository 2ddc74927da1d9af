"""Hypothesis: honest commit -> stamp -> verify always passes; any single change is refused."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client_scan.errors import CommitmentMismatch, FrankingError, StampInvalid
from client_scan.franking import (
    FrankedMessage,
    FrankingKey,
    Keyring,
    check_stamp_tag,
    commit,
    stamp,
    verify_commitment,
    verify_stamp,
)

NOW = 1_780_000_000_000
ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@st.composite
def honest(draw: st.DrawFn) -> tuple[Keyring, FrankedMessage]:
    secret = draw(st.binary(min_size=32, max_size=32))
    kid = draw(ids)
    ring = Keyring((FrankingKey(kid, secret, 0),), kid, retention_ms=NOW, max_skew_ms=60_000)
    payload = draw(st.binary(max_size=2048))
    fk = draw(st.binary(min_size=32, max_size=32))
    s, r, conv = draw(ids), draw(ids), draw(ids)
    t = draw(st.integers(1, NOW + 60_000))
    c = commit(fk, payload)
    st_ = stamp(ring, c, s, r, conv, t)
    return ring, FrankedMessage(payload, fk, c, st_.tag, st_.key_id, s, r, conv, t)


def _verify(ring: Keyring, message: FrankedMessage) -> None:
    verify_stamp(ring, message, NOW)
    verify_commitment(message.franking_key, message.payload, message.commitment)


@given(honest())
def test_honest_messages_always_verify(case: tuple[Keyring, FrankedMessage]) -> None:
    _verify(*case)


def _flip_byte(data: bytes, index: int, delta: int) -> bytes:
    if not data:
        return b"\x00"
    out = bytearray(data)
    out[index % len(out)] = (out[index % len(out)] + delta) % 256
    return bytes(out)


def _change_text(text: str, index: int, delta: int) -> str:
    chars = list(text)
    i = index % len(chars)
    chars[i] = "a" if chars[i] != "a" else "b"
    return "".join(chars)


BYTE_FIELDS = ["payload", "franking_key", "commitment", "stamp"]
TEXT_FIELDS = ["key_id", "sender_id", "recipient_id", "conversation_id"]


@pytest.mark.parametrize("field", BYTE_FIELDS + TEXT_FIELDS + ["timestamp_ms"])
@given(case=honest(), index=st.integers(0, 4096), delta=st.integers(1, 255))
def test_any_single_change_is_refused(
    field: str, case: tuple[Keyring, FrankedMessage], index: int, delta: int
) -> None:
    ring, message = case
    value = getattr(message, field)
    if field in BYTE_FIELDS:
        changed: object = _flip_byte(value, index, delta)
    elif field in TEXT_FIELDS:
        changed = _change_text(value, index, delta)
    else:
        # change one byte of the uint64 encoding of t
        raw = bytearray(value.to_bytes(8, "big"))
        raw[index % 8] = (raw[index % 8] + delta) % 256
        changed = int.from_bytes(raw, "big")
    tampered = dataclasses.replace(message, **{field: changed})  # type: ignore[arg-type]
    if field == "key_id":
        ring = Keyring(
            (FrankingKey(changed, ring.active.secret, 0),),  # type: ignore[arg-type]
            changed,  # type: ignore[arg-type]
            retention_ms=2**63,
            max_skew_ms=2**63,
        )
    elif field == "timestamp_ms":
        # A moved time may also fail the validity checks first; the stamp itself must fail.
        with pytest.raises(StampInvalid):
            check_stamp_tag(ring.active.secret, tampered)
    with pytest.raises(FrankingError) as exc:
        _verify(ring, tampered)
    if field == "timestamp_ms":
        return
    expected = CommitmentMismatch if field in ("payload", "franking_key") else StampInvalid
    assert type(exc.value) is expected


@given(case=honest(), secret=st.binary(min_size=32, max_size=32))
def test_another_platform_key_is_refused(
    case: tuple[Keyring, FrankedMessage], secret: bytes
) -> None:
    ring, message = case
    if secret == ring.active.secret:
        return
    other = Keyring((FrankingKey(ring.active_kid, secret, 0),), ring.active_kid, ring.retention_ms)
    with pytest.raises(StampInvalid):
        _verify(other, message)


@given(
    secret=st.binary(min_size=32, max_size=32),
    c=st.binary(max_size=64),
    fields=st.lists(ids, min_size=4, max_size=4),
    t=st.integers(0, 2**64 - 1),
)
def test_fast_stamp_encoding_equals_the_generic_mac(
    secret: bytes, c: bytes, fields: list[str], t: int
) -> None:
    from client_scan.franking import STAMP_LABEL, compute_stamp, mac, u64

    kid, s, r, conv = fields
    generic = mac(
        secret, STAMP_LABEL, c, s.encode(), r.encode(), conv.encode(), u64(t), kid.encode()
    )
    assert compute_stamp(secret, kid, c, s, r, conv, t) == generic
