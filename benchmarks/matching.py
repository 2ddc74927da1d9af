"""Benchmark: exact Hamming range search and signed-list loading.

Measures, single-threaded and in one run, queries per second of

* ``HammingIndex`` (multi-index hashing, hashes/index.py),
* a numpy brute-force scan (``HammingIndex(strategy="scan")``),
* faiss ``IndexBinaryFlat.range_search`` (a scan) and faiss ``IndexBinaryMultiHash``
  (multi-index hashing like ours, set up to be exact), from the bench extra, one OpenMP
  thread,

on 256-bit (PDQ) hashes at t = 31, uniform and clustered (many near-duplicates, like real
lists), and on 64-bit hashes at t = 10; checks that all return the same hits; and times
verifying and loading a signed 1M-entry PDQ list. Every method answers the same queries,
the runs are interleaved and repeated (``--repeats``, default 3), and min / median / max
are printed, so that a burst of load from other jobs on a shared machine hits all methods
alike; ratios are of medians measured in the same run.

    .venv/bin/python benchmarks/matching.py            # 1M and 10M (needs ~3 GB of RAM)
    .venv/bin/python benchmarks/matching.py --quick    # 100k and 1M, a smoke run
"""

from __future__ import annotations

import argparse
import statistics
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


def timed(run: Callable[[bytes], Hits], queries: U8) -> tuple[float, list[Hits]]:
    """Queries per second over every one of ``queries``, and the hits."""
    start = time.perf_counter()
    results = [run(q.tobytes()) for q in queries]
    return len(results) / (time.perf_counter() - start), results


def faiss_search(data: U8, t: int, kind: str = "flat") -> Callable[[bytes], Hits] | None:
    """faiss range search over ``data`` at radius ``t``, one OpenMP thread: ``flat``
    (``IndexBinaryFlat``, a scan) or ``multihash`` (``IndexBinaryMultiHash``, one table
    per 32-bit substring, 16-bit for 64-bit hashes, and ``nflip`` set by the pigeonhole
    principle, so that it is exact like ours)."""
    try:
        import faiss
    except ImportError:
        return None
    faiss.omp_set_num_threads(1)
    bits = data.shape[1] * 8
    index: faiss.IndexBinary
    if kind == "flat":
        index = faiss.IndexBinaryFlat(bits)
    else:
        width = 32 if bits > 64 else 16
        tables = bits // width
        multi = faiss.IndexBinaryMultiHash(bits, tables, width)
        multi.nflip = t // tables  # some substring of a hit differs in <= t // tables bits
        index = multi
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
    queries: int
    qps: dict[str, list[float]]  # method -> queries/s of each repeat
    hits_per_query: float
    bytes_per_entry: float
    build_s: float

    def median(self, method: str) -> float | None:
        runs = self.qps.get(method)
        return statistics.median(runs) if runs else None


METHODS = ("index", "scan", "faiss flat", "faiss multihash")


def bench_set(
    name: str, data: U8, t: int, rng: np.random.Generator, queries_n: int, repeats: int
) -> Row:
    """Every method answers the same ``queries_n`` queries (half near-duplicates, half
    unrelated), ``repeats`` times, interleaved (index, scan, faiss flat, faiss multihash,
    then again), so load from other jobs hits all alike; all must return the same hits."""
    n, nbytes = data.shape
    queries = queries_for(rng, data, queries_n)
    start = time.perf_counter()
    index = HammingIndex(data)
    build_s = time.perf_counter() - start
    scan = HammingIndex(data, strategy="scan")
    runs: dict[str, Callable[[bytes], Hits]] = {
        "index": lambda q: index.range_search(q, t).pairs(),
        "scan": lambda q: scan.range_search(q, t).pairs(),
    }
    for kind in ("flat", "multihash"):
        fn = faiss_search(data, t, kind)
        if fn is not None:
            runs[f"faiss {kind}"] = fn
    qps: dict[str, list[float]] = {m: [] for m in runs}
    reference: list[Hits] | None = None
    for _ in range(repeats):
        for method, fn in runs.items():
            rate, hits = timed(fn, queries)
            qps[method].append(rate)
            if reference is None:
                reference = hits
            elif hits != reference:
                raise SystemExit(f"{name}: {method} disagrees with the index")
    assert reference is not None
    hits_per_q = sum(len(h) for h in reference) / len(reference)
    return Row(name, n, nbytes * 8, t, len(queries), qps, hits_per_q, index.nbytes / n, build_s)


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
    parser.add_argument("--queries", type=int, default=200, help="queries per set")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(20261122)
    small, large = (100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000)
    q, reps = args.queries, args.repeats

    rows = []
    for n in (small, large):
        rows.append(bench_set(f"pdq uniform {n:,}", uniform(rng, n, 32), 31, rng, q, reps))
        rows.append(bench_set(f"pdq clustered {n:,}", clustered(rng, n, 32), 31, rng, q, reps))
    rows.append(bench_set(f"64-bit uniform {small:,}", uniform(rng, small, 8), 10, rng, q, reps))

    mode = "quick" if args.quick else "full"
    print(
        f"single-threaded queries/s ({mode} run): every method answers the same {q} queries "
        f"per set (half near-duplicates, half unrelated), {reps} times interleaved; "
        "min / median / max over the repeats; ratios of medians. faiss multihash: "
        "IndexBinaryMultiHash, 32-bit substrings (16 for 64-bit hashes), nflip = t // tables "
        "(exact)."
    )
    print(
        f"{'set':<24} {'t':>3} {'method':<16} {'q/s min':>10} {'median':>10} {'max':>10} "
        f"{'index/this':>10}"
    )
    for r in rows:
        ours = r.median("index")
        assert ours is not None
        for method in METHODS:
            runs = r.qps.get(method)
            if not runs:
                print(f"{r.name:<24} {r.t:>3} {method:<16} {'(faiss not installed)':>32}")
                continue
            med = statistics.median(runs)
            print(
                f"{r.name:<24} {r.t:>3} {method:<16} {min(runs):10.1f} {med:10.1f} "
                f"{max(runs):10.1f} {ours / med:9.1f}x"
            )
        print(
            f"{'':<24} {'':>3} hits/query {r.hits_per_query:.1f}; index "
            f"{r.bytes_per_entry:.1f} B/entry, built in {r.build_s:.2f} s"
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
