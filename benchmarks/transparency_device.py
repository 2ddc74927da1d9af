"""What the device rule costs: applying a list update bundle against one Ed25519 verify.

``check_bundle`` (client_scan.transparency.rule) is everything a device does before it
swaps a list in under transparency mode: parse the bundle, verify the curator signature
and the list digest, the log's signature and two witness cosignatures on the checkpoint,
a consistency proof and an inclusion proof. It is timed interleaved with one Ed25519
verification (PyNaCl) on the same machine, in the same process, over the same number of
rounds, for a log of 1,000 and of 1,048,576 leaves (the list is the log's newest leaf;
the device trusted the tree one leaf smaller). The matcher's index build that follows an
accepted update is not included (see benchmarks/client.py).

Run: ``python benchmarks/transparency_device.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import time
from collections.abc import Callable

import nacl.signing
import numpy as np

from client_scan.transparency.bundle import UpdateBundle
from client_scan.transparency.rule import LogPolicy, check_bundle
from hashes.lists import TrustPolicy, build_list, parse_list, sign_list
from hashes.transparency.checkpoint import Checkpoint, sign_checkpoint
from hashes.transparency.cosignature import WitnessPolicy, cosign
from hashes.transparency.leaf import leaf_for_list
from hashes.transparency.merkle import (
    consistency_proof,
    hash_leaf,
    inclusion_proof,
    memory_reader,
    root_hash,
)
from hashes.transparency.note import ALG_COSIGNATURE_V1, NoteSigner, parse_note
from hashes.transparency.verify import TrustedCheckpoint
from hashes.values import Algorithm

ORIGIN = "bench.frankly.test/log"
T0_MS = 1_767_225_600_000


def _setup(size: int, entries: int) -> tuple[Callable[[], object], Callable[[], object]]:
    curator = nacl.signing.SigningKey.generate()
    log = NoteSigner.from_seed(ORIGIN, os.urandom(32))
    witnesses = [
        NoteSigner.from_seed(f"w{i}.bench", os.urandom(32), ALG_COSIGNATURE_V1) for i in range(2)
    ]
    rng = np.random.default_rng(size)
    unsigned = build_list(
        list_id="bench",
        version=1,
        issued_at_ms=T0_MS,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=("csam",),
        hashes=rng.integers(0, 256, (entries, 32), dtype=np.uint8),
        entry_categories=np.zeros(entries, dtype=np.int64),
        expires_at_ms=T0_MS + 30 * 86_400_000,
    )
    list_bytes = sign_list(unsigned, curator)
    leaf = leaf_for_list(parse_list(list_bytes)[0], T0_MS, T0_MS + 30 * 86_400_000).to_bytes()
    hashes = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(size - 1)]
    hashes.append(hash_leaf(leaf))
    reader = memory_reader(hashes)
    old = Checkpoint(ORIGIN, size - 1, root_hash(size - 1, reader))
    new = Checkpoint(ORIGIN, size, root_hash(size, reader))
    note = parse_note(sign_checkpoint(new, log))
    for w in witnesses:
        note = note.with_signature(cosign(new, w, T0_MS // 1000))
    bundle = UpdateBundle(
        list_bytes,
        size - 1,
        leaf,
        tuple(inclusion_proof(size - 1, size, reader)),
        note.to_bytes(),
        size - 1,
        tuple(consistency_proof(size - 1, size, reader)),
    ).to_bytes()
    policy = LogPolicy(log.verifier, WitnessPolicy(tuple(w.verifier for w in witnesses), 2))
    curators = TrustPolicy({"c": bytes(curator.verify_key)})
    trusted = TrustedCheckpoint(old, T0_MS // 1000 - 60)

    def apply() -> object:
        return check_bundle(
            bundle,
            curators=curators,
            log=policy,
            trusted_lists={},
            trusted_checkpoint=trusted,
            now_ms=T0_MS + 1000,
        )

    key = nacl.signing.SigningKey.generate()
    message = b"m" * 32
    signed = key.sign(message)
    verify_key = key.verify_key

    def ed25519() -> object:
        return verify_key.verify(signed)

    apply()  # must be accepted
    return apply, ed25519


def _time(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds")
    parser.add_argument("--batch", type=int, default=50, help="calls per timed batch")
    args = parser.parse_args()
    print(
        "| log size | list entries | operation | min us | median us | max us "
        "| x Ed25519 (medians) | x Ed25519 (mins) |"
    )
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for size, entries in ((1_000, 100), (1_048_576, 100), (1_048_576, 100_000)):
        apply, ed25519 = _setup(size, entries)
        a: list[float] = []
        e: list[float] = []
        for _ in range(args.rounds):
            e.append(_time(ed25519, args.batch))
            a.append(_time(apply, max(1, args.batch // 10)))
        base, floor = statistics.median(e), min(e)
        for name, xs in (("one Ed25519 verify", e), ("apply update bundle", a)):
            print(
                f"| {size:,} | {entries:,} | {name} | {min(xs) * 1e6:.1f} | "
                f"{statistics.median(xs) * 1e6:.1f} | {max(xs) * 1e6:.1f} | "
                f"{statistics.median(xs) / base:.1f} | {min(xs) / floor:.1f} |"
            )


if __name__ == "__main__":
    main()
