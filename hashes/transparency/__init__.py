"""Transparency for hash lists: an RFC 6962 Merkle log of list versions, C2SP checkpoints,
witness cosignatures and tiles. Pure: bytes and frozen dataclasses in and out, time passed
in, no I/O.

- :mod:`.merkle` tree hashing, inclusion and consistency proofs (generate and verify);
- :mod:`.tiles` the c2sp.org/tlog-tiles layout and proofs read from tiles;
- :mod:`.note` c2sp.org/signed-note with Ed25519 keys and vkeys;
- :mod:`.checkpoint` c2sp.org/tlog-checkpoint;
- :mod:`.cosignature` c2sp.org/tlog-cosignature (cosignature/v1) and witness policies;
- :mod:`.leaf` the canonical leaf for one signed list version;
- :mod:`.verify` what a client checks: checkpoint, update, inclusion;
- :mod:`.bundle` a list version's proofs as one JSON document, and the whole device check;
- :mod:`.witness` a witness's add-checkpoint check (c2sp.org/tlog-witness).

The format and threat model are in ``docs/transparency.md``.
"""

from __future__ import annotations

from hashes.transparency.bundle import ListProof, check_leaf_matches, verify_list_proof
from hashes.transparency.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from hashes.transparency.cosignature import (
    Cosignature,
    WitnessPolicy,
    cosign,
    cosignature_message,
    verify_cosignatures,
)
from hashes.transparency.leaf import ListLeaf, leaf_for_list, parse_leaf
from hashes.transparency.merkle import (
    EMPTY_ROOT,
    NodeReader,
    consistency_proof,
    hash_children,
    hash_leaf,
    inclusion_proof,
    memory_reader,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from hashes.transparency.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    VerifiedNote,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
)
from hashes.transparency.tiles import (
    TilePath,
    TileReader,
    decode_entry_bundle,
    encode_entry_bundle,
    parse_tile_path,
    tile_hashes,
    tile_path,
    tiles_for_size,
)
from hashes.transparency.verify import (
    TrustedCheckpoint,
    VerifiedCheckpoint,
    check_update,
    verify_checkpoint,
    verify_leaf,
)

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "EMPTY_ROOT",
    "Checkpoint",
    "Cosignature",
    "ListLeaf",
    "ListProof",
    "NodeReader",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "SignedCheckpoint",
    "TilePath",
    "TileReader",
    "TrustedCheckpoint",
    "VerifiedCheckpoint",
    "VerifiedNote",
    "WitnessPolicy",
    "check_leaf_matches",
    "check_update",
    "consistency_proof",
    "cosign",
    "cosignature_message",
    "decode_entry_bundle",
    "encode_entry_bundle",
    "hash_children",
    "hash_leaf",
    "inclusion_proof",
    "leaf_for_list",
    "memory_reader",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_leaf",
    "parse_note",
    "parse_tile_path",
    "parse_vkey",
    "root_hash",
    "sign_checkpoint",
    "sign_note",
    "tile_hashes",
    "tile_path",
    "tiles_for_size",
    "verify_checkpoint",
    "verify_consistency",
    "verify_cosignatures",
    "verify_inclusion",
    "verify_leaf",
    "verify_list_proof",
]
