"""Real uvicorn on a loopback port (the ``live_url`` fixture): concurrent duplicates, and
``frankly serve`` itself."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from .conftest import Service

ROOT = Path(__file__).resolve().parents[2]


def test_concurrent_duplicate_submissions_store_one_report(
    service: Service, live_url: str
) -> None:
    report = service.report("bob", [service.frank("alice", "bob")])
    sealed = service.seal(report)
    headers = {**service.auth("bob"), "Content-Type": "application/octet-stream"}
    statuses: list[int] = []
    bodies: list[object] = []
    barrier = threading.Barrier(6)

    def post() -> None:
        with httpx.Client(base_url=live_url, timeout=30) as client:
            barrier.wait()
            r = client.post("/v1/reports", content=sealed, headers=headers)
            statuses.append(r.status_code)
            bodies.append(r.json())

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 5 + [201]
    assert all(b == {"report_id": report.report_id, "status": "received"} for b in bodies)
    with service.app.state.session_factory() as session:
        from sqlalchemy import func, select

        from report_service.storage.models import Report, ReviewItem

        assert session.scalar(select(func.count()).select_from(Report)) == 1
        assert session.scalar(select(func.count()).select_from(ReviewItem)) == 1


def test_frankly_serve_runs_from_an_empty_folder(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FRANKLY_ENVIRONMENT": "production"}
    env.pop("FRANKLY_DATA_DIR", None)
    env.pop("FRANKLY_DATABASE_URL", None)

    def frankly(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "frankly", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            check=True,
            timeout=60,
        )
        return done.stdout.decode().strip()

    frankly("keys", "init")
    token = frankly("users", "add", "alice")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "frankly", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120  # a deadline for a loaded machine
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert ready.json() == {"status": "ready"}
        inbox = httpx.get(
            f"http://127.0.0.1:{port}/v1/relay/inbox",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "serve-test"},
            timeout=30,
        )
        assert inbox.json() == {"deliveries": []}
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises SIGTERM (exit status -15).
    assert proc.returncode in (0, -15)
    logs = err.decode()
    assert '"request_id": "serve-test"' in logs
    assert token not in logs
    assert (tmp_path / "frankly-data" / "frankly.sqlite").is_file()
