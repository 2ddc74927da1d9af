"""RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs (SHA-256).

Hashing (RFC 9162 §2.1.1): the empty tree hashes to ``SHA-256("")``, a leaf to
``SHA-256(0x00 || entry)`` and an inner node to ``SHA-256(0x01 || left || right)``; a tree
of ``n > 1`` leaves splits at ``k``, the largest power of two smaller than ``n``.

Proofs are generated from a :class:`NodeReader`: a function ``(level, index) -> hash`` of
the *perfect* subtree of ``2**level`` leaves starting at leaf ``index * 2**level``. Every
proof and root needs only such hashes, so the same code serves an in-memory list of leaf
hashes (:func:`memory_reader`), a tiled log read from static files
(:class:`hashes.transparency.tiles.TileReader`) or a database.

Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) to the
letter, over untrusted input: every hash must be 32 bytes and every proof has the exact
length the tree sizes imply (no trailing or leading garbage).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

from hashes.errors import ConsistencyProofInvalid, InclusionProofInvalid, ProofRangeError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "NodeReader",
    "consistency_proof",
    "hash_children",
    "hash_leaf",
    "inclusion_proof",
    "memory_reader",
    "range_hash",
    "root_from_inclusion_proof",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
# Sizes and indices are uint64 on the wire (RFC 9162); nothing larger is ever valid.
MAX_TREE_SIZE = 2**64 - 1
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeReader = Callable[[int, int], bytes]
"""``reader(level, index)``: the hash of the perfect subtree of ``2**level`` leaves that
starts at leaf ``index * 2**level``. Level 0 is the leaf hashes."""


def hash_leaf(entry: bytes) -> bytes:
    """The RFC 6962 leaf hash ``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(b"\x00" + entry).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 inner node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(start: int, end: int, reader: NodeReader) -> bytes:
    """``MTH(D[start:end])`` for a range that is a subtree of the RFC 6962 split.

    Such a range starts at a multiple of the largest power of two not above its length,
    so it decomposes into perfect subtrees of strictly decreasing size; the RFC's split
    hashes them from the right. ``start == end`` gives the empty-tree hash.
    """
    if start == end:
        return EMPTY_ROOT
    parts: list[bytes] = []
    position = start
    while position < end:
        level = (end - position).bit_length() - 1
        # The subtree must also be aligned: shrink until position is a multiple of it.
        while position % (1 << level):
            level -= 1
        parts.append(reader(level, position >> level))
        position += 1 << level
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = hash_children(part, result)
    return result


def root_hash(size: int, reader: NodeReader) -> bytes:
    """The root hash of the tree of the first ``size`` leaves."""
    _check_size(size)
    return range_hash(0, size, reader)


def inclusion_proof(index: int, size: int, reader: NodeReader) -> list[bytes]:
    """The audit path ``PATH(index, D[0:size])`` of RFC 9162 §2.1.3.1, bottom up.

    Raises:
        ProofRangeError: ``index`` is not in ``0 .. size - 1``.
    """
    _check_size(size)
    if not 0 <= index < size:
        raise ProofRangeError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    _path(index, 0, size, reader, path)
    return path


def _path(m: int, start: int, end: int, reader: NodeReader, out: list[bytes]) -> None:
    # PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) if m < k, else
    #                 PATH(m - k, D[k:n]) : MTH(D[0:k]); the sibling comes after the
    # deeper elements, so recurse first and append on the way out.
    n = end - start
    if n == 1:
        return
    k = _largest_power_of_two_below(n)
    if m < k:
        _path(m, start, start + k, reader, out)
        out.append(range_hash(start + k, end, reader))
    else:
        _path(m - k, start + k, end, reader, out)
        out.append(range_hash(start, start + k, reader))


def consistency_proof(old_size: int, new_size: int, reader: NodeReader) -> list[bytes]:
    """The consistency proof ``PROOF(old_size, D[0:new_size])`` of RFC 9162 §2.1.4.1.

    The proof between equal sizes, and from the empty tree, is empty.

    Raises:
        ProofRangeError: ``old_size > new_size`` or a negative size.
    """
    _check_size(new_size)
    if not 0 <= old_size <= new_size:
        raise ProofRangeError(f"no consistency proof from size {old_size} to {new_size}")
    proof: list[bytes] = []
    if 0 < old_size < new_size:
        _subproof(old_size, 0, new_size, True, reader, proof)
    return proof


def _subproof(
    m: int, start: int, end: int, whole: bool, reader: NodeReader, out: list[bytes]
) -> None:
    n = end - start
    if m == n:
        if not whole:
            out.append(range_hash(start, end, reader))
        return
    k = _largest_power_of_two_below(n)
    if m <= k:
        _subproof(m, start, start + k, whole, reader, out)
        out.append(range_hash(start + k, end, reader))
    else:
        _subproof(m - k, start + k, end, False, reader, out)
        out.append(range_hash(start, start + k, reader))


def memory_reader(leaf_hashes: Sequence[bytes]) -> NodeReader:
    """A :data:`NodeReader` over leaf hashes held in memory (every level built once)."""
    levels: list[list[bytes]] = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([hash_children(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    def read(level: int, index: int) -> bytes:
        if level >= len(levels) or not 0 <= index < len(levels[level]):
            raise ProofRangeError(f"no perfect subtree at level {level}, index {index}")
        return levels[level][index]

    return read


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not 0 <= size <= MAX_TREE_SIZE:
        raise ProofRangeError(f"{size!r} is not a tree size")


def _check_hash(value: bytes, what: str, error: type[Exception]) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise error(f"{what} is not a {HASH_SIZE}-byte hash")


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2, steps 1-4).

    Raises:
        InclusionProofInvalid: the index is not below the size, a hash is not 32 bytes, or
            the proof has not exactly the length the index and size imply.
    """
    if isinstance(index, bool) or isinstance(size, bool):
        raise InclusionProofInvalid("index and size are integers")
    if not 0 <= index < size <= MAX_TREE_SIZE:
        raise InclusionProofInvalid(f"leaf {index} cannot be in a tree of {size} leaves")
    _check_hash(leaf_hash, "the leaf hash", InclusionProofInvalid)
    fn, sn = index, size - 1
    result = leaf_hash
    for element in proof:
        _check_hash(element, "a proof element", InclusionProofInvalid)
        if sn == 0:
            raise InclusionProofInvalid("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = hash_children(element, result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = hash_children(result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InclusionProofInvalid("the inclusion proof is shorter than the tree is deep")
    return result


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Raises:
        InclusionProofInvalid: it is not (wrong proof, leaf, index, size or root), or an
            input is malformed.
    """
    _check_hash(root, "the root", InclusionProofInvalid)
    computed = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if not hmac.compare_digest(computed, root):
        raise InclusionProofInvalid(f"the inclusion proof for leaf {index} does not match the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree ``(new_size, new_root)`` extends ``(old_size, old_root)``.

    RFC 9162 §2.1.4.2. Equal sizes need an empty proof and equal roots. The empty tree
    (``old_root`` must then be ``SHA-256("")``) is a prefix of every tree, with an empty
    proof.

    Raises:
        ConsistencyProofInvalid: the proof does not verify, has the wrong length, the old
            size is larger than the new one, or an input is malformed.
    """
    for value in (old_size, new_size):
        if isinstance(value, bool) or not 0 <= value <= MAX_TREE_SIZE:
            raise ConsistencyProofInvalid(f"{value!r} is not a tree size")
    _check_hash(old_root, "the old root", ConsistencyProofInvalid)
    _check_hash(new_root, "the new root", ConsistencyProofInvalid)
    for element in proof:
        _check_hash(element, "a proof element", ConsistencyProofInvalid)
    if old_size > new_size:
        raise ConsistencyProofInvalid(f"a tree of {old_size} cannot be a prefix of {new_size}")
    if old_size == new_size or old_size == 0:
        if proof:
            raise ConsistencyProofInvalid("this consistency proof must be empty")
        expected = new_root if old_size == new_size else EMPTY_ROOT
        if not hmac.compare_digest(old_root, expected):
            raise ConsistencyProofInvalid("the roots differ where they must be equal")
        return
    if not proof:
        raise ConsistencyProofInvalid("an empty consistency proof between different sizes")
    path = list(proof)
    # Step 2: a power-of-two old tree is a node of the new tree; the proof omits it.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for element in path[1:]:
        if sn == 0:
            raise ConsistencyProofInvalid("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = hash_children(element, fr)
            sr = hash_children(element, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ConsistencyProofInvalid("the consistency proof is too short")
    if not hmac.compare_digest(fr, old_root) or not hmac.compare_digest(sr, new_root):
        raise ConsistencyProofInvalid(
            f"the consistency proof from size {old_size} to {new_size} does not match the roots"
        )
