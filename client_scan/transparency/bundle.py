"""The list update bundle: one signed list version and the log proofs a device needs.

A device in transparency mode accepts a list only with proof that it is the version every
other device sees (docs/transparency.md, "Device rule"). The bundle carries everything for
that check in one self-describing, bounded byte string (integers big-endian)::

    bundle = "FRKUPDT\\n" u16 bundle_version=1
             u32 list_length   the signed list file
             u64 leaf_index    u16 leaf_length  the log entry (hashes.transparency.leaf)
             u8 n  n * 32-byte inclusion proof (leaf_index in the checkpoint's tree)
             u32 note_length   the checkpoint note, signed by the log, cosigned by witnesses
             u64 old_size      u8 m  m * 32-byte consistency proof (old_size -> checkpoint)

``old_size`` is the size of the checkpoint the device trusted when the bundle was made
(0 on first use, with an empty proof). :func:`build_bundle` makes one from any reader of a
published log (tiles over a ``fetch(path)`` function: a directory, HTTP); nothing here
verifies anything: :func:`client_scan.transparency.rule.check_bundle` does.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from client_scan.errors import LogRolledBack, NotInLog, UpdateBundleInvalid
from hashes.errors import HashesError
from hashes.lists import parse_list
from hashes.transparency.checkpoint import Checkpoint, parse_checkpoint
from hashes.transparency.leaf import parse_leaf
from hashes.transparency.merkle import HASH_SIZE, consistency_proof, inclusion_proof
from hashes.transparency.note import MAX_NOTE_BYTES, parse_note
from hashes.transparency.tiles import TILE_WIDTH, TileReader, decode_entry_bundle, tile_path

__all__ = [
    "BUNDLE_MAGIC",
    "BUNDLE_VERSION",
    "DEFAULT_MAX_LIST_BYTES",
    "Fetch",
    "ProofLike",
    "UpdateBundle",
    "build_bundle",
    "bundle_from_proof",
    "parse_bundle",
]

BUNDLE_MAGIC = b"FRKUPDT\n"
BUNDLE_VERSION = 1
DEFAULT_MAX_LIST_BYTES = 256 * 1024 * 1024
"""A million PDQ entries with ids take about 38 MB; the bound keeps a hostile bundle from
making the device allocate without limit."""
MAX_LEAF_BYTES = 0xFFFF
MAX_INCLUSION_HASHES = 64  # a tree of at most 2**64 - 1 leaves
MAX_CONSISTENCY_HASHES = 128
CHECKPOINT_PATH = "checkpoint"

Fetch = Callable[[str], bytes]
"""Bytes at a path of a published log (``checkpoint``, ``tile/...``); raises ``OSError``
or a ``ClientScanError`` when they cannot be had."""


@dataclass(frozen=True, slots=True)
class UpdateBundle:
    """A signed list, its log leaf with an inclusion proof, a checkpoint note and a
    consistency proof from ``old_size`` (see the module docstring)."""

    list_bytes: bytes
    leaf_index: int
    leaf: bytes
    inclusion_proof: tuple[bytes, ...]
    checkpoint: bytes
    old_size: int
    consistency_proof: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        """The canonical bundle bytes.

        Raises:
            UpdateBundleInvalid: a field does not fit the format.
        """
        _check_proof(self.inclusion_proof, MAX_INCLUSION_HASHES, "inclusion")
        _check_proof(self.consistency_proof, MAX_CONSISTENCY_HASHES, "consistency")
        if len(self.leaf) > MAX_LEAF_BYTES or len(self.checkpoint) > MAX_NOTE_BYTES:
            raise UpdateBundleInvalid("a leaf or checkpoint is over its size bound")
        if len(self.list_bytes) >= 2**32:
            raise UpdateBundleInvalid("the list is over 4 GiB")
        for value in (self.leaf_index, self.old_size):
            if isinstance(value, bool) or not 0 <= value < 2**64:
                raise UpdateBundleInvalid("an index or size is not a uint64")
        return b"".join(
            [
                BUNDLE_MAGIC,
                struct.pack(">HI", BUNDLE_VERSION, len(self.list_bytes)),
                self.list_bytes,
                struct.pack(">QH", self.leaf_index, len(self.leaf)),
                self.leaf,
                bytes([len(self.inclusion_proof)]),
                *self.inclusion_proof,
                struct.pack(">I", len(self.checkpoint)),
                self.checkpoint,
                struct.pack(">QB", self.old_size, len(self.consistency_proof)),
                *self.consistency_proof,
            ]
        )


def _check_proof(proof: Sequence[bytes], limit: int, what: str) -> None:
    if len(proof) > limit or any(len(h) != HASH_SIZE for h in proof):
        raise UpdateBundleInvalid(f"an {what} proof is at most {limit} hashes of 32 bytes")


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise UpdateBundleInvalid(f"the bundle ends inside {what}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple[int, ...]:
        return tuple(struct.unpack(fmt, self.take(struct.calcsize(fmt), what)))

    def hashes(self, limit: int, what: str) -> tuple[bytes, ...]:
        (n,) = self.unpack(">B", what)
        if n > limit:
            raise UpdateBundleInvalid(f"the {what} has more than {limit} hashes")
        return tuple(self.take(HASH_SIZE, what) for _ in range(n))


def parse_bundle(data: bytes, *, max_list_bytes: int = DEFAULT_MAX_LIST_BYTES) -> UpdateBundle:
    """Parse bundle bytes (bounds checked before anything is copied); verifies nothing.

    Raises:
        UpdateBundleInvalid: bad magic or version, a length over its bound
            (``max_list_bytes`` for the list), truncated, or trailing bytes.
    """
    if not isinstance(data, bytes):
        raise UpdateBundleInvalid("a bundle is bytes")
    if len(data) > max_list_bytes + 2 * MAX_NOTE_BYTES + 16 * 1024:
        raise UpdateBundleInvalid("the bundle is larger than any bundle this device accepts")
    cur = _Cursor(data)
    if cur.take(len(BUNDLE_MAGIC), "the magic") != BUNDLE_MAGIC:
        raise UpdateBundleInvalid("not a Frankly list update bundle (bad magic)")
    version, list_length = cur.unpack(">HI", "the header")
    if version != BUNDLE_VERSION:
        raise UpdateBundleInvalid(f"unsupported bundle version {version}")
    if list_length > max_list_bytes:
        raise UpdateBundleInvalid(f"the list is larger than {max_list_bytes} bytes")
    list_bytes = cur.take(list_length, "the list")
    leaf_index, leaf_length = cur.unpack(">QH", "the leaf")
    leaf = cur.take(leaf_length, "the leaf")
    inclusion = cur.hashes(MAX_INCLUSION_HASHES, "inclusion proof")
    (note_length,) = cur.unpack(">I", "the checkpoint")
    if note_length > MAX_NOTE_BYTES:
        raise UpdateBundleInvalid(f"the checkpoint is larger than {MAX_NOTE_BYTES} bytes")
    note = cur.take(note_length, "the checkpoint")
    (old_size,) = cur.unpack(">Q", "the old size")
    consistency = cur.hashes(MAX_CONSISTENCY_HASHES, "consistency proof")
    if cur.pos != len(data):
        raise UpdateBundleInvalid("unexpected bytes after the consistency proof")
    return UpdateBundle(list_bytes, leaf_index, leaf, inclusion, note, old_size, consistency)


def _unverified_checkpoint(note: bytes) -> Checkpoint:
    try:
        return parse_checkpoint(parse_note(note).text)
    except HashesError as exc:
        raise UpdateBundleInvalid(f"the log's checkpoint does not parse: {exc}") from exc


def _find_leaf(digest: bytes, size: int, fetch: Fetch) -> tuple[int, bytes]:
    """Search the entry bundles newest first for the leaf of the list with ``digest``."""
    last_bundle = (size - 1) // TILE_WIDTH if size else -1
    for b in range(last_bundle, -1, -1):
        width = min(TILE_WIDTH, size - b * TILE_WIDTH)
        try:
            entries = decode_entry_bundle(fetch(tile_path(None, b, width)), width)
        except HashesError as exc:
            raise UpdateBundleInvalid(f"entry bundle {b} does not parse: {exc}") from exc
        for j in range(width - 1, -1, -1):
            try:
                leaf = parse_leaf(entries[j])
            except HashesError:
                continue  # not ours; malformed leaves are the auditors' business
            if leaf.digest == digest:
                return b * TILE_WIDTH + j, entries[j]
    raise NotInLog(f"no leaf for the list with digest {digest.hex()[:16]}... in {size} leaves")


def build_bundle(
    list_bytes: bytes,
    fetch: Fetch,
    *,
    old_size: int,
    checkpoint: bytes | None = None,
    leaf_index: int | None = None,
) -> UpdateBundle:
    """Make the update bundle for ``list_bytes`` from a published log.

    ``fetch`` reads the log (``checkpoint`` unless ``checkpoint`` note bytes are given, the
    entry bundles and the tiles: :func:`client_scan.transparency.fetch.directory_fetch`,
    :func:`~client_scan.transparency.fetch.http_fetch`); ``old_size`` is the tree size of
    the checkpoint the device trusts (0 for none). The leaf is found by the list's digest,
    newest entries first. Pure apart from ``fetch``; checks no signature.

    Raises:
        UpdateBundleInvalid: the list, checkpoint, a tile or an entry bundle is malformed.
        NotInLog: the log holds no leaf for this list (a split view, or not logged yet).
        LogRolledBack: the log is smaller than ``old_size``.
        OSError, ClientScanError: from ``fetch``.
    """
    try:
        digest = parse_list(list_bytes)[0].digest
    except HashesError as exc:
        raise UpdateBundleInvalid(f"the list does not parse: {exc}") from exc
    note = checkpoint if checkpoint is not None else fetch(CHECKPOINT_PATH)
    size = _unverified_checkpoint(note).size
    if old_size > size:
        raise LogRolledBack(f"the log has {size} leaves, fewer than the trusted {old_size}")
    if leaf_index is None:
        index, leaf = _find_leaf(digest, size, fetch)
    else:
        if not 0 <= leaf_index < size:
            raise NotInLog(f"leaf {leaf_index} is outside the log of {size} leaves")
        first = leaf_index - leaf_index % TILE_WIDTH
        width = min(TILE_WIDTH, size - first)
        try:
            entries = decode_entry_bundle(fetch(tile_path(None, first // TILE_WIDTH, width)), width)
        except HashesError as exc:
            raise UpdateBundleInvalid(f"the entry bundle does not parse: {exc}") from exc
        index, leaf = leaf_index, entries[leaf_index - first]
    reader = TileReader(size, fetch)
    try:
        inclusion = inclusion_proof(index, size, reader)
        consistency = consistency_proof(old_size, size, reader) if 0 < old_size < size else []
    except HashesError as exc:
        raise UpdateBundleInvalid(f"the log's tiles do not give a proof: {exc}") from exc
    return UpdateBundle(
        list_bytes=list_bytes,
        leaf_index=index,
        leaf=leaf,
        inclusion_proof=tuple(inclusion),
        checkpoint=note,
        old_size=old_size,
        consistency_proof=tuple(consistency),
    )


class ProofLike(Protocol):
    """A list version's proofs without the list, as the service's proof document gives
    them (``hashes.transparency.ListProof`` on the log's side)."""

    @property
    def checkpoint(self) -> bytes: ...

    @property
    def index(self) -> int: ...

    @property
    def leaf(self) -> bytes: ...

    @property
    def inclusion_proof(self) -> tuple[bytes, ...]: ...

    @property
    def consistency_from(self) -> int | None: ...

    @property
    def consistency_proof(self) -> tuple[bytes, ...]: ...


def bundle_from_proof(list_bytes: bytes, proof: ProofLike) -> UpdateBundle:
    """The update bundle for a list and the proofs the log served for it (no consistency
    start means first use, size 0). Checks nothing; the device rule does."""
    return UpdateBundle(
        list_bytes=list_bytes,
        leaf_index=proof.index,
        leaf=proof.leaf,
        inclusion_proof=tuple(proof.inclusion_proof),
        checkpoint=proof.checkpoint,
        old_size=proof.consistency_from or 0,
        consistency_proof=tuple(proof.consistency_proof),
    )
