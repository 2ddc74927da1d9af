"""Helpers for the transparency-log tests: signed list chains and a log-enabled key set."""

from __future__ import annotations

import dataclasses
import hashlib

import nacl.signing
import numpy as np

from hashes.lists import build_list, parse_list, sign_list
from hashes.values import Algorithm
from report_service.keys import KeyMaterial, LogKey

ORIGIN = "lists.frankly.test/log"


def with_log_key(keys: KeyMaterial, origin: str = ORIGIN) -> KeyMaterial:
    return dataclasses.replace(
        keys, log=LogKey(origin, hashlib.sha256(origin.encode()).digest(), 1)
    )


def signed_list(
    key: nacl.signing.SigningKey,
    list_id: str,
    version: int,
    previous: bytes | None = None,
    n: int = 5,
) -> bytes:
    rng = np.random.default_rng([version, len(list_id)])
    unsigned = build_list(
        list_id=list_id,
        version=version,
        issued_at_ms=1_767_225_600_000 + version,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=("csam", "ncii"),
        hashes=rng.integers(0, 256, (n, 32), dtype=np.uint8),
        entry_categories=rng.integers(0, 2, n),
        previous_digest=previous,
    )
    return sign_list(unsigned, key)


def chain(key: nacl.signing.SigningKey, list_id: str, versions: int) -> list[bytes]:
    out: list[bytes] = []
    previous = None
    for v in range(1, versions + 1):
        data = signed_list(key, list_id, v, previous)
        previous = parse_list(data)[0].digest
        out.append(data)
    return out
