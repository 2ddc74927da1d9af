"""Hostile media inside valid reports against the real service: memory and time.

    .venv/bin/python benchmarks/hostile_media.py [--rounds 3] [--in-flight 8]

Starts ``frankly serve`` (as ``benchmarks/intake.py`` does: its own process, SQLite, its
own key file) and sends valid, franked, sealed reports over HTTP. Each round runs, one
after the other, a burst of ``--in-flight`` reports at once for each kind of attachment:

- ``honest``: a 150 KB photo-like JPEG (the baseline of the same run);
- ``gif-screen``: 35 bytes, a 1x1 frame on an 8000x8000 logical screen;
- ``png-rgba16``: 522 KB, 8192x8192 16-bit RGBA (the pixel limit);
- ``jpeg-scans``: about 400 KB, a progressive JPEG with 10,000 scans;
- ``jpeg-slow``: 100 scans over 3276x3276 pixels, just under every header limit: it is
  decoded (a second or two of libjpeg each), so it shows what the worker pool and its
  deadline bound when the header budget cannot refuse anything.

During every burst one more honest report is sent, to see what the attack does to an
honest reporter's latency. The server's resident memory is sampled every 5 ms, for the
server process alone and for its whole process tree (the hashing workers included); the
growth of a burst is its peak minus the level just before it. Printed per kind:
min/median/max over the rounds, and the ratio of the medians to the honest burst.
Targets (issue 10): hostile bursts under 300 MB of growth, each report answered within
5 s, honest latency unchanged.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.intake import ServiceProcess, build_reports, jpeg_of_about

MB = 1024 * 1024


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            tasks = Path(f"/proc/{current}/task").iterdir()
            for task in tasks:
                text = (task / "children").read_text()
                todo.extend(int(c) for c in text.split())
        except OSError:
            continue
    return out


def rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Sampler:
    """Samples the RSS of a process and of its tree in a background thread."""

    def __init__(self, pid: int, every_s: float = 0.005) -> None:
        self.pid = pid
        self.every_s = every_s
        self.peak_self = 0
        self.peak_tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> tuple[int, int]:
        return rss(self.pid), sum(rss(p) for p in tree_pids(self.pid))

    def _run(self) -> None:
        while not self._stop.is_set():
            own, tree = self.now()
            self.peak_self = max(self.peak_self, own)
            self.peak_tree = max(self.peak_tree, tree)
            time.sleep(self.every_s)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def post(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    r = client.post(url, content=body, headers=headers)
    elapsed = time.perf_counter() - start
    if r.status_code != 201:
        raise RuntimeError(f"{r.status_code} {r.text[:200]}")
    return elapsed


@dataclass
class Burst:
    latencies: list[float]
    probe: float
    growth_self: int
    growth_tree: int


def burst(
    url: str, bodies: Sequence[bytes], probe: bytes, headers: dict[str, str], sampler_pid: int
) -> Burst:
    """Post ``bodies`` at once, plus one honest ``probe`` while they are in flight."""
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []

    def one(body: bytes) -> None:
        try:
            with httpx.Client(timeout=120.0) as client:
                elapsed = post(client, url, body, headers)
            with lock:
                latencies.append(elapsed)
        except Exception as exc:
            with lock:
                errors.append(repr(exc))

    sampler = Sampler(sampler_pid)
    base_self, base_tree = sampler.now()
    with sampler:
        threads = [threading.Thread(target=one, args=(b,)) for b in bodies]
        for t in threads:
            t.start()
        time.sleep(0.05)
        with httpx.Client(timeout=120.0) as client:
            probe_s = post(client, url, probe, headers)
        for t in threads:
            t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed, e.g. {errors[0]}")
    return Burst(
        latencies=latencies,
        probe=probe_s,
        growth_self=max(0, sampler.peak_self - base_self),
        growth_tree=max(0, sampler.peak_tree - base_tree),
    )


def stats(values: Sequence[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=8)
    args = parser.parse_args(argv)

    from tests.hashes.hostile_media import (
        gif_with_logical_screen,
        png_rgba16,
        progressive_jpeg_with_scans,
        slow_jpeg_under_every_limit,
    )

    pictures: dict[str, Callable[[], bytes]] = {
        "honest": lambda: jpeg_of_about(150 * 1024),
        "gif-screen": gif_with_logical_screen,
        "png-rgba16": png_rgba16,
        "jpeg-scans": lambda: progressive_jpeg_with_scans(10_000, side=4096),
        "jpeg-slow": slow_jpeg_under_every_limit,
    }
    made = {name: make() for name, make in pictures.items()}
    for name, data in made.items():
        print(f"{name:11s} attachment: {len(data):>9,d} bytes")

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        service = ServiceProcess(data_dir, None)
        try:
            base = service.start()
            assert service.proc is not None
            pid = service.proc.pid
            url = base + "/v1/reports"
            headers = {
                "Authorization": f"Bearer {service.tokens['bob']}",
                "Content-Type": "application/octet-stream",
            }
            per_kind = args.in_flight * args.rounds
            bodies = {k: iter(build_reports(data_dir, per_kind, v)) for k, v in made.items()}
            probes = iter(build_reports(data_dir, len(made) * args.rounds + 5, made["honest"]))
            with httpx.Client(timeout=120.0) as client:
                for _ in range(5):  # warm: workers started, caches filled
                    post(client, url, next(probes), headers)
            start_self, start_tree = Sampler(pid).now()
            results: dict[str, list[Burst]] = {k: [] for k in made}
            for _ in range(args.rounds):
                for kind in made:  # interleaved: honest, then each attack, every round
                    batch = [next(bodies[kind]) for _ in range(args.in_flight)]
                    results[kind].append(burst(url, batch, next(probes), headers, pid))
            end_self, end_tree = Sampler(pid).now()
        finally:
            service.stop()

    def column(kind: str, key: str) -> list[float]:
        if key == "latencies":
            return [x for r in results[kind] for x in r.latencies]
        return [float(getattr(r, key)) for r in results[kind]]

    honest_lat = statistics.median(column("honest", "latencies"))
    honest_probe = statistics.median(column("honest", "probe"))
    honest_tree = statistics.median(column("honest", "growth_tree")) or 1.0
    honest_self = statistics.median(column("honest", "growth_self")) or 1.0
    print(
        f"\n{args.in_flight} reports in flight per burst, {args.rounds} rounds; "
        f"server RSS after warm-up {start_self / MB:.0f} MB (tree {start_tree / MB:.0f} MB), "
        f"at the end {end_self / MB:.0f} MB (tree {end_tree / MB:.0f} MB)"
    )
    header = (
        f"{'burst of':11s} | {'report latency s min/med/max':29s} | {'x honest':8s} | "
        f"{'honest probe s min/med/max':27s} | {'x honest':8s} | "
        f"{'server RSS growth MB':21s} | {'tree RSS growth MB':21s}"
    )
    print(header)
    print("-" * len(header))
    summary = []
    for kind in made:
        lat = stats(column(kind, "latencies"))
        probe = stats(column(kind, "probe"))
        own = stats([v / MB for v in column(kind, "growth_self")])
        tree = stats([v / MB for v in column(kind, "growth_tree")])
        print(
            f"{kind:11s} | {lat[0]:7.3f} {lat[1]:7.3f} {lat[2]:7.3f}       | "
            f"{lat[1] / honest_lat:7.2f}x | "
            f"{probe[0]:7.3f} {probe[1]:7.3f} {probe[2]:7.3f}     | "
            f"{probe[1] / honest_probe:7.2f}x | "
            f"{own[0]:5.0f} {own[1]:5.0f} {own[2]:5.0f} "
            f"({own[1] * MB / honest_self:4.1f}x) | "
            f"{tree[0]:5.0f} {tree[1]:5.0f} {tree[2]:5.0f} ({tree[1] * MB / honest_tree:4.1f}x)"
        )
        summary.append(
            {
                "kind": kind,
                "latency_s": [round(x, 3) for x in lat],
                "latency_ratio": round(lat[1] / honest_lat, 2),
                "probe_s": [round(x, 3) for x in probe],
                "probe_ratio": round(probe[1] / honest_probe, 2),
                "server_growth_mb": [round(x) for x in own],
                "tree_growth_mb": [round(x) for x in tree],
            }
        )
    hostile = [s for s in summary if s["kind"] not in ("honest", "jpeg-slow")]
    worst_latency = max(s["latency_s"][2] for s in hostile)  # type: ignore[index]
    worst_tree = max(s["tree_growth_mb"][2] for s in hostile)  # type: ignore[index]
    print(
        f"\ntargets (the three attacks of issue 10): every hostile report answered within 5 s: "
        f"{'yes' if worst_latency < 5 else 'NO'} (worst {worst_latency:.2f} s); "
        f"peak RSS growth under 300 MB (whole tree): "
        f"{'yes' if worst_tree < 300 else 'NO'} (worst {worst_tree} MB)"
    )
    print(json.dumps({"in_flight": args.in_flight, "rounds": args.rounds, "bursts": summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
