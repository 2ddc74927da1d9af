from __future__ import annotations

import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client_scan.errors import KeyringError, UnknownKey
from client_scan.franking import FrankingKey, Keyring

from .helpers import DAY_MS, NOW_MS, key


def _ring() -> Keyring:
    return Keyring((FrankingKey("k1", key("k1"), 0),), "k1", retention_ms=30 * DAY_MS)


def test_secret_is_not_in_repr() -> None:
    ring = _ring()
    assert key("k1").hex() not in repr(ring)
    assert repr(key("k1")) not in repr(ring)


def test_rotation_retires_and_keeps_old_key_for_verification() -> None:
    rotated = _ring().rotate(FrankingKey("k2", key("k2"), NOW_MS), NOW_MS)
    assert rotated.active.kid == "k2"
    assert rotated.get("k1").retired_at_ms == NOW_MS
    assert rotated.get("k1").covers(NOW_MS - 1)
    assert not rotated.get("k1").covers(NOW_MS)


def test_prune_drops_keys_after_the_retention_window() -> None:
    rotated = _ring().rotate(FrankingKey("k2", key("k2"), NOW_MS), NOW_MS)
    assert rotated.prune(NOW_MS + 30 * DAY_MS).get("k1")
    with pytest.raises(UnknownKey):
        rotated.prune(NOW_MS + 30 * DAY_MS + 1).get("k1")


@pytest.mark.parametrize(
    ("keys", "active"),
    [
        ((FrankingKey("k1", key("a"), 0), FrankingKey("k1", key("b"), 0)), "k1"),
        ((FrankingKey("k1", key("a"), 0),), "k2"),
        ((FrankingKey("k1", key("a"), 0, retired_at_ms=5),), "k1"),
    ],
    ids=["duplicate id", "missing active", "retired active"],
)
def test_misconfigured_keyrings_are_refused(keys: tuple[FrankingKey, ...], active: str) -> None:
    with pytest.raises(KeyringError):
        Keyring(keys, active)


def test_short_secret_and_reused_id_are_refused() -> None:
    with pytest.raises(KeyringError):
        FrankingKey("k1", b"short", 0)
    with pytest.raises(KeyringError):
        _ring().rotate(FrankingKey("k1", key("again"), NOW_MS), NOW_MS)


@given(secret=st.binary(min_size=32, max_size=32), data=st.binary(max_size=300))
def test_precomputed_hmac_equals_the_standard_library(secret: bytes, data: bytes) -> None:
    assert FrankingKey("k", secret, 0).hmac(data) == hmac.digest(secret, data, "sha256")
