"""Benchmark: exact Hamming range search and signed-list loading.

Measures, single-threaded and in one run, queries per second of

* ``HammingIndex`` (multi-index hashing, hashes/index.py),
* a numpy brute-force scan (``HammingIndex(strategy="scan")``), the baseline,
* faiss ``IndexBinaryFlat.range_search`` (the bench extra; one OpenMP thread),

on 256-bit (PDQ) hashes at t = 31, uniform and clustered (many near-duplicates, like real
lists), and on 64-bit hashes at t = 10; checks that all three return the same hits; and
times verifying and loading a signed 1M-entry PDQ list. Ratios are against the numpy
scan measured in the same run.

    .venv/bin/python benchmarks/matching.py            # 1M and 10M (needs ~3 GB of RAM)
    .venv/bin/python benchmarks/matching.py --quick    # 100k and 1M, a smoke run
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hashes.index import HammingIndex

U8 = npt.NDArray[np.uint8]
Hits = list[tuple[int, int]]


def uniform(rng: np.random.Generator, n: int, nbytes: int) -> U8:
    """Independent uniform random hashes."""
    return rng.integers(0, 256, (n, nbytes), dtype=np.uint8)


def sparse_noise(rng: np.random.Generator, n: int, nbytes: int, and_count: int) -> U8:
    """Random bit masks with each bit set with probability 2**-and_count."""
    noise = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    for _ in range(and_count - 1):
        noise &= rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    return noise


def clustered(rng: np.random.Generator, n: int, nbytes: int, per_cluster: int = 20) -> U8:
    """Clusters of near-duplicates: centres plus variants about 8 to 16 bits away."""
    centres = uniform(rng, -(-n // per_cluster), nbytes)
    out = np.empty((n, nbytes), dtype=np.uint8)
    step = 1 << 20
    for start in range(0, n, step):
        stop = min(n, start + step)
        rows = centres[np.arange(start, stop) // per_cluster]
        and_count = 4 if start % (2 * step) == 0 else 5
        out[start:stop] = rows ^ sparse_noise(rng, stop - start, nbytes, and_count)
    return out


def queries_for(rng: np.random.Generator, data: U8, count: int) -> U8:
    """Half near-duplicates of list entries (about 8 bits away), half unrelated hashes."""
    nbytes = data.shape[1]
    near = data[rng.integers(0, data.shape[0], count // 2)] ^ sparse_noise(
        rng, count // 2, nbytes, 5
    )
    return np.concatenate([near, uniform(rng, count - count // 2, nbytes)])


def rate(run: Callable[[bytes], Hits], queries: U8, budget_s: float) -> tuple[float, list[Hits]]:
    """Queries per second over as many queries as fit in ``budget_s`` (at least 3)."""
    results: list[Hits] = []
    start = time.perf_counter()
    for i, q in enumerate(queries):
        results.append(run(q.tobytes()))
        if i >= 2 and time.perf_counter() - start > budget_s:
            break
    return len(results) / (time.perf_counter() - start), results


def faiss_search(data: U8, t: int) -> Callable[[bytes], Hits] | None:
    try:
        import faiss
    except ImportError:
        return None
    faiss.omp_set_num_threads(1)
    index = faiss.IndexBinaryFlat(data.shape[1] * 8)
    index.add(data)

    def run(query: bytes) -> Hits:
        q = np.frombuffer(query, dtype=np.uint8).reshape(1, -1)
        _lims, dist, ids = index.range_search(q, t + 1)  # faiss keeps distance < radius
        pairs = sorted(zip(dist.tolist(), ids.tolist(), strict=True))
        return [(int(i), int(d)) for d, i in pairs]

    return run


@dataclass
class Row:
    name: str
    n: int
    bits: int
    t: int
    ours: float
    scan: float
    faiss: float | None
    hits_per_query: float
    bytes_per_entry: float
    build_s: float


def bench_set(name: str, data: U8, t: int, rng: np.random.Generator, budget: float) -> Row:
    n, nbytes = data.shape
    queries = queries_for(rng, data, 400)
    start = time.perf_counter()
    index = HammingIndex(data)
    build_s = time.perf_counter() - start
    scan = HammingIndex(data, strategy="scan")

    ours_qps, ours_hits = rate(lambda q: index.range_search(q, t).pairs(), queries, budget)
    scan_qps, scan_hits = rate(lambda q: scan.range_search(q, t).pairs(), queries, budget)
    if scan_hits != ours_hits[: len(scan_hits)]:
        raise SystemExit(f"{name}: the index and the scan disagree")
    faiss_run = faiss_search(data, t)
    faiss_qps = None
    if faiss_run is not None:
        faiss_qps, faiss_hits = rate(faiss_run, queries, budget)
        if faiss_hits != ours_hits[: len(faiss_hits)]:
            raise SystemExit(f"{name}: the index and faiss disagree")
    hits = sum(len(h) for h in ours_hits) / len(ours_hits)
    return Row(
        name, n, nbytes * 8, t, ours_qps, scan_qps, faiss_qps, hits, index.nbytes / n, build_s
    )


def bench_load(n: int, rng: np.random.Generator) -> dict[str, float]:
    import nacl.signing

    from hashes.lists import TrustPolicy, build_list, load_list, sign_list
    from hashes.matching import Matcher
    from hashes.values import Algorithm

    keys = [nacl.signing.SigningKey(bytes([i + 1]) * 32) for i in range(3)]
    hash_list = build_list(
        list_id="bench",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=("csam", "terror", "ncii"),
        hashes=uniform(rng, n, 32),
        entry_categories=rng.integers(0, 3, n),
        entry_ids=[f"e{i}" for i in range(n)],
    )
    data = sign_list(hash_list, keys[0])
    data = sign_list(load_list(data, TrustPolicy({"k0": bytes(keys[0].verify_key)})), keys[1])
    policy = TrustPolicy({f"k{i}": bytes(k.verify_key) for i, k in enumerate(keys)}, threshold=2)
    best_load = best_matcher = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        loaded = load_list(data, policy)
        middle = time.perf_counter()
        Matcher(loaded)
        end = time.perf_counter()
        best_load = min(best_load, middle - start)
        best_matcher = min(best_matcher, end - middle)
    return {
        "entries": n,
        "file_mb": len(data) / 1e6,
        "file_bytes_per_entry": len(data) / n,
        "load_s": best_load,
        "index_build_s": best_matcher,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k and 1M instead of 1M and 10M")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per measurement")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(20261122)
    small, large = (100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000)

    rows = []
    for n in (small, large):
        rows.append(bench_set(f"pdq uniform {n:,}", uniform(rng, n, 32), 31, rng, args.budget))
        rows.append(bench_set(f"pdq clustered {n:,}", clustered(rng, n, 32), 31, rng, args.budget))
    rows.append(
        bench_set(f"64-bit uniform {small:,}", uniform(rng, small, 8), 10, rng, args.budget)
    )

    mode = "quick" if args.quick else "full"
    print(f"single-threaded queries/s; ratios against the numpy scan ({mode} run)")
    header = (
        f"{'set':<24} {'t':>3} {'index q/s':>10} {'scan q/s':>9} {'faiss q/s':>9} "
        f"{'index/scan':>10} {'index/faiss':>11} {'faiss/scan':>10} {'hits/q':>7} "
        f"{'B/entry':>8} {'build s':>7}"
    )
    print(header)
    for r in rows:
        faiss_qps = f"{r.faiss:9.1f}" if r.faiss else f"{'-':>9}"
        vs_faiss = f"{r.ours / r.faiss:10.1f}x" if r.faiss else f"{'-':>11}"
        faiss_scan = f"{r.faiss / r.scan:9.2f}x" if r.faiss else f"{'-':>10}"
        print(
            f"{r.name:<24} {r.t:>3} {r.ours:10.0f} {r.scan:9.1f} {faiss_qps} "
            f"{r.ours / r.scan:9.0f}x {vs_faiss} {faiss_scan} {r.hits_per_query:7.1f} "
            f"{r.bytes_per_entry:8.1f} {r.build_s:7.2f}"
        )
    load = bench_load(1_000_000 if not args.quick else 100_000, rng)
    print(
        f"signed list, {load['entries']:,.0f} PDQ entries with ids, 2-of-3 signatures: "
        f"{load['file_mb']:.1f} MB ({load['file_bytes_per_entry']:.1f} B/entry); "
        f"verify + load {load['load_s'] * 1000:.0f} ms; "
        f"index build {load['index_build_s'] * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
