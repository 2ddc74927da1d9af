from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client_scan.errors import EnvelopeError, InvalidInput
from client_scan.franking import commit, open_envelope, seal_envelope, seal_envelope_random

from .helpers import key

SESSION = key("session")
FK = key("fk")


@given(payload=st.binary(max_size=4096))
def test_round_trip(payload: bytes) -> None:
    c = commit(FK, payload)
    ct = seal_envelope_random(SESSION, FK, payload, c)
    assert open_envelope(SESSION, ct, c) == (FK, payload)


def test_ciphertext_delivered_with_another_commitment_does_not_open() -> None:
    c = commit(FK, b"real")
    ct = seal_envelope(SESSION, FK, b"real", c, bytes(24))
    with pytest.raises(EnvelopeError):
        open_envelope(SESSION, ct, commit(FK, b"other"))


@given(position=st.integers(0, 200), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused(position: int, bit: int) -> None:
    c = commit(FK, b"a message of some length")
    ct = bytearray(seal_envelope(SESSION, FK, b"a message of some length", c, bytes(24)))
    ct[position % len(ct)] ^= 1 << bit
    with pytest.raises(EnvelopeError):
        open_envelope(SESSION, bytes(ct), c)


def test_wrong_key_and_short_input_are_refused() -> None:
    c = commit(FK, b"x")
    ct = seal_envelope_random(SESSION, FK, b"x", c)
    with pytest.raises(EnvelopeError):
        open_envelope(key("other session"), ct, c)
    with pytest.raises(EnvelopeError):
        open_envelope(SESSION, ct[:40], c)
    with pytest.raises(InvalidInput):
        seal_envelope(SESSION[:16], FK, b"x", c, bytes(24))
