"""A small transparency log published to a folder with the core's pure functions only
(tiles, entry bundles, a checkpoint signed by the log key and cosigned by witnesses), so
that the device rule and the auditor are tested against the c2sp tlog-tiles layout
without the service-side publisher."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nacl.signing
import numpy as np

from client_scan.transparency.rule import LogPolicy
from hashes.lists import HashList, build_list, parse_list, sign_list
from hashes.transparency.checkpoint import Checkpoint, sign_checkpoint
from hashes.transparency.cosignature import WitnessPolicy, cosign
from hashes.transparency.leaf import leaf_for_list
from hashes.transparency.merkle import hash_leaf, memory_reader, root_hash
from hashes.transparency.note import ALG_COSIGNATURE_V1, NoteSigner, parse_note
from hashes.transparency.tiles import (
    TILE_WIDTH,
    encode_entry_bundle,
    tile_hashes,
    tile_path,
    tiles_for_size,
)
from hashes.values import Algorithm

ORIGIN = "lists.frankly.test/log"
T0_MS = 1_767_225_600_000  # 2026-01-01
DAY_MS = 86_400_000


def seed(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


CURATOR = nacl.signing.SigningKey(seed("curator-a"))
CURATOR_B = nacl.signing.SigningKey(seed("curator-b"))
OUTSIDER = nacl.signing.SigningKey(seed("not-a-curator"))
LOG = NoteSigner.from_seed(ORIGIN, seed("log"))
OTHER_LOG = NoteSigner.from_seed(ORIGIN, seed("forged-log"))
WITNESSES = [
    NoteSigner.from_seed(f"witness.test/w{i}", seed(f"w{i}"), ALG_COSIGNATURE_V1) for i in range(3)
]
STRANGER = NoteSigner.from_seed("witness.test/stranger", seed("stranger"), ALG_COSIGNATURE_V1)


def log_policy(threshold: int = 2, *, allow_no_expiry: bool = False) -> LogPolicy:
    return LogPolicy(
        log_key=LOG.verifier,
        witnesses=WitnessPolicy(tuple(w.verifier for w in WITNESSES), threshold),
        allow_lists_without_expiry=allow_no_expiry,
    )


def make_list(
    version: int,
    previous: bytes | None = None,
    *,
    list_id: str = "example",
    n: int = 6,
    expires_in_days: float | None = 30,
    keys: tuple[nacl.signing.SigningKey, ...] = (CURATOR,),
    categories: tuple[str, ...] = ("csam", "ncii"),
) -> bytes:
    rng = np.random.default_rng([version, n, len(list_id)])
    issued = T0_MS + version * DAY_MS
    unsigned: HashList = build_list(
        list_id=list_id,
        version=version,
        issued_at_ms=issued,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=categories,
        hashes=rng.integers(0, 256, (n, 32), dtype=np.uint8),
        entry_categories=rng.integers(0, len(categories), n),
        previous_digest=previous,
        expires_at_ms=None if expires_in_days is None else issued + int(expires_in_days * DAY_MS),
    )
    data = unsigned.to_bytes()
    for key in keys:
        data = sign_list(parse_list(data)[0], key)
    return data


def chain(versions: int, **kwargs: object) -> list[bytes]:
    out: list[bytes] = []
    previous = None
    for v in range(1, versions + 1):
        data = make_list(v, previous, **kwargs)  # type: ignore[arg-type]
        previous = parse_list(data)[0].digest
        out.append(data)
    return out


class PublishedLog:
    """An append-only log of list leaves, published as static files under ``root``."""

    def __init__(self, root: Path, *, signer: NoteSigner = LOG) -> None:
        self.root = root
        self.signer = signer
        self.entries: list[bytes] = []

    def append_list(self, list_bytes: bytes, *, time_ms: int | None = None) -> int:
        hash_list = parse_list(list_bytes)[0]
        leaf = leaf_for_list(
            hash_list,
            time_ms if time_ms is not None else hash_list.header.issued_at_ms + 1,
            hash_list.header.expires_at_ms,
        )
        return self.append_entry(leaf.to_bytes())

    def append_entry(self, entry: bytes) -> int:
        self.entries.append(entry)
        return len(self.entries) - 1

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        size = len(self.entries) if size is None else size
        reader = memory_reader([hash_leaf(e) for e in self.entries[:size]])
        return Checkpoint(ORIGIN, size, root_hash(size, reader))

    def note(
        self,
        cosigned_at: int,
        *,
        size: int | None = None,
        witnesses: list[NoteSigner] | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> bytes:
        cp = checkpoint if checkpoint is not None else self.checkpoint(size)
        note = parse_note(sign_checkpoint(cp, self.signer))
        for w in WITNESSES[:2] if witnesses is None else witnesses:
            note = note.with_signature(cosign(cp, w, cosigned_at))
        return note.to_bytes()

    def publish(self, cosigned_at: int, **kwargs: object) -> bytes:
        """Write every tile and entry bundle of the current tree and the checkpoint."""
        size = len(self.entries)
        reader = memory_reader([hash_leaf(e) for e in self.entries])
        for tile in tiles_for_size(size):
            self._write(tile_path(tile.level, tile.index, tile.width), tile_hashes(tile, reader))
        for b in range(0, size, TILE_WIDTH):
            chunk = self.entries[b : b + TILE_WIDTH]
            self._write(tile_path(None, b // TILE_WIDTH, len(chunk)), encode_entry_bundle(chunk))
        note = self.note(cosigned_at, **kwargs)  # type: ignore[arg-type]
        self._write("checkpoint", note)
        return note

    def _write(self, path: str, data: bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
