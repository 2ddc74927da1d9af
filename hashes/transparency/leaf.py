"""The log leaf for one signed list version: a canonical, self-describing byte encoding.

A leaf says which list version devices may accept, so that anyone reading the log can
tell every version ever published and check it against the list file::

    leaf = "FRKLEAF\\n" u16 leaf_version=1
           lp16(list_id) u64 version  32-byte digest  u64 count
           lp8(algorithm) u16 bits  u64 issued_at_ms  u64 logged_at_ms  u64 expires_at_ms
           u8 has_previous [32-byte previous_digest]
           u8 ncurators  ncurators * 32-byte curator Ed25519 public key (sorted, distinct)

Integers are big-endian; ``lpN(x)`` is an N-bit length then the UTF-8 bytes;
``expires_at_ms`` 0 means the list carries no expiry. ``digest`` is the list's SHA-256
body digest, the value the curators signed. ``curators`` are the public keys whose
signatures the list carried when it was logged (the log only appends lists signed by the
curators it trusts). The log's entry is these bytes; its leaf hash is
``SHA-256(0x00 || leaf)``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hashes.errors import LeafFormatError
from hashes.lists.format import HashList
from hashes.transparency.merkle import hash_leaf

__all__ = ["LEAF_MAGIC", "LEAF_VERSION", "ListLeaf", "leaf_for_list", "parse_leaf"]

LEAF_MAGIC = b"FRKLEAF\n"
LEAF_VERSION = 1
MAX_CURATORS = 64
_U64 = 2**64 - 1
_DIGEST = 32
_KEY = 32


@dataclass(frozen=True, slots=True)
class ListLeaf:
    """One logged list version.

    Raises:
        LeafFormatError: (on construction) a field out of range: an empty or too long
            list id or algorithm, a digest or key that is not 32 bytes, unsorted or
            repeated curator keys, a number outside uint64.
    """

    list_id: str
    version: int
    digest: bytes
    count: int
    algorithm: str
    bits: int
    issued_at_ms: int
    logged_at_ms: int
    curators: tuple[bytes, ...]
    previous_digest: bytes | None = None
    expires_at_ms: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.list_id, str) or not 1 <= len(self.list_id.encode()) <= 0xFFFF:
            raise LeafFormatError("a list id is 1 to 65,535 UTF-8 bytes")
        if not isinstance(self.algorithm, str) or not 1 <= len(self.algorithm.encode()) <= 255:
            raise LeafFormatError("an algorithm name is 1 to 255 UTF-8 bytes")
        for name in ("version", "count", "issued_at_ms", "logged_at_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U64:
                raise LeafFormatError(f"{name} is a uint64")
        if self.expires_at_ms is not None and not 1 <= self.expires_at_ms <= _U64:
            raise LeafFormatError("expires_at_ms is a positive uint64 or absent")
        if isinstance(self.bits, bool) or not 0 <= self.bits <= 0xFFFF:
            raise LeafFormatError("bits is a uint16")
        if not isinstance(self.digest, bytes) or len(self.digest) != _DIGEST:
            raise LeafFormatError("a list digest has 32 bytes")
        if self.previous_digest is not None and (
            not isinstance(self.previous_digest, bytes) or len(self.previous_digest) != _DIGEST
        ):
            raise LeafFormatError("a previous digest has 32 bytes")
        curators = tuple(self.curators)
        if not 1 <= len(curators) <= MAX_CURATORS:
            raise LeafFormatError(f"a leaf names 1 to {MAX_CURATORS} curator keys")
        if any(not isinstance(k, bytes) or len(k) != _KEY for k in curators):
            raise LeafFormatError("a curator key has 32 bytes")
        if list(curators) != sorted(set(curators)):
            raise LeafFormatError("curator keys are sorted and distinct")
        object.__setattr__(self, "curators", curators)

    def to_bytes(self) -> bytes:
        """The canonical leaf bytes (the log entry)."""
        list_id = self.list_id.encode("utf-8")
        algorithm = self.algorithm.encode("utf-8")
        out = bytearray(LEAF_MAGIC)
        out += struct.pack(">HH", LEAF_VERSION, len(list_id)) + list_id
        out += struct.pack(">Q", self.version) + self.digest + struct.pack(">Q", self.count)
        out += bytes([len(algorithm)]) + algorithm
        out += struct.pack(
            ">HQQQ", self.bits, self.issued_at_ms, self.logged_at_ms, self.expires_at_ms or 0
        )
        if self.previous_digest is None:
            out += b"\x00"
        else:
            out += b"\x01" + self.previous_digest
        out += bytes([len(self.curators)]) + b"".join(self.curators)
        return bytes(out)

    @property
    def leaf_hash(self) -> bytes:
        """The RFC 6962 leaf hash of :meth:`to_bytes`."""
        return hash_leaf(self.to_bytes())


def leaf_for_list(
    signed_list: HashList, time_ms: int, expires_at_ms: int | None = None
) -> ListLeaf:
    """The leaf that logs ``signed_list`` at ``time_ms`` (the log's clock, milliseconds).

    The curator keys are those of the signatures the list carries; check them against the
    trust policy first (:func:`hashes.lists.load_list`), this function verifies nothing.
    ``expires_at_ms`` defaults to the list's own signed expiry (``header.expires_at_ms``),
    which is what devices compare the leaf with.

    Raises:
        LeafFormatError: the list carries no signature, or a field is out of range.
    """
    header = signed_list.header
    keys = sorted({s.public_key for s in signed_list.signatures})
    if not keys:
        raise LeafFormatError("only a signed list can be logged")
    return ListLeaf(
        list_id=header.list_id,
        version=header.version,
        digest=signed_list.digest,
        count=header.count,
        algorithm=str(header.algorithm),
        bits=header.bits,
        issued_at_ms=header.issued_at_ms,
        logged_at_ms=time_ms,
        curators=tuple(keys),
        previous_digest=header.previous_digest,
        expires_at_ms=expires_at_ms if expires_at_ms is not None else header.expires_at_ms,
    )


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, n: int) -> bytes:
        if self.offset + n > len(self.data):
            raise LeafFormatError("the leaf ends early")
        chunk = self.data[self.offset : self.offset + n]
        self.offset += n
        return chunk

    def unpack(self, fmt: str) -> tuple[int, ...]:
        size = struct.calcsize(fmt)
        return tuple(struct.unpack(fmt, self.take(size)))

    def text(self, length: int, what: str) -> str:
        try:
            return self.take(length).decode("utf-8")
        except UnicodeDecodeError:
            raise LeafFormatError(f"the {what} is not UTF-8") from None


def parse_leaf(data: bytes) -> ListLeaf:
    """Parse leaf bytes; the result re-encodes to exactly ``data``.

    Raises:
        LeafFormatError: wrong magic or version, truncated, trailing bytes, a flag other
            than 0 or 1, or a field out of range.
    """
    if not isinstance(data, bytes) or len(data) > 0xFFFF:
        raise LeafFormatError("a leaf is at most 65,535 bytes")
    reader = _Reader(data)
    if reader.take(len(LEAF_MAGIC)) != LEAF_MAGIC:
        raise LeafFormatError("not a Frankly list leaf (bad magic)")
    version_format, id_length = reader.unpack(">HH")
    if version_format != LEAF_VERSION:
        raise LeafFormatError(f"leaf format version {version_format} is not supported")
    list_id = reader.text(id_length, "list id")
    (version,) = reader.unpack(">Q")
    digest = reader.take(_DIGEST)
    (count,) = reader.unpack(">Q")
    (algorithm_length,) = reader.unpack(">B")
    algorithm = reader.text(algorithm_length, "algorithm")
    bits, issued, logged, expires = reader.unpack(">HQQQ")
    (has_previous,) = reader.unpack(">B")
    if has_previous not in (0, 1):
        raise LeafFormatError("the previous-digest flag is 0 or 1")
    previous = reader.take(_DIGEST) if has_previous else None
    (ncurators,) = reader.unpack(">B")
    curators = tuple(reader.take(_KEY) for _ in range(ncurators))
    if reader.offset != len(data):
        raise LeafFormatError("the leaf has trailing bytes")
    return ListLeaf(
        list_id=list_id,
        version=version,
        digest=digest,
        count=count,
        algorithm=algorithm,
        bits=bits,
        issued_at_ms=issued,
        logged_at_ms=logged,
        curators=curators,
        previous_digest=previous,
        expires_at_ms=expires or None,
    )
