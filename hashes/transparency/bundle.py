"""A list version's transparency proof as one JSON document, and the whole device check.

What a device needs beside the list file to accept it: the log's checkpoint (with witness
cosignatures), the list's leaf and its index, an inclusion proof, and a consistency proof
from the size of the checkpoint the device trusts. :class:`ListProof` carries them
(``to_json`` / ``from_json``, strict and size-bounded); :func:`verify_list_proof` runs
every check in order and returns the checkpoint to trust next.

JSON: ``{"checkpoint": str (the note), "index": int, "leaf": base64,
"inclusion_proof": [base64], "consistency_from": int | null,
"consistency_proof": [base64]}``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hashes.errors import ConsistencyProofInvalid, ListNotLogged, TransparencyFormatError
from hashes.lists.format import HashList
from hashes.transparency.cosignature import WitnessPolicy
from hashes.transparency.leaf import ListLeaf, parse_leaf
from hashes.transparency.merkle import HASH_SIZE, MAX_TREE_SIZE
from hashes.transparency.note import MAX_NOTE_BYTES, NoteVerifier
from hashes.transparency.verify import (
    TrustedCheckpoint,
    VerifiedCheckpoint,
    check_update,
    verify_checkpoint,
    verify_leaf,
)

__all__ = ["MAX_PROOF_JSON_BYTES", "ListProof", "check_leaf_matches", "verify_list_proof"]

MAX_PROOF_HASHES = 64
MAX_PROOF_JSON_BYTES = 2 * MAX_NOTE_BYTES + 4 * 1024 * 4


@dataclass(frozen=True, slots=True)
class ListProof:
    """Everything beside the list file that shows it is in the public log."""

    checkpoint: bytes
    index: int
    leaf: bytes
    inclusion_proof: tuple[bytes, ...]
    consistency_from: int | None = None
    consistency_proof: tuple[bytes, ...] = ()

    def to_json(self) -> bytes:
        """The JSON document (UTF-8)."""
        b64 = _encode
        return json.dumps(
            {
                "checkpoint": self.checkpoint.decode("utf-8"),
                "index": self.index,
                "leaf": b64(self.leaf),
                "inclusion_proof": [b64(p) for p in self.inclusion_proof],
                "consistency_from": self.consistency_from,
                "consistency_proof": [b64(p) for p in self.consistency_proof],
            }
        ).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> ListProof:
        """Parse the JSON document, strictly.

        Raises:
            TransparencyFormatError: too large, not JSON, a missing or extra field, a
                wrong type, bad base64, a hash that is not 32 bytes, too many hashes.
        """
        if len(data) > MAX_PROOF_JSON_BYTES:
            raise TransparencyFormatError("the proof document is too large")
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError):
            raise TransparencyFormatError("the proof document is not JSON") from None
        fields = {
            "checkpoint",
            "index",
            "leaf",
            "inclusion_proof",
            "consistency_from",
            "consistency_proof",
        }
        if not isinstance(obj, dict) or set(obj) != fields:
            raise TransparencyFormatError(f"the proof document has exactly {sorted(fields)}")
        if not isinstance(obj["checkpoint"], str):
            raise TransparencyFormatError("checkpoint is the note text")
        start = obj["consistency_from"]
        if start is not None and not _uint(start):
            raise TransparencyFormatError("consistency_from is a tree size or null")
        if not _uint(obj["index"]):
            raise TransparencyFormatError("index is a leaf index")
        return cls(
            checkpoint=obj["checkpoint"].encode("utf-8"),
            index=obj["index"],
            leaf=_b64(obj["leaf"], "leaf", 0xFFFF),
            inclusion_proof=_hashes(obj["inclusion_proof"], "inclusion_proof"),
            consistency_from=start,
            consistency_proof=_hashes(obj["consistency_proof"], "consistency_proof"),
        )


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _uint(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TREE_SIZE


def _b64(value: Any, what: str, limit: int) -> bytes:
    if not isinstance(value, str) or len(value) > 4 * (limit // 3 + 1):
        raise TransparencyFormatError(f"{what} is base64")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise TransparencyFormatError(f"{what} is base64") from None
    return raw


def _hashes(value: Any, what: str) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > MAX_PROOF_HASHES:
        raise TransparencyFormatError(f"{what} is a list of at most {MAX_PROOF_HASHES} hashes")
    out = tuple(_b64(v, what, HASH_SIZE) for v in value)
    if any(len(h) != HASH_SIZE for h in out):
        raise TransparencyFormatError(f"{what} holds 32-byte hashes")
    return out


def check_leaf_matches(leaf: ListLeaf, hash_list: HashList) -> None:
    """Check that ``leaf`` logs exactly ``hash_list`` (list id, version, digest).

    Raises:
        ListNotLogged: it logs something else.
    """
    header = hash_list.header
    if (
        leaf.list_id != header.list_id
        or leaf.version != header.version
        or not hmac.compare_digest(leaf.digest, hash_list.digest)
    ):
        raise ListNotLogged(
            f"the log's leaf is {leaf.list_id!r} version {leaf.version}, not "
            f"{header.list_id!r} version {header.version} with this digest"
        )


def verify_list_proof(
    proof: ListProof,
    hash_list: HashList,
    log_key: NoteVerifier,
    witnesses: WitnessPolicy,
    trusted: TrustedCheckpoint | None,
    *,
    now_s: int | None = None,
    origin: str | None = None,
) -> tuple[TrustedCheckpoint, ListLeaf, VerifiedCheckpoint]:
    """Every transparency check for one list update, in order: the checkpoint (log
    signature, witnesses), its consistency with the trusted checkpoint, the leaf's
    inclusion, and that the leaf is this list. Returns the checkpoint to trust next, the
    leaf and the verified checkpoint; nothing is changed on failure.

    Raises:
        The errors of :func:`verify_checkpoint` and :func:`check_update`;
        ConsistencyProofInvalid: also when ``consistency_from`` is not the trusted size;
        InclusionProofInvalid: the leaf is not at ``index`` in the checkpoint's tree;
        LeafFormatError: the leaf is malformed;
        ListNotLogged: the logged leaf is another list version (a split view).
    """
    verified = verify_checkpoint(proof.checkpoint, log_key, witnesses, now_s=now_s, origin=origin)
    consistency: Sequence[bytes] = proof.consistency_proof
    # A proof from another size proves nothing about the trusted tree. (Equal sizes need
    # no proof, a smaller tree is a rollback: check_update says so.)
    if (
        trusted is not None
        and verified.checkpoint.size > trusted.checkpoint.size
        and proof.consistency_from != trusted.checkpoint.size
    ):
        raise ConsistencyProofInvalid(
            f"the consistency proof starts at {proof.consistency_from}, the trusted "
            f"checkpoint has {trusted.checkpoint.size} leaves"
        )
    next_trusted = check_update(trusted, verified, consistency)
    leaf = parse_leaf(proof.leaf)
    verify_leaf(proof.leaf, proof.index, proof.inclusion_proof, verified.checkpoint)
    check_leaf_matches(leaf, hash_list)
    return next_trusted, leaf, verified
