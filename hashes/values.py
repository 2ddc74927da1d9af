"""Hash values: an algorithm name plus packed bits, with a self-describing text form.

The text form is ``<algorithm>:<lowercase hex>``, for example ``pdq:f8f8...`` (64 hex
digits) or ``phash:a3c99479b05f8e16`` (16). Parsing checks the prefix, the exact length
for the algorithm and that every character is a hex digit, so a hash can never be read
with a guessed size. ``==`` is exact; similarity is :meth:`HashValue.distance`.
"""

from __future__ import annotations

import enum
import string
from dataclasses import dataclass

from hashes.errors import AlgorithmMismatch, HashFormatError

__all__ = ["Algorithm", "HashValue"]

_HEX_DIGITS = frozenset(string.hexdigits)


class Algorithm(enum.StrEnum):
    """A hash algorithm; its value is the prefix of the text form."""

    PDQ = "pdq"
    PHASH = "phash"
    DHASH = "dhash"
    SHA256 = "sha256"
    MD5 = "md5"

    @property
    def bits(self) -> int:
        """Number of bits in a hash of this algorithm."""
        return _BITS[self]

    @property
    def perceptual(self) -> bool:
        """True for hashes of the picture (near-duplicates match), False for the bytes."""
        return self in (Algorithm.PDQ, Algorithm.PHASH, Algorithm.DHASH)

    @classmethod
    def parse(cls, name: str) -> Algorithm:
        """Return the algorithm called ``name`` (case-insensitive).

        Raises:
            HashFormatError: no algorithm has that name.
        """
        try:
            return cls(name.strip().lower())
        except ValueError:
            known = ", ".join(a.value for a in cls)
            raise HashFormatError(f"unknown hash algorithm {name!r} (known: {known})") from None


_BITS: dict[Algorithm, int] = {
    Algorithm.PDQ: 256,
    Algorithm.PHASH: 64,
    Algorithm.DHASH: 64,
    Algorithm.SHA256: 256,
    Algorithm.MD5: 128,
}


@dataclass(frozen=True, slots=True)
class HashValue:
    """One hash: the algorithm and its bits packed big-endian (first bit = top bit of byte 0).

    Raises:
        HashFormatError: (on construction) ``digest`` is not ``bytes`` of exactly
            ``algorithm.bits // 8`` bytes, or ``algorithm`` is not an :class:`Algorithm`.
    """

    algorithm: Algorithm
    digest: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.algorithm, Algorithm):
            raise HashFormatError(f"not a hash algorithm: {self.algorithm!r}")
        if not isinstance(self.digest, bytes):
            raise HashFormatError(f"digest must be bytes, not {type(self.digest).__name__}")
        expected = self.algorithm.bits // 8
        if len(self.digest) != expected:
            raise HashFormatError(
                f"a {self.algorithm.value} digest has {expected} bytes, got {len(self.digest)}"
            )

    @classmethod
    def from_hex(cls, algorithm: Algorithm, hex_text: str) -> HashValue:
        """Build a hash from its hex digits (either case, no prefix, no whitespace).

        Raises:
            HashFormatError: wrong length for the algorithm or a non-hex character.
        """
        expected = algorithm.bits // 4
        if len(hex_text) != expected:
            raise HashFormatError(
                f"a {algorithm.value} hash has {expected} hex digits, got {len(hex_text)}"
            )
        if not _HEX_DIGITS.issuperset(hex_text):
            raise HashFormatError(f"a {algorithm.value} hash must be hexadecimal")
        return cls(algorithm, bytes.fromhex(hex_text))

    @classmethod
    def from_text(cls, text: str) -> HashValue:
        """Parse the self-describing form ``<algorithm>:<hex>``, e.g. ``phash:a3c99479b05f8e16``.

        Raises:
            HashFormatError: missing or unknown prefix, wrong length, or non-hex digits.
        """
        prefix, sep, hex_text = text.partition(":")
        if not sep:
            raise HashFormatError("a hash must look like '<algorithm>:<hex>'")
        try:
            algorithm = Algorithm(prefix)
        except ValueError:
            raise HashFormatError(f"unknown hash algorithm prefix {prefix[:16]!r}") from None
        return cls.from_hex(algorithm, hex_text)

    @property
    def hex(self) -> str:
        """The digest as lowercase hex, without the prefix."""
        return self.digest.hex()

    @property
    def bits(self) -> int:
        """Number of bits in this hash."""
        return self.algorithm.bits

    def to_text(self) -> str:
        """The self-describing form ``<algorithm>:<lowercase hex>``."""
        return f"{self.algorithm.value}:{self.digest.hex()}"

    def __str__(self) -> str:
        return self.to_text()

    def distance(self, other: HashValue) -> int:
        """Hamming distance: the number of differing bits.

        Raises:
            AlgorithmMismatch: the two hashes are of different algorithms.
        """
        if self.algorithm is not other.algorithm:
            raise AlgorithmMismatch(
                f"cannot compare a {self.algorithm.value} hash with a {other.algorithm.value} hash"
            )
        a = int.from_bytes(self.digest, "big")
        b = int.from_bytes(other.digest, "big")
        return (a ^ b).bit_count()
