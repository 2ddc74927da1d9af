from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import AlgorithmMismatch, HashFormatError
from hashes.values import Algorithm, HashValue

algorithms = st.sampled_from(list(Algorithm))


@st.composite
def hash_values(draw: st.DrawFn, algorithm: Algorithm | None = None) -> HashValue:
    algo = algorithm if algorithm is not None else draw(algorithms)
    return HashValue(algo, draw(st.binary(min_size=algo.bits // 8, max_size=algo.bits // 8)))


def test_algorithm_properties() -> None:
    assert {a: a.bits for a in Algorithm} == {
        Algorithm.PDQ: 256,
        Algorithm.PHASH: 64,
        Algorithm.DHASH: 64,
        Algorithm.SHA256: 256,
        Algorithm.MD5: 128,
    }
    assert [a for a in Algorithm if a.perceptual] == [
        Algorithm.PDQ,
        Algorithm.PHASH,
        Algorithm.DHASH,
    ]
    assert Algorithm.parse(" PDQ ") is Algorithm.PDQ
    with pytest.raises(HashFormatError):
        Algorithm.parse("sha1")


@given(hash_values())
def test_text_round_trip(value: HashValue) -> None:
    text = value.to_text()
    assert text == str(value)
    assert text == f"{value.algorithm.value}:{value.hex}"
    assert HashValue.from_text(text) == value
    assert HashValue.from_hex(value.algorithm, value.hex.upper()) == value


@given(hash_values(), st.data())
def test_wrong_length_is_rejected(value: HashValue, data: st.DataObject) -> None:
    hex_text = value.hex
    cut = data.draw(st.integers(min_value=0, max_value=len(hex_text) - 1))
    with pytest.raises(HashFormatError):
        HashValue.from_text(f"{value.algorithm.value}:{hex_text[:cut]}")
    with pytest.raises(HashFormatError):
        HashValue.from_text(f"{value.algorithm.value}:{hex_text}0")
    with pytest.raises(HashFormatError):
        HashValue(value.algorithm, value.digest + b"\x00")


@given(hash_values(), st.data())
def test_non_hex_is_rejected(value: HashValue, data: st.DataObject) -> None:
    hex_text = value.hex
    index = data.draw(st.integers(min_value=0, max_value=len(hex_text) - 1))
    bad = data.draw(st.sampled_from(list("gxz -:+é\n")))
    with pytest.raises(HashFormatError):
        HashValue.from_text(
            f"{value.algorithm.value}:{hex_text[:index]}{bad}{hex_text[index + 1 :]}"
        )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "pdq",
        ":" + "0" * 64,
        "PDQ:" + "0" * 64,
        "sha1:" + "0" * 40,
        "phash:" + "0" * 64,  # a PDQ-length digest under another name
        "md5:" + "0" * 64,
        "pdq:" + "0" * 16,
        " pdq:" + "0" * 64,
        "pdq:" + "0" * 63 + " ",
    ],
)
def test_malformed_text_is_rejected(text: str) -> None:
    with pytest.raises(HashFormatError):
        HashValue.from_text(text)


def test_digest_type_and_algorithm_are_checked() -> None:
    with pytest.raises(HashFormatError):
        HashValue(Algorithm.MD5, bytearray(16))  # type: ignore[arg-type]
    with pytest.raises(HashFormatError):
        HashValue("md5", bytes(16))  # type: ignore[arg-type]


@given(hash_values(Algorithm.PDQ), hash_values(Algorithm.PDQ))
def test_distance_is_a_metric_that_counts_bits(a: HashValue, b: HashValue) -> None:
    expected = sum(bin(x ^ y).count("1") for x, y in zip(a.digest, b.digest, strict=True))
    assert a.distance(b) == expected == b.distance(a)
    assert a.distance(a) == 0
    assert (a == b) == (a.distance(b) == 0)


@given(hash_values(Algorithm.PHASH), st.integers(min_value=0, max_value=63))
def test_one_flipped_bit_is_distance_one_and_not_equal(value: HashValue, bit: int) -> None:
    flipped = bytearray(value.digest)
    flipped[bit // 8] ^= 0x80 >> (bit % 8)
    other = HashValue(value.algorithm, bytes(flipped))
    assert value.distance(other) == 1
    assert value != other


def test_distance_across_algorithms_is_refused() -> None:
    with pytest.raises(AlgorithmMismatch):
        HashValue(Algorithm.PHASH, bytes(8)).distance(HashValue(Algorithm.DHASH, bytes(8)))
    with pytest.raises(AlgorithmMismatch):
        HashValue(Algorithm.PDQ, bytes(32)).distance(HashValue(Algorithm.SHA256, bytes(32)))


def test_values_are_hashable_and_frozen() -> None:
    value = HashValue.from_text("dhash:f2c3ebcd8d1c4cac")
    assert {value, HashValue.from_text("dhash:F2C3EBCD8D1C4CAC")} == {value}
    with pytest.raises(AttributeError):
        value.digest = bytes(8)  # type: ignore[misc]
