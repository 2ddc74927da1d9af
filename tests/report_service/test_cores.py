"""Properties of the pure cores: evidence sealing, token buckets, intake priority."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client_scan.report_format import Reason
from report_service.errors import EvidenceDestroyed, RateLimited
from report_service.evidence import open_blob, seal_blob, unwrap_data_key, wrap_data_key
from report_service.priority import is_child_safety, priority, queue_for
from report_service.ratelimit import RateLimiter, take

KEY = bytes(range(32))
NONCE = bytes(24)


@given(st.binary(max_size=512), st.text(max_size=20), st.text(max_size=20))
def test_evidence_round_trips(plaintext: bytes, kind: str, ref: str) -> None:
    sealed = seal_blob(KEY, "r1", kind, ref, plaintext, os.urandom(24))
    assert open_blob(KEY, "r1", kind, ref, sealed) == plaintext
    assert len(plaintext) < 8 or plaintext not in sealed


@given(st.binary(min_size=1, max_size=256), st.data())
def test_any_flipped_byte_is_refused(plaintext: bytes, data: st.DataObject) -> None:
    sealed = bytearray(seal_blob(KEY, "r1", "comment", "", plaintext, NONCE))
    i = data.draw(st.integers(0, len(sealed) - 1))
    sealed[i] ^= data.draw(st.integers(1, 255))
    with pytest.raises(EvidenceDestroyed):
        open_blob(KEY, "r1", "comment", "", bytes(sealed))


def test_blobs_are_bound_to_their_report_and_slot() -> None:
    sealed = seal_blob(KEY, "r1", "attachment", "aa", b"picture", NONCE)
    for report, kind, ref in [
        ("r2", "attachment", "aa"),
        ("r1", "comment", "aa"),
        ("r1", "attachment", "ab"),
    ]:
        with pytest.raises(EvidenceDestroyed):
            open_blob(KEY, report, kind, ref, sealed)
    wrapped = wrap_data_key(KEY, "mk-1", "r1", b"d" * 32, NONCE)
    assert unwrap_data_key(KEY, "mk-1", "r1", wrapped) == b"d" * 32
    with pytest.raises(EvidenceDestroyed):
        unwrap_data_key(KEY, "mk-1", "r2", wrapped)


@given(
    st.integers(1, 50),
    st.floats(0.1, 100),
    st.lists(st.integers(0, 5_000), min_size=1, max_size=60),
)
def test_token_bucket_never_exceeds_burst_plus_refill(
    burst: int, rate_per_s: float, gaps_ms: list[int]
) -> None:
    bucket = None
    now = 0
    granted = 0
    for gap in gaps_ms:
        now += gap
        bucket, wait = take(bucket, now, rate_per_s, burst)
        if wait is None:
            granted += 1
        else:
            assert wait > 0
    assert granted <= burst + rate_per_s * now / 1000 + 1e-9


def test_rate_limiter_is_per_key() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    limiter.check("bob", 0)
    limiter.check("bob", 0)
    with pytest.raises(RateLimited) as info:
        limiter.check("bob", 0)
    assert 0 < info.value.retry_after_s <= 1.0
    limiter.check("carol", 0)
    limiter.check("bob", 1000)


@given(
    st.sampled_from(list(Reason)),
    st.integers(0, 100),
    st.integers(0, 100),
    st.integers(1, 30),
)
def test_priority_grows_with_severity_and_reporters(
    reason: Reason, severity: int, more: int, reporters: int
) -> None:
    base = priority(reason, severity, reporters)
    assert priority(reason, min(100, severity + more), reporters) >= base
    assert priority(reason, severity, reporters + 1) >= base
    assert priority(Reason.CHILD_SAFETY, severity, reporters) >= priority(
        Reason.SPAM, severity, reporters
    )


def test_child_safety_routing() -> None:
    assert is_child_safety("child_safety", [])
    assert is_child_safety("spam", ["CSAM"])
    assert not is_child_safety("spam", ["ncii"])
    assert queue_for(True) == "child_safety"
    assert queue_for(False) == "general"
