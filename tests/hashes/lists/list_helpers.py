"""Helpers for the hash-list tests: deterministic curator keys and small lists."""

from __future__ import annotations

from collections.abc import Callable

import nacl.signing
import numpy as np

from hashes.lists import HashList, build_list
from hashes.values import Algorithm

ListFactory = Callable[..., HashList]


def curator_key(n: int) -> nacl.signing.SigningKey:
    """A fixed signing key per index, so failures reproduce."""
    return nacl.signing.SigningKey(bytes([n + 1]) * 32)


def make_list(
    *,
    n: int = 20,
    version: int = 1,
    previous_digest: bytes | None = None,
    algorithm: Algorithm = Algorithm.PDQ,
    ids: bool = True,
    seed: int = 0,
    list_id: str = "ncmec-test",
) -> HashList:
    rng = np.random.default_rng(seed)
    nbytes = algorithm.bits // 8
    return build_list(
        list_id=list_id,
        version=version,
        issued_at_ms=1_700_000_000_000 + version,
        algorithm=algorithm,
        threshold=31 if algorithm is Algorithm.PDQ else 10,
        categories=("csam", "terror", "ncii"),
        hashes=rng.integers(0, 256, (n, nbytes), dtype=np.uint8),
        entry_categories=rng.integers(0, 3, n),
        entry_ids=[f"e{i}" if i % 3 else None for i in range(n)] if ids else None,
        previous_digest=previous_digest,
    )
