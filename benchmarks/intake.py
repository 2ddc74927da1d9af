"""Verified reports per second over real HTTP, beside a trivial FastAPI endpoint.

    .venv/bin/python benchmarks/intake.py [--requests 300] [--image-requests 100]
        [--rounds 3] [--concurrency 8] [--workers 2]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--sync-rounds 5] [--sync-requests 100] [--sync-only]

Each server runs as its own processes (``frankly serve --workers N`` for the service;
uvicorn ``--workers N`` with a one-route FastAPI app for the baseline; N is ``--workers``,
2 by default, so that both use the two cores the hashing bound uses), so the load
generator does not share their GIL.
Reports are franked, stamped (with the service's own key file, as an embedding platform
would) and sealed before the clock starts; the timed part is the HTTP round trip: open
the seal, parse, verify every message, re-hash media, match banks, encrypt evidence,
store in one transaction (which also takes the reporter's rate-limit count: one write
transaction per accepted report; the token lookup reads the limiter's state for the
pre-check). The runs are interleaved: each round times the baseline, the
hashing bound (the intake's own ``hash_media`` of the same picture on every core, in a
process pool), then text-only and image reports on each database. Printed: requests/s
(min / median / max over the rounds), p50 and p99 latency pooled over the rounds (several
hundred requests, so p99 is not the maximum), and the ratios of text reports/s to the
baseline's requests/s and of image reports/s to the hashing bound.

Then the cost of durable commits on SQLite: two services on the same inputs, one with
``FRANKLY_SQLITE_SYNCHRONOUS=NORMAL`` (the old setting) and one with ``FULL`` (the
default), loaded in interleaved rounds (the order alternates every round); printed:
reports/s per round as min/median/max for each, and the ratio FULL/NORMAL of the medians
(and of each round); and the time of a bare one-row commit in each mode.

To compare two versions of the code, run this file from a copy of each tree (the
services run the code of the tree the file is in), alternating the order, e.g.
``git archive main | tar -x -C /tmp/main`` then ``cd /tmp/main && PYTHONPATH=/tmp/main
python benchmarks/intake.py ...`` and the same here, twice each, old-new-new-old: each
run has its own same-run baseline and bound, so its ratios compare across runs.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._support import baseline_server, free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent


def jpeg_of_about(target: int) -> bytes:
    """A photo-like JPEG of about ``target`` bytes (smooth gradients plus noise)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    side = 256
    while True:
        y, x = np.mgrid[0:side, 0:side]
        base = np.stack([x * 255 // side, y * 255 // side, (x + y) * 127 // side], axis=-1)
        noisy = np.clip(base + rng.normal(0, 18, base.shape), 0, 255).astype(np.uint8)
        out = io.BytesIO()
        Image.fromarray(noisy, "RGB").save(out, "JPEG", quality=85)
        if out.tell() >= target:
            return out.getvalue()
        side += 32


def load(
    url: str,
    bodies: Sequence[bytes],
    headers: dict[str, str],
    concurrency: int,
    expect: int,
) -> tuple[float, list[float]]:
    """Post every body once from ``concurrency`` threads; return (requests/s, latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()
    index = iter(range(len(bodies)))
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(timeout=60.0) as client:
            while True:
                with lock:
                    i = next(index, None)
                if i is None:
                    return
                start = time.perf_counter()
                r = client.post(url, content=bodies[i], headers=headers)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if r.status_code != expect:
                        errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} unexpected answers, e.g. {errors[0]}")
    return len(bodies) / wall, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class ServiceProcess:
    """``frankly serve`` on a fresh data folder (and database), with users alice and bob."""

    def __init__(
        self,
        data: Path,
        database_url: str | None,
        extra_env: dict[str, str] | None = None,
        workers: int = 1,
    ) -> None:
        self.data = data
        self.workers = workers
        self.port = free_port()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "FRANKLY_ENVIRONMENT": "development",
            "FRANKLY_RATE_LIMIT_BURST": "100000000",
            "FRANKLY_LOG_LEVEL": "WARNING",
        }
        if database_url:
            self.env["FRANKLY_DATABASE_URL"] = database_url
        self.env.update(extra_env or {})
        self.tokens: dict[str, str] = {}
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "frankly", *args, "--data", str(self.data)],
            env=self.env,
            check=True,
            capture_output=True,
        )
        return out.stdout.decode().strip()

    def start(self) -> str:
        self.cli("keys", "init")
        for name in ("alice", "bob"):
            self.tokens[name] = self.cli("users", "add", name)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "frankly",
                "serve",
                "--port",
                str(self.port),
                "--data",
                str(self.data),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{self.port}"
        wait_ready(url + "/healthz", self.proc)
        return url

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def build_reports(data: Path, count: int, picture: bytes | None) -> list[bytes]:
    """Sealed, valid reports from bob about messages alice sent him (stamped now)."""
    sys.path.insert(0, str(ROOT))
    from client_scan.franking.commitment import commit, new_franking_key
    from client_scan.franking.message import FrankedMessage
    from client_scan.franking.payload import AttachmentRef, encode_payload
    from client_scan.franking.stamp import stamp
    from client_scan.report_format import Reason, Report, encode_report
    from client_scan.sealing import seal_report
    from report_service.keys import load_key_file

    keys = load_key_file(data / "keys.json")
    public = keys.active_sealing.public_key
    now = time.time_ns() // 1_000_000
    out = []
    for i in range(count):
        refs = []
        attachments: dict[str, bytes] = {}
        if picture is not None:
            digest = hashlib.sha256(picture).hexdigest()
            refs = [AttachmentRef("a0", digest, len(picture), "image/jpeg")]
            attachments = {digest: picture}
        payload = encode_payload(f"abusive message {i}", refs)
        fk = new_franking_key()
        c = commit(fk, payload.raw)
        st = stamp(keys.franking, c, "alice", "bob", "alice-bob", now)
        message = FrankedMessage(
            payload.raw, fk, c, st.tag, st.key_id, "alice", "bob", "alice-bob", now
        )
        report = Report(
            report_id=str(uuid.uuid4()),
            reporter_id="bob",
            reason=Reason.HARASSMENT,
            messages=(message,),
            reported=(payload.id,),
            attachments=attachments,
        )
        out.append(seal_report(encode_report(report), public))
    return out


def postgres_database(admin_url: str) -> tuple[str, Callable[[], None]] | None:
    """A fresh PostgreSQL database and its dropper, or None if unreachable."""
    import psycopg

    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            name = f"frankly_bench_{uuid.uuid4().hex[:12]}"
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin_url.rsplit("/", 1)[0] + "/" + name, drop


def _hash_one(data: bytes) -> int:
    from report_service.banks import hash_media

    facts, _values = hash_media(data, "image/jpeg")
    return facts.size  # the facts hold a mappingproxy, which does not pickle back


def hashing_bound(picture: bytes, count: int, workers: int) -> float:
    """Pictures per second that the intake's own hashing (``hash_media``: SHA-256, decode,
    PDQ, pHash) reaches on ``workers`` processes: the ceiling for image-report intake."""
    import concurrent.futures

    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        list(pool.map(_hash_one, [picture] * workers))  # start and warm the workers
        start = time.perf_counter()
        list(pool.map(_hash_one, [picture] * count))
        return count / (time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=300, help="text reports per round")
    parser.add_argument("--image-requests", type=int, default=100, help="image reports per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="server processes of the service and of the baseline (frankly serve --workers)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "FRANKLY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument(
        "--sync-rounds", type=int, default=5, help="SQLite NORMAL vs FULL rounds (0: skip)"
    )
    parser.add_argument("--sync-requests", type=int, default=100)
    parser.add_argument(
        "--sync-only", action="store_true", help="only the SQLite NORMAL vs FULL comparison"
    )
    args = parser.parse_args(argv)
    if args.sync_only:
        compare_synchronous(args.sync_rounds, args.sync_requests, args.concurrency)
        return 0
    cores = os.cpu_count() or 1

    picture = jpeg_of_about(150 * 1024)
    label_image = f"{len(picture) // 1024} KB JPEG"
    # (db, what) -> per-round (reports/s, latencies); baselines and bounds per round
    runs: dict[tuple[str, str], list[tuple[float, list[float]]]] = {}
    base_runs: list[tuple[float, list[float]]] = []
    bounds: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, baseline_server(args.workers) as url:
        backends: list[tuple[str, str | None, Callable[[], None] | None]] = [("sqlite", None, None)]
        pg = postgres_database(args.postgres_url) if args.postgres_url else None
        if pg is not None:
            backends.append(("postgresql", pg[0], pg[1]))
        else:
            print("postgresql: unreachable, skipped")
        services: list[tuple[str, ServiceProcess, str, dict[str, str]]] = []
        try:
            for name, db_url, _drop in backends:
                service = ServiceProcess(Path(tmp) / f"data-{name}", db_url, workers=args.workers)
                services.append((name, service, service.start(), {}))
                services[-1][3].update(
                    {
                        "Authorization": f"Bearer {service.tokens['bob']}",
                        "Content-Type": "application/octet-stream",
                    }
                )
            for _ in range(args.rounds):
                base_runs.append(load(url, [b"{}"] * args.requests, {}, args.concurrency, 200))
                bounds.append(hashing_bound(picture, args.image_requests, cores))
                for name, service, base, headers in services:
                    for label, count, pic in (
                        ("text-only", args.requests, None),
                        (label_image, args.image_requests, picture),
                    ):
                        bodies = build_reports(service.data, count, pic)
                        runs.setdefault((name, label), []).append(
                            load(base + "/v1/reports", bodies, headers, args.concurrency, 201)
                        )
        finally:
            for _name, service, _base, _headers in services:
                service.stop()
            for _name, _db, drop in backends:
                if drop is not None:
                    drop()

    def summary(values: list[float]) -> str:
        return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f}"

    base_rps = [r for r, _ in base_runs]
    base_lat = [x for _, lat in base_runs for x in lat]
    print(
        f"{args.rounds} interleaved rounds (baseline, hashing bound, then each database's text "
        f"and image reports); {args.concurrency} client threads; service and baseline each "
        f"on {args.workers} server processes; per round {args.requests} "
        f"text and {args.image_requests} image reports. req/s as min / median / max over the "
        "rounds; latencies pooled over the rounds; ratios of medians. Shared, noisy machine: "
        "read the ratios, not the absolute figures."
    )
    print(
        f"\n| what | req/s | p50 / p99 ms | ratio |\n| --- | ---: | ---: | ---: |\n"
        f"| baseline: trivial FastAPI POST | {summary(base_rps)} "
        f"| {pct(base_lat, 0.5):.1f} / {pct(base_lat, 0.99):.1f} | 1 (text) |\n"
        f"| hashing bound: hash_media of the {label_image} on {cores} processes "
        f"| {summary(bounds)} | | 1 (images) |"
    )
    results = []
    for (name, label), values in runs.items():
        rps = [r for r, _ in values]
        lat = [x for _, ls in values for x in ls]
        ref = statistics.median(bounds if label == label_image else base_rps)
        ratio = statistics.median(rps) / ref
        results.append((name, label, rps, lat, ratio))
        print(
            f"| {name} {label} reports | {summary(rps)} "
            f"| {pct(lat, 0.5):.1f} / {pct(lat, 0.99):.1f} | {ratio:.3f} |"
        )
    print(
        "(text-only ratio: to the trivial POST; image ratio: to the hashing bound, the same "
        "picture hashed by the same code on every core)"
    )
    print(
        json.dumps(
            {
                "baseline_rps": round(statistics.median(base_rps), 1),
                "hashing_bound_per_s": round(statistics.median(bounds), 1),
                "results": [
                    {
                        "db": n,
                        "report": lbl,
                        "rps_median": round(statistics.median(r), 1),
                        "p50_ms": round(pct(lt, 0.5), 1),
                        "p99_ms": round(pct(lt, 0.99), 1),
                        "ratio": round(ratio, 3),
                    }
                    for n, lbl, r, lt, ratio in results
                ],
            }
        )
    )
    if args.sync_rounds > 0:
        compare_synchronous(args.sync_rounds, args.sync_requests, args.concurrency)
    return 0


def commit_cost(rounds: int, commits: int = 300) -> None:
    """The commit alone: one small relay-queue row per transaction through the service's
    own engine, ``NORMAL`` and ``FULL`` interleaved; prints ms per commit and the ratio."""
    import statistics

    from sqlalchemy import insert

    from report_service.storage.engine import SqliteSynchronous, make_engine
    from report_service.storage.migrate import upgrade_engine
    from report_service.storage.models import RelayMessage

    modes: tuple[SqliteSynchronous, ...] = ("NORMAL", "FULL")
    per_commit: dict[str, list[float]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        engines = {
            m: make_engine(f"sqlite:///{tmp}/{m}.sqlite", sqlite_synchronous=m) for m in modes
        }
        try:
            for engine in engines.values():
                upgrade_engine(engine)
            for r in range(rounds):
                for m in modes if r % 2 == 0 else modes[::-1]:
                    start = time.perf_counter()
                    for _ in range(commits):
                        with engines[m].begin() as conn:
                            conn.execute(
                                insert(RelayMessage).values(
                                    message_id=str(uuid.uuid4()),
                                    recipient_id="bob",
                                    sender_id="alice",
                                    conversation_id="c",
                                    ciphertext=b"x" * 200,
                                    commitment=bytes(32),
                                    stamp=bytes(32),
                                    key_id="k",
                                    timestamp_ms=0,
                                    expires_at=0,
                                    size=200,
                                )
                            )
                    per_commit[m].append((time.perf_counter() - start) / commits * 1000)
        finally:
            for engine in engines.values():
                engine.dispose()
    for mode, values in per_commit.items():
        print(
            f"sqlite commit, synchronous={mode:6s}: ms per commit min {min(values):6.3f}  "
            f"median {statistics.median(values):6.3f}  max {max(values):6.3f}  "
            f"({rounds} rounds of {commits})"
        )
    ratio = statistics.median(per_commit["FULL"]) / statistics.median(per_commit["NORMAL"])
    print(f"ratio FULL/NORMAL commit time (medians): {ratio:.2f}")


def compare_synchronous(rounds: int, requests: int, concurrency: int) -> None:
    """Text-only reports/s on SQLite with ``synchronous=NORMAL`` and ``FULL``, in
    interleaved rounds on the same kind of input; prints min/median/max and ratios; then
    the cost of a bare commit in each mode (:func:`commit_cost`)."""
    import statistics

    commit_cost(rounds)

    with tempfile.TemporaryDirectory() as tmp:
        services = {
            mode: ServiceProcess(
                Path(tmp) / f"data-{mode.lower()}",
                None,
                {"FRANKLY_SQLITE_SYNCHRONOUS": mode},
            )
            for mode in ("NORMAL", "FULL")
        }
        rates: dict[str, list[float]] = {mode: [] for mode in services}
        try:
            urls = {mode: svc.start() for mode, svc in services.items()}
            for r in range(rounds):
                order = ("NORMAL", "FULL") if r % 2 == 0 else ("FULL", "NORMAL")
                for mode in order:
                    svc = services[mode]
                    bodies = build_reports(svc.data, requests, None)
                    headers = {
                        "Authorization": f"Bearer {svc.tokens['bob']}",
                        "Content-Type": "application/octet-stream",
                    }
                    rps, _ = load(urls[mode] + "/v1/reports", bodies, headers, concurrency, 201)
                    rates[mode].append(rps)
        finally:
            for svc in services.values():
                svc.stop()
    for mode, values in rates.items():
        print(
            f"sqlite synchronous={mode:6s}: reports/s min {min(values):7.1f}  "
            f"median {statistics.median(values):7.1f}  max {max(values):7.1f}  "
            f"({rounds} rounds of {requests})"
        )
    per_round = [f / n for f, n in zip(rates["FULL"], rates["NORMAL"], strict=True)]
    medians = statistics.median(rates["FULL"]) / statistics.median(rates["NORMAL"])
    print(
        f"ratio FULL/NORMAL: of the medians {medians:.3f}; "
        f"per round min {min(per_round):.3f} median {statistics.median(per_round):.3f} "
        f"max {max(per_round):.3f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
