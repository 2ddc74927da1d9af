"""The tlog-witness add-checkpoint request body: round trip and strict parsing."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import TransparencyFormatError
from hashes.transparency.witness import (
    MAX_PROOF_LINES,
    AddCheckpoint,
    encode_add_checkpoint,
    parse_add_checkpoint,
)

NOTE = b"example.com/log\n3\n" + base64.b64encode(bytes(32)) + b"\n\n\xe2\x80\x94 x AAAAAA==\n"


@given(st.integers(0, 2**64 - 1), st.lists(st.binary(min_size=32, max_size=32), max_size=63))
def test_round_trip(old: int, proof: list[bytes]) -> None:
    request = AddCheckpoint(old, tuple(proof), NOTE)
    assert parse_add_checkpoint(encode_add_checkpoint(request)) == request


def test_the_spec_example_head_parses() -> None:
    body = (
        b"old 20852014\n"
        b"PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
        b"jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
        b"5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
        b"/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\n" + NOTE
    )
    request = parse_add_checkpoint(body)
    assert request.old_size == 20852014
    assert len(request.proof) == 4
    assert request.checkpoint == NOTE


@pytest.mark.parametrize(
    "head",
    [
        b"old 01\n",
        b"old -1\n",
        b"old\n",
        b"new 1\n",
        b"old 1 \n",
        b"old 18446744073709551616\n",
        b"old 1\nAAAA\n",
        b"old 1\n" + (base64.b64encode(bytes(32)) + b"\n") * (MAX_PROOF_LINES + 1),
        b"old 1\n\xff\n",
    ],
)
def test_bad_heads(head: bytes) -> None:
    with pytest.raises(TransparencyFormatError):
        parse_add_checkpoint(head + b"\n" + NOTE)


def test_no_blank_line_and_size_limit() -> None:
    with pytest.raises(TransparencyFormatError):
        parse_add_checkpoint(b"old 0\n" + NOTE.replace(b"\n\n", b"\n"))
    with pytest.raises(TransparencyFormatError):
        parse_add_checkpoint(b"old 0\n\n" + b"x" * 200_000)
