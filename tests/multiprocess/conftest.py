"""Real ``frankly serve`` processes on one fresh PostgreSQL database.

One cluster per module: a single-process server (``a``) and a server with
``--workers 2`` (``c``): three server processes, started as subprocesses on free
loopback ports against the same database and the same key file, with a real wall
clock. Setup (schema, key file, users, moderators) happens in this process first, so
that every server finds it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from report_service.app import wall_clock_ms
from report_service.keys import KeyMaterial, generate_key_material, save_key_file
from report_service.review.media.evidence_access import MasterKeyEvidence
from report_service.review.service import ReviewService
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database
from report_service.storage.users import add_user
from report_service.tokens import hash_token, new_token
from tests.conftest import fresh_postgres_database

REPORTERS = 40
BURST = 20
STARTUP_TIMEOUT_S = 180.0  # a deadline, not a measurement: a loaded CI box is slow


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Cluster:
    """The servers' base URLs, the shared database and the accounts' tokens."""

    database_url: str
    data_dir: Path
    keys: KeyMaterial
    urls: dict[str, str]
    reporters: dict[str, str] = field(default_factory=dict)
    moderators: dict[str, str] = field(default_factory=dict)

    def reporter(self, n: int) -> tuple[str, str]:
        name = f"r{n}"
        return name, self.reporters[name]

    def client(self) -> httpx.Client:
        return httpx.Client(timeout=30)


def _setup(database_url: str, data_dir: Path) -> tuple[KeyMaterial, dict[str, str], dict[str, str]]:
    data_dir.mkdir(mode=0o700)
    keys = generate_key_material(os.urandom, wall_clock_ms())
    save_key_file(data_dir / "keys.json", keys)
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        reporters: dict[str, str] = {}
        with sessions() as session:
            for n in [*range(REPORTERS), "flood", "vflood"]:
                token = new_token()
                add_user(session, f"r{n}", hash_token(token), wall_clock_ms())
                reporters[f"r{n}"] = token
        review = ReviewService(
            sessions, wall_clock_ms, MasterKeyEvidence(lambda kid: keys.master_key(kid).key)
        )
        moderators = {
            name: review.add_moderator("test", name, role).token
            for name, role in [
                ("lead", "lead"),
                ("m0", "moderator"),
                ("m1", "moderator"),
                ("m2", "moderator"),
                ("m3", "moderator"),
            ]
        }
    finally:
        engine.dispose()
    return keys, reporters, moderators


def _wait_ready(proc: subprocess.Popen[bytes], url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server {url} exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server {url} did not start in {STARTUP_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two ``frankly serve`` commands (three server processes) on one fresh PostgreSQL."""
    frankly = Path(sys.executable).with_name("frankly")
    with fresh_postgres_database() as database_url:
        data_dir = tmp_path_factory.mktemp("cluster") / "data"
        keys, reporters, moderators = _setup(database_url, data_dir)
        env = {
            **os.environ,
            "FRANKLY_ENVIRONMENT": "development",
            "FRANKLY_DATABASE_URL": database_url,
            "FRANKLY_RATE_LIMIT_PER_MINUTE": "1",
            "FRANKLY_RATE_LIMIT_BURST": str(BURST),
            "FRANKLY_LOG_LEVEL": "WARNING",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        procs: dict[str, subprocess.Popen[bytes]] = {}
        urls: dict[str, str] = {}
        try:
            for name, workers in (("a", 1), ("c", 2)):
                port = free_port()
                urls[name] = f"http://127.0.0.1:{port}"
                procs[name] = subprocess.Popen(
                    [
                        str(frankly),
                        "serve",
                        "--data",
                        str(data_dir),
                        "--port",
                        str(port),
                        "--workers",
                        str(workers),
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            for name, proc in procs.items():
                _wait_ready(proc, urls[name], deadline)
            yield Cluster(database_url, data_dir, keys, urls, reporters, moderators)
        finally:
            for proc in procs.values():
                proc.terminate()
            for proc in procs.values():
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
