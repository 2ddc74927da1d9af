"""The cost of bounded parsing, as ratios to plain ``json.loads`` on the same bytes.

    .venv/bin/python benchmarks/bounded_json.py [--rounds 7]

Every untrusted JSON goes through :func:`client_scan.bounded_json.parse_json` (issue 10).
Inputs: an honest 8 MiB report (20 base64 attachments, 50 messages), a 64 KiB payload, and
two hostile 8 MiB shapes (4M integers; 2M empty arrays). Rounds are interleaved (plain,
bounded, plain, ...) so that load on a shared machine hits both alike; min / median / max
per input, and the ratio of medians.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import time

from client_scan.bounded_json import parse_json


def _inputs() -> dict[str, tuple[bytes, int]]:
    """name -> (bytes, max_depth)."""
    attachments = {
        f"{i:064x}": base64.b64encode(os.urandom(300_000)).decode() for i in range(20)
    }
    messages = [
        {
            "payload": base64.b64encode(os.urandom(2_000)).decode(),
            "key_id": "fk-1",
            "timestamp_ms": 1_767_225_600_000 + i,
        }
        for i in range(50)
    ]
    report = {"v": 1, "messages": messages, "attachments": attachments}
    report["device_matches"] = [{"list_id": "demo", "distance": 3}] * 50
    payload = {"v": 1, "id": "p", "body": "x" * 60_000, "attachments": []}
    return {
        "honest report 8 MiB": (json.dumps(report).encode(), 8),
        "honest payload 60 KiB": (json.dumps(payload).encode(), 64),
        "hostile 4M integers": (("[" + ",".join(["1"] * 4_000_000) + "]").encode(), 8),
        "hostile 2M arrays": (("[" + ",".join(["[]"] * 2_000_000) + "]").encode(), 8),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    for name, (data, depth) in _inputs().items():
        plain: list[float] = []
        bounded: list[float] = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            json.loads(data)
            plain.append(time.perf_counter() - start)
            start = time.perf_counter()
            parse_json(data, max_bytes=None, max_depth=depth)
            bounded.append(time.perf_counter() - start)
        print(f"{name} ({len(data):,} bytes)")
        for label, xs in (("json.loads", plain), ("parse_json", bounded)):
            print(
                f"  {label:10s} min {min(xs) * 1e3:8.1f} ms  median "
                f"{statistics.median(xs) * 1e3:8.1f} ms  max {max(xs) * 1e3:8.1f} ms"
            )
        ratio = statistics.median(bounded) / statistics.median(plain)
        print(f"  ratio (median parse_json / median json.loads): {ratio:.2f}")


if __name__ == "__main__":
    main()
