"""What the HTTP benchmarks share: free ports, waiting for a server, and the baseline.

The baseline is a one-route FastAPI app (``POST /echo`` reads the body and answers
``{"ok": true}``) served by uvicorn in its own process, so the load generator does not
share its GIL. ``benchmarks/intake.py`` and ``benchmarks/review.py`` drive it with the
same client threads as the service they measure, and print the service's throughput as a
ratio to it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

BASELINE_APP = """
from fastapi import FastAPI, Request
app = FastAPI()
@app.post("/echo")
async def echo(request: Request) -> dict[str, bool]:
    await request.body()
    return {"ok": True}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start")


@contextmanager
def baseline_server(workers: int = 1) -> Iterator[str]:
    """``with baseline_server() as url:`` the trivial app's ``POST /echo`` URL, served by
    ``uvicorn`` (with ``workers`` processes) in a subprocess until the block ends."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "baseline_app.py").write_text(BASELINE_APP)
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "baseline_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--workers",
                str(workers),
            ],
            cwd=tmp,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/docs", proc)
            yield f"http://127.0.0.1:{port}/echo"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
