"""Verified reports/s over HTTP beside a trivial FastAPI POST; CPU per request; half-load p99.

    .venv/bin/python benchmarks/intake.py [--requests 300] [--image-requests 100]
        [--rounds 3] [--concurrency 8] [--workers 2]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--paced-rounds 1] [--paced-requests 200] [--paced-threads 32]
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

The client threads run on the same cores as the servers (and, on PostgreSQL, as the
database server), so those ratios mix the server's cost with everything else's. So every
timed load also measures CPU (``benchmarks/_support.py``: :class:`CpuClock`): of the
server's process tree (the ``frankly serve`` or uvicorn process, its workers, the hashing
sandbox's processes, to the nanosecond from each process's CPU clock, plus the children
they reaped meanwhile), of this process (the client), of the PostgreSQL backends connected
to the service's database (when the server runs on this machine), and of the whole
machine (``/proc/stat``); "rest" is the machine less the three (PostgreSQL's shared
processes, the kernel, other tenants). Printed per request: ms of CPU of server / client /
database / rest / all (median over the rounds; the server's also min and max) and the
cores busy during the run; for the hashing bound, the pool workers' CPU per picture
(``time.process_time`` around ``hash_media`` in the worker). Beside each throughput ratio,
a **CPU ratio**: for images, hashing CPU per picture / the service's server CPU per image
report; for text, the baseline server's CPU per request / the service's per text report:
what the ratio would be if the server had the cores to itself (no client or database on
them) and kept them busy. It says nothing about what stops the server keeping the cores
busy (a lock, a database round trip): the throughput ratio and the cores busy show that.
The HTTP clients (one per thread) are made before the clock starts: each costs about
15 ms of CPU.

Then a paced phase (``--paced-rounds``, 0 skips it): for each database and kind of report,
``--paced-requests`` reports offered open loop at half that kind's median requests/s from
the saturating rounds: request ``i`` is due at ``t0 + i / rate`` and its latency counts
from then (a request that waits for a free client thread waits in its latency: no
coordinated omission); printed: the rate, p50 / p99 (issue 11: p99 < 100 ms at half load),
the p99 of how late requests were sent, server and database CPU per report and the cores
busy.

The JSON line (the last line unless the SQLite comparison below runs) carries the
medians, ratios, CPU shares (ms per request) and CPU ratios, and the paced latencies.

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
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._support import (
    CpuClock,
    CpuUse,
    baseline_process,
    free_port,
    machine_cpu_s,
    own_cpu_s,
    postgres_database,
    still_heap,
    wait_ready,
)

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


def make_clients(count: int) -> list[httpx.Client]:
    """HTTP clients for the client threads, one each. Made before a clock starts: each
    builds an SSL context, about 15 ms of CPU (under the GIL), which inside the timed
    part would slow the first requests and be charged to the client."""
    return [httpx.Client(timeout=60.0) for _ in range(count)]


def _post_all(
    url: str,
    bodies: Sequence[bytes],
    headers: dict[str, str],
    clients: Sequence[httpx.Client],
    expect: int,
    due: Callable[[int], float] | None,
) -> tuple[float, list[float], list[float]]:
    """Post every body once, in order, from one thread per client; return (wall seconds,
    latencies, start lags). Closed loop when ``due`` is ``None`` (a thread sends its next
    request when its last is answered; latency from the send); else request ``i`` waits
    until ``due(i)`` (``time.perf_counter`` seconds) and its latency counts from then, with
    its start lag (how late it was sent)."""
    latencies: list[float] = []
    lags: list[float] = []
    lock = threading.Lock()
    index = iter(range(len(bodies)))
    errors: list[str] = []

    def worker(client: httpx.Client) -> None:
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                return
            sent = time.perf_counter()
            if due is not None:
                time.sleep(max(0.0, due(i) - sent))
                sent = time.perf_counter()
            r = client.post(url, content=bodies[i], headers=headers)
            done = time.perf_counter()
            since = sent if due is None else due(i)
            with lock:
                latencies.append(done - since)
                lags.append(sent - since)
                if r.status_code != expect:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} unexpected answers, e.g. {errors[0]}")
    return wall, latencies, lags


def load(
    url: str,
    bodies: Sequence[bytes],
    headers: dict[str, str],
    concurrency: int,
    expect: int,
    clients: Sequence[httpx.Client] | None = None,
) -> tuple[float, list[float]]:
    """Post every body once from ``concurrency`` threads, each with its own client (of
    ``clients`` if given, else made and closed here, outside the timed part); return
    (requests/s, latencies)."""
    own = make_clients(concurrency) if clients is None else []
    use = clients if clients is not None else own
    if len(use) != concurrency:
        raise ValueError(f"{len(use)} clients for {concurrency} threads")
    try:
        wall, latencies, _lags = _post_all(url, bodies, headers, use, expect, None)
    finally:
        for c in own:
            c.close()
    return len(bodies) / wall, latencies


def paced_load(
    url: str,
    bodies: Sequence[bytes],
    headers: dict[str, str],
    rate: float,
    clients: Sequence[httpx.Client],
    expect: int,
) -> tuple[list[float], list[float]]:
    """Open-loop load: request ``i`` is due at ``t0 + i / rate`` whatever the answers
    before it did, and its latency is counted from when it was due, so a request that
    waits (for the server, or for a free client thread when all of them, one per client,
    are busy) is counted with its wait, not left out (no coordinated omission). Returns
    (latencies, start lags: how late each request was sent after it was due)."""
    t0 = time.perf_counter() + 0.05  # after the threads have started
    _wall, latencies, lags = _post_all(
        url, bodies, headers, clients, expect, lambda i: t0 + i / rate
    )
    return latencies, lags


@dataclass(frozen=True)
class Run:
    """One timed load: requests/s, each request's latency (s), the CPU it took, and the
    number of requests; for a paced load ``rps`` is the offered rate and ``lags`` the
    start lags (:func:`paced_load`)."""

    rps: float
    latencies: list[float]
    cpu: CpuUse
    requests: int
    lags: list[float] = field(default_factory=list)

    def cpu_ms(self) -> dict[str, float]:
        """ms of CPU per request: server, client, rest, all."""
        return self.cpu.per_request_ms(self.requests)


def timed_load(
    server_pid: int,
    database_pids: Callable[[], list[int]],
    url: str,
    bodies: Sequence[bytes],
    headers: dict[str, str],
    concurrency: int,
    expect: int,
) -> Run:
    """:func:`load`, with the CPU over it of the server's process tree (rooted at
    ``server_pid``), of this process, of the database server's processes serving it
    (``database_pids()``, asked at the start and at the end) and of the rest of the
    machine."""
    clients = make_clients(concurrency)
    try:
        with still_heap():
            start = CpuClock.read(server_pid, database_pids())
            rps, latencies = load(url, bodies, headers, concurrency, expect, clients)
            end = CpuClock.read(server_pid, database_pids())
    finally:
        for c in clients:
            c.close()
    return Run(rps, latencies, start.until(end), len(bodies))


def timed_paced_load(
    server_pid: int,
    database_pids: Callable[[], list[int]],
    url: str,
    bodies: Sequence[bytes],
    headers: dict[str, str],
    rate: float,
    threads: int,
    expect: int,
) -> Run:
    """:func:`paced_load` from ``threads`` threads, with the CPU over it (as
    :func:`timed_load`); the run's ``rps`` is the offered rate."""
    clients = make_clients(threads)
    try:
        with still_heap():
            start = CpuClock.read(server_pid, database_pids())
            latencies, lags = paced_load(url, bodies, headers, rate, clients, expect)
            end = CpuClock.read(server_pid, database_pids())
    finally:
        for c in clients:
            c.close()
    return Run(rate, latencies, start.until(end), len(bodies), lags)


def no_database() -> list[int]:
    """No database server processes (SQLite, the baseline)."""
    return []


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

    @property
    def pid(self) -> int:
        """The ``frankly serve`` process's pid: the root of the service's process tree
        (its workers and their hashing sandboxes)."""
        if self.proc is None:
            raise RuntimeError("the service has not been started")
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@dataclass(frozen=True)
class Subject:
    """A running service under test: its database's name, the service, its URL, and the
    pids of the database server's processes serving it (:class:`PostgresBackends`)."""

    name: str
    service: ServiceProcess
    url: str
    database_pids: Callable[[], list[int]]

    @property
    def reports_url(self) -> str:
        return self.url + "/v1/reports"

    def headers(self) -> dict[str, str]:
        """Bob's, posting a sealed report."""
        return {
            "Authorization": f"Bearer {self.service.tokens['bob']}",
            "Content-Type": "application/octet-stream",
        }


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


class PostgresBackends:
    """The pids of the PostgreSQL backends connected to one database (``pg_stat_activity``),
    asked through one admin connection kept open (asking starts no backend). Only pids of
    processes of this machine named ``postgres`` are kept: for a server elsewhere (another
    host, another container) there is nothing to read and the list is empty."""

    def __init__(self, admin_url: str, database: str) -> None:
        import psycopg

        dsn = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.database = database
        self.conn = psycopg.connect(dsn, connect_timeout=3, autocommit=True)

    def pids(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
        ).fetchall()
        out = []
        for (pid,) in rows:
            try:
                with open(f"/proc/{int(pid)}/comm") as f:
                    if f.read().strip() == "postgres":
                        out.append(int(pid))
            except OSError:
                continue
        return out

    def close(self) -> None:
        self.conn.close()


def _hash_one(data: bytes) -> float:
    """Hash ``data`` as the intake does; return the CPU seconds this process spent on it."""
    from report_service.banks import hash_media

    start = time.process_time()
    hash_media(data, "image/jpeg")
    return time.process_time() - start


@dataclass(frozen=True)
class Bound:
    """A hashing-bound measurement: pictures/s, and the CPU over it, where ``server`` is
    the pool workers' own CPU in ``hash_media`` (the pickling and pipes around it fall in
    ``rest``)."""

    per_s: float
    cpu: CpuUse
    pictures: int

    def cpu_ms(self) -> dict[str, float]:
        return self.cpu.per_request_ms(self.pictures)


def hashing_bound(picture: bytes, count: int, workers: int) -> Bound:
    """Pictures per second that the intake's own hashing (``hash_media``: SHA-256, decode,
    PDQ, pHash) reaches on ``workers`` processes: the ceiling for image-report intake; and
    the CPU each picture takes."""
    import concurrent.futures

    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        list(pool.map(_hash_one, [picture] * workers))  # start and warm the workers
        client, machine, start = own_cpu_s(), machine_cpu_s(), time.perf_counter()
        hashing = sum(pool.map(_hash_one, [picture] * count))
        wall = time.perf_counter() - start
        client, machine = own_cpu_s() - client, machine_cpu_s() - machine
    return Bound(
        count / wall, CpuUse(hashing, client, 0.0, machine - hashing - client, wall), count
    )


def summary(values: list[float]) -> str:
    """``min / median / max`` of ``values``, one decimal."""
    return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f}"


def median_cpu_ms(runs: Sequence[Run | Bound]) -> dict[str, float]:
    """Per request (or picture): the median over the rounds of each CPU share, in ms, and
    ``cores``, the median of the cores busy."""
    per_round = [r.cpu_ms() for r in runs]
    out = {k: statistics.median(p[k] for p in per_round) for k in per_round[0]}
    out["cores"] = statistics.median(r.cpu.cores_busy for r in runs)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=300, help="text reports per round")
    parser.add_argument("--image-requests", type=int, default=100, help="image reports per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="client threads of the saturating rounds"
    )
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
        help="admin URL of a PostgreSQL server; a fresh database is created there and "
        "dropped after ('': SQLite only)",
    )
    parser.add_argument(
        "--paced-rounds",
        type=int,
        default=1,
        help="rounds of the paced phase: each database and kind of report at half its "
        "median req/s, open loop (0: skip)",
    )
    parser.add_argument(
        "--paced-requests",
        type=int,
        default=200,
        help="reports per paced run (at least 200, so that p99 is not the maximum)",
    )
    parser.add_argument(
        "--paced-threads",
        type=int,
        default=32,
        help="client threads of the paced phase (a request due when all are busy waits, "
        "and its wait counts in its latency)",
    )
    parser.add_argument(
        "--sync-rounds", type=int, default=5, help="SQLite NORMAL vs FULL rounds (0: skip)"
    )
    parser.add_argument(
        "--sync-requests", type=int, default=100, help="text reports per SQLite sync round"
    )
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
    kinds: tuple[tuple[str, int, bytes | None], ...] = (
        ("text-only", args.requests, None),
        (label_image, args.image_requests, picture),
    )
    # (db, what) -> one Run per round; the baseline and the bound: one per round
    runs: dict[tuple[str, str], list[Run]] = {}
    paced: dict[tuple[str, str], list[Run]] = {}
    base_runs: list[Run] = []
    bounds: list[Bound] = []
    with tempfile.TemporaryDirectory() as tmp, baseline_process(args.workers) as baseline:
        backends: list[tuple[str, str | None, Callable[[], None] | None]] = [("sqlite", None, None)]
        pg = postgres_database(args.postgres_url) if args.postgres_url else None
        if pg is not None:
            backends.append(("postgresql", pg[0], pg[1]))
        else:
            print("postgresql: unreachable, skipped")
        subjects: list[Subject] = []
        pg_backends: PostgresBackends | None = None
        try:
            for name, db_url, _drop in backends:
                service = ServiceProcess(Path(tmp) / f"data-{name}", db_url, workers=args.workers)
                database_pids = no_database
                if db_url is not None:
                    pg_backends = PostgresBackends(args.postgres_url, db_url.rsplit("/", 1)[1])
                    database_pids = pg_backends.pids
                subjects.append(Subject(name, service, service.start(), database_pids))
            for _ in range(args.rounds):
                echo = [b"{}"] * args.requests
                base_runs.append(
                    timed_load(
                        baseline.pid, no_database, baseline.url, echo, {}, args.concurrency, 200
                    )
                )
                bounds.append(hashing_bound(picture, args.image_requests, cores))
                for subject in subjects:
                    for label, count, pic in kinds:
                        bodies = build_reports(subject.service.data, count, pic)
                        runs.setdefault((subject.name, label), []).append(
                            timed_load(
                                subject.service.pid,
                                subject.database_pids,
                                subject.reports_url,
                                bodies,
                                subject.headers(),
                                args.concurrency,
                                201,
                            )
                        )
            # Open loop at half of each kind's median throughput: the latency a service
            # run at half its capacity would show (issue 11: p99 < 100 ms there).
            for _ in range(args.paced_rounds):
                for subject in subjects:
                    for label, _count, pic in kinds:
                        rate = statistics.median(r.rps for r in runs[(subject.name, label)]) / 2
                        bodies = build_reports(subject.service.data, args.paced_requests, pic)
                        paced.setdefault((subject.name, label), []).append(
                            timed_paced_load(
                                subject.service.pid,
                                subject.database_pids,
                                subject.reports_url,
                                bodies,
                                subject.headers(),
                                rate,
                                args.paced_threads,
                                201,
                            )
                        )
        finally:
            for subject in subjects:
                subject.service.stop()
            if pg_backends is not None:
                pg_backends.close()
            for _name, _db, drop in backends:
                if drop is not None:
                    drop()

    base_rps = [r.rps for r in base_runs]
    base_lat = [x for r in base_runs for x in r.latencies]
    bound_rates = [b.per_s for b in bounds]
    base_cpu = median_cpu_ms(base_runs)
    bound_cpu = median_cpu_ms(bounds)
    print(
        f"{args.rounds} interleaved rounds (baseline, hashing bound, then each database's text "
        f"and image reports); {args.concurrency} client threads; service and baseline each "
        f"on {args.workers} server processes; per round {args.requests} "
        f"text and {args.image_requests} image reports. req/s as min / median / max over the "
        "rounds; latencies pooled over the rounds; ratios of medians. Shared, noisy machine: "
        "read the ratios, not the absolute figures."
    )
    print(
        f"\n| what | req/s | p50 / p99 ms | ratio | CPU ratio |\n"
        f"| --- | ---: | ---: | ---: | ---: |\n"
        f"| baseline: trivial FastAPI POST | {summary(base_rps)} "
        f"| {pct(base_lat, 0.5):.1f} / {pct(base_lat, 0.99):.1f} | 1 (text) | 1 (text) |\n"
        f"| hashing bound: hash_media of the {label_image} on {cores} processes "
        f"| {summary(bound_rates)} | | 1 (images) | 1 (images) |"
    )
    results = []
    for (name, label), values in runs.items():
        rps = [r.rps for r in values]
        lat = [x for r in values for x in r.latencies]
        image = label == label_image
        ratio = statistics.median(rps) / statistics.median(bound_rates if image else base_rps)
        cpu = median_cpu_ms(values)
        cpu_ratio = (bound_cpu if image else base_cpu)["server"] / cpu["server"]
        results.append((name, label, values, lat, ratio, cpu, cpu_ratio))
        print(
            f"| {name} {label} reports | {summary(rps)} "
            f"| {pct(lat, 0.5):.1f} / {pct(lat, 0.99):.1f} | {ratio:.3f} | {cpu_ratio:.3f} |"
        )
    print(
        "(ratio: text-only reports/s to the trivial POST's requests/s, image reports/s to "
        "the hashing bound, the same picture hashed by the same code on every core. CPU "
        "ratio: the same ratio computed from CPU per request instead, what it would be if "
        "the server had the cores to itself (no client, no database server on them) and "
        "could keep them busy: text, the baseline server's CPU per request / the service's "
        "per text report; images, hash_media's CPU per picture / the service's per image "
        "report.)"
    )
    print(
        "\nCPU per request, ms (medians over the rounds; server also min / median / max): "
        "server = the server's process tree (workers, hashing sandbox), client = this "
        "process (the load generator), database = the PostgreSQL backends connected to "
        "the service's database, rest = the rest of the machine (PostgreSQL's shared "
        "processes, the kernel, other tenants); cores busy = the machine's, during the run."
    )
    print(
        "\n| what | server | client | database | rest | all | cores busy |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    )

    def cpu_row(what: str, runs_of: Sequence[Run | Bound]) -> None:
        cpu = median_cpu_ms(runs_of)
        servers = [r.cpu_ms()["server"] for r in runs_of]
        print(
            f"| {what} | {min(servers):.2f} / {cpu['server']:.2f} / {max(servers):.2f} "
            f"| {cpu['client']:.2f} | {cpu['database']:.2f} | {cpu['rest']:.2f} "
            f"| {cpu['all']:.2f} "
            f"| {cpu['cores']:.2f} |"
        )

    cpu_row("baseline: trivial FastAPI POST", base_runs)
    cpu_row("hashing bound, per picture (server: hash_media in the pool workers)", bounds)
    for (name, label), values in runs.items():
        cpu_row(f"{name} {label} reports", values)

    if paced:
        print(
            f"\nPaced, open loop: each kind at half its median req/s above, "
            f"{args.paced_requests} reports per round, {args.paced_rounds} round(s), "
            f"{args.paced_threads} client threads; latency counted from when each request "
            "was due (its wait for a free thread included); pooled over the rounds. "
            "Start lag: how late requests were sent. Issue 11's target: p99 < 100 ms."
        )
        print(
            "\n| what | offered req/s | p50 / p99 ms | start lag p99 ms "
            "| server / database CPU ms | cores busy |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: |"
        )
        for (name, label), values in paced.items():
            lat = [x for r in values for x in r.latencies]
            lags = [x for r in values for x in r.lags]
            cpu = median_cpu_ms(values)
            print(
                f"| {name} {label} reports | {values[0].rps:.1f} "
                f"| {pct(lat, 0.5):.1f} / {pct(lat, 0.99):.1f} | {pct(lags, 0.99):.1f} "
                f"| {cpu['server']:.2f} / {cpu['database']:.2f} | {cpu['cores']:.2f} |"
            )

    def paced_json(key: tuple[str, str]) -> dict[str, float | dict[str, float]] | None:
        if key not in paced:
            return None
        lat = [x for r in paced[key] for x in r.latencies]
        return {
            "rps": round(paced[key][0].rps, 1),
            "p50_ms": round(pct(lat, 0.5), 1),
            "p99_ms": round(pct(lat, 0.99), 1),
            "cpu_ms": cpu_json(median_cpu_ms(paced[key])),
        }

    def cpu_json(cpu: dict[str, float]) -> dict[str, float]:
        return {k: round(v, 2) for k, v in cpu.items()}

    print(
        json.dumps(
            {
                "baseline_rps": round(statistics.median(base_rps), 1),
                "hashing_bound_per_s": round(statistics.median(bound_rates), 1),
                "baseline_cpu_ms": cpu_json(base_cpu),
                "hashing_cpu_ms_per_picture": cpu_json(bound_cpu),
                "results": [
                    {
                        "db": n,
                        "report": lbl,
                        "rps_median": round(statistics.median(r.rps for r in v), 1),
                        "p50_ms": round(pct(lt, 0.5), 1),
                        "p99_ms": round(pct(lt, 0.99), 1),
                        "ratio": round(ratio, 3),
                        "cpu_ms": cpu_json(cpu),
                        "cpu_ratio": round(cpu_ratio, 3),
                        "paced": paced_json((n, lbl)),
                    }
                    for n, lbl, v, lt, ratio, cpu, cpu_ratio in results
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
