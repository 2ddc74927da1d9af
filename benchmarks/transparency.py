"""The transparency log's costs: on the device, as ratios to one Ed25519 verification in
the same run; and the log itself at one million leaves.

    .venv/bin/python benchmarks/transparency.py [--seconds 1] [--leaves 1000000]
                                                [--db-leaves 20000]

Device (issue 17, "Cost"): verifying an inclusion proof and a consistency proof in a tree
of ``--leaves`` leaves, and checking a checkpoint (the log's signed note plus N witness
cosignatures, N = 0, 1, 3, 5), each timed against ``VerifyKey.verify`` of one Ed25519
signature; the rows take turns in 5 rounds (interleaved), figures are min / median / max
microseconds per operation and the ratio of medians to the Ed25519 row.

Log: integrating ``--leaves`` leaf hashes into tlog-tiles (the service's own tile code,
in memory), the tile storage that takes, the root and proofs read back from the tiles,
and the proof sizes; then ``--db-leaves`` real signed list versions appended through the
service (SQLite in a temporary folder, batches of 1,000), with the rate and the bytes
stored. Every leaf is a real list-version leaf (``hashes.transparency.leaf``).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nacl.signing
import numpy as np

from hashes.lists import TrustPolicy, build_list, sign_list
from hashes.transparency import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    ListLeaf,
    NoteSigner,
    TileReader,
    WitnessPolicy,
    consistency_proof,
    cosign,
    inclusion_proof,
    parse_note,
    root_hash,
    sign_checkpoint,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
)
from hashes.transparency.merkle import hash_leaf
from hashes.transparency.tiles import parse_tile_path
from hashes.values import Algorithm
from report_service.transparency.service import TransparencyLog, _Tiles


class MemoryTiles(_Tiles):
    """The service's tile integration with a dict in place of the database."""

    def __init__(self) -> None:
        self.cache = {}
        self.dirty = set()

    def get(self, level: int, index: int) -> bytearray:
        return self.cache.setdefault((level, index), bytearray())


def per_op_us(
    rows: list[tuple[str, Callable[[], object]]], seconds: float, rounds: int = 5
) -> dict[str, list[float]]:
    """Microseconds per call of each row, in ``rounds`` interleaved rounds."""
    counts = {}
    for name, fn in rows:
        n = 1
        while True:
            start = time.perf_counter()
            for _ in range(n):
                fn()
            elapsed = time.perf_counter() - start
            if elapsed > seconds / rounds / 4:
                counts[name] = max(1, int(n * seconds / rounds / elapsed))
                break
            n *= 2
    out: dict[str, list[float]] = {name: [] for name, _ in rows}
    for _ in range(rounds):
        for name, fn in rows:
            n = counts[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            out[name].append((time.perf_counter() - start) / n * 1e6)
    return out


def leaf_bytes(i: int) -> bytes:
    return ListLeaf(
        list_id=f"list-{i % 1000}",
        version=i // 1000 + 1,
        digest=hashlib.sha256(i.to_bytes(8, "big")).digest(),
        count=10_000,
        algorithm="pdq",
        bits=256,
        issued_at_ms=1_767_225_600_000,
        logged_at_ms=1_767_225_600_000 + i,
        curators=(bytes(32),),
        previous_digest=hashlib.sha256(b"prev").digest(),
    ).to_bytes()


def device(seconds: float, size: int) -> None:
    tiles = MemoryTiles()
    sample = leaf_bytes(123)
    for i in range(size):
        tiles.add_leaf_hash(i, hash_leaf(i.to_bytes(8, "big") if i != size // 2 else sample))
    reader = TileReader(size, lambda p: bytes(_read(tiles, p)))
    root = root_hash(size, reader)
    index = size // 2
    path = inclusion_proof(index, size, reader)
    old = size - 37
    old_root = root_hash(old, TileReader(old, lambda p: bytes(_read(tiles, p))))
    cproof = consistency_proof(old, size, reader)
    log = NoteSigner.from_seed("log.example/bench", bytes(32))
    witnesses = [
        NoteSigner.from_seed(f"w{i}.example", bytes([i + 1]) * 32, ALG_COSIGNATURE_V1)
        for i in range(5)
    ]
    cp = Checkpoint(log.name, size, root)
    notes = {}
    for n in (0, 1, 3, 5):
        note = parse_note(sign_checkpoint(cp, log))
        for w in witnesses[:n]:
            note = note.with_signature(cosign(cp, w, 1_800_000_000))
        notes[n] = (note.to_bytes(), WitnessPolicy(tuple(w.verifier for w in witnesses[:n]), n))
    key = nacl.signing.SigningKey(bytes(32))
    signed = key.sign(b"x" * 100)
    verify_key = key.verify_key
    leaf_hash = hash_leaf(sample)

    rows: list[tuple[str, Callable[[], object]]] = [
        ("one Ed25519 verify (baseline)", lambda: verify_key.verify(signed)),
        (
            f"inclusion proof ({len(path)} hashes)",
            lambda: verify_inclusion(index, size, leaf_hash, path, root),
        ),
        (
            f"consistency proof ({len(cproof)} hashes)",
            lambda: verify_consistency(old, size, old_root, root, cproof),
        ),
    ]
    for n, (data, policy) in notes.items():
        rows.append(
            (
                f"checkpoint + {n} cosignature(s)",
                lambda d=data, p=policy: verify_checkpoint(d, log.verifier, p),  # type: ignore[misc]
            )
        )
    measured = per_op_us(rows, seconds)
    base = statistics.median(measured["one Ed25519 verify (baseline)"])
    print(
        f"device checks, tree of {size:,} leaves: microseconds per operation, 5 interleaved rounds"
    )
    print(f"{'operation':40} {'min':>9} {'median':>9} {'max':>9} {'x Ed25519':>10}")
    for name, values in measured.items():
        med = statistics.median(values)
        print(f"{name:40} {min(values):9.1f} {med:9.1f} {max(values):9.1f} {med / base:10.2f}")


def _read(tiles: MemoryTiles, path: str) -> bytes:
    tile = parse_tile_path(path)
    if tile.level is None:
        raise ValueError("proofs read hash tiles only")
    return bytes(tiles.cache[(tile.level, tile.index)][: tile.width * 32])


def log_at_scale(size: int) -> None:
    print(f"\nthe log at {size:,} leaves (tile integration in memory, the service's code)")
    entries = [leaf_bytes(i) for i in range(1000)]
    entry_size = statistics.mean(len(e) for e in entries)
    tiles = MemoryTiles()
    start = time.perf_counter()
    for i in range(size):
        tiles.add_leaf_hash(i, hash_leaf(entries[i % 1000]))
    elapsed = time.perf_counter() - start
    tile_bytes = sum(len(v) for v in tiles.cache.values())
    reader = TileReader(size, lambda p: _read(tiles, p))
    start = time.perf_counter()
    root_hash(size, reader)
    root_s = time.perf_counter() - start
    start = time.perf_counter()
    fetched: list[str] = []

    def fetch(path: str) -> bytes:
        fetched.append(path)
        return _read(tiles, path)

    proof = inclusion_proof(size // 3, size, TileReader(size, fetch))
    proof_s = time.perf_counter() - start
    cproof = consistency_proof(size // 2 + 1, size, reader)
    print(f"  integration: {size / elapsed:,.0f} leaves/s ({elapsed:.1f} s, hashing included)")
    print(f"  tiles: {len(tiles.cache):,} tiles, {tile_bytes / 1e6:.1f} MB "
          f"({tile_bytes / size:.1f} bytes per leaf); entries: {entry_size:.0f} bytes per leaf, "
          f"{entry_size * size / 1e6:.0f} MB")  # fmt: skip
    print(f"  inclusion proof: {len(proof)} hashes = {len(proof) * 32} bytes; generated from "
          f"tiles in {proof_s * 1e3:.1f} ms (cold reader)")  # fmt: skip
    print(f"  consistency proof ({size // 2 + 1:,} -> {size:,}): {len(cproof)} hashes = "
          f"{len(cproof) * 32} bytes; root from tiles in {root_s * 1e3:.1f} ms")  # fmt: skip
    print(f"  a client proving one leaf from tiles fetches {len(fetched)} tiles "
          f"({sum(len(_read(tiles, p)) for p in fetched) / 1024:.0f} KiB)")  # fmt: skip


def database(n: int) -> None:
    from report_service.storage.engine import make_engine, make_session_factory
    from report_service.storage.migrate import upgrade_engine
    from report_service.transparency import store

    print(f"\nthe service appending {n:,} signed list versions (SQLite, batches of 1,000)")
    curator = nacl.signing.SigningKey(bytes([7]) * 32)
    policy = TrustPolicy({"c": bytes(curator.verify_key)})
    rng = np.random.default_rng(1)

    def batch(first: int, count: int) -> list[bytes]:
        out = []
        for i in range(first, first + count):
            unsigned = build_list(
                list_id=f"list-{i}", version=1, issued_at_ms=1_767_225_600_000,
                algorithm=Algorithm.PDQ, threshold=31, categories=("csam",),
                hashes=rng.integers(0, 256, (4, 32), dtype=np.uint8), entry_categories=[0] * 4,
            )  # fmt: skip
            out.append(sign_list(unsigned, curator))
        return out

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'log.db'}")
        upgrade_engine(engine)
        sessions = make_session_factory(engine)
        log = TransparencyLog(
            sessions, NoteSigner.from_seed("log.example/db", bytes(32)), lambda: 1
        )
        log.init()
        elapsed = 0.0
        for i in range(0, n, 1000):
            lists = batch(i, min(1000, n - i))  # built and signed outside the timing
            start = time.perf_counter()
            log.append_many(lists, policy)
            elapsed += time.perf_counter() - start
        with sessions() as session:
            entry_bytes, tile_bytes = store.storage_bytes(session)
        engine.dispose()  # checkpoints the WAL into the database file
        db_size = sum(f.stat().st_size for f in Path(tmp).glob("log.db*"))
    print(f"  {n / elapsed:,.0f} list versions/s appended (signature check, leaf, tiles, "
          f"signed checkpoint per batch; {elapsed:.1f} s)")  # fmt: skip
    print(f"  stored: entries {entry_bytes / 1e6:.1f} MB, tiles {tile_bytes / 1e6:.2f} MB, "
          f"SQLite file {db_size / 1e6:.1f} MB")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per device row")
    parser.add_argument("--leaves", type=int, default=1_000_000, help="tree size")
    parser.add_argument("--db-leaves", type=int, default=20_000, help="versions via the DB")
    args = parser.parse_args()
    device(args.seconds, args.leaves)
    log_at_scale(args.leaves)
    if args.db_leaves:
        database(args.db_leaves)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
