"""The list-proof document: round trip, and hostile JSON refused with a typed error."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import TransparencyFormatError
from hashes.transparency import ListProof

PROOF = ListProof(
    checkpoint=b"o\n1\n" + b"AAAA\n\n\xe2\x80\x94 o AAAAAA==\n",
    index=3,
    leaf=b"FRKLEAF\n...",
    inclusion_proof=(b"\x01" * 32, b"\x02" * 32),
    consistency_from=2,
    consistency_proof=(b"\x03" * 32,),
)


def test_round_trip() -> None:
    assert ListProof.from_json(PROOF.to_json()) == PROOF
    plain = ListProof(b"c\n", 0, b"", ())
    assert ListProof.from_json(plain.to_json()) == plain


@pytest.mark.parametrize(
    "change",
    [
        {"index": -1},
        {"index": True},
        {"index": 2**64},
        {"index": "3"},
        {"leaf": "not base64!"},
        {"inclusion_proof": ["AAAA"]},
        {"inclusion_proof": "AAAA"},
        {"inclusion_proof": ["A" * 43 + "="] * 65},
        {"consistency_from": -2},
        {"checkpoint": None},
        {"extra": 1},
    ],
)
def test_bad_fields(change: dict[str, object]) -> None:
    obj = json.loads(PROOF.to_json())
    obj.update(change)
    with pytest.raises(TransparencyFormatError):
        ListProof.from_json(json.dumps(obj).encode())


@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(TransparencyFormatError):
        ListProof.from_json(data)


def test_deep_nesting_and_size() -> None:
    for bad in (b"[" * 100_000, b" " * 200_000, b"{}"):
        with pytest.raises(TransparencyFormatError):
            ListProof.from_json(bad)
