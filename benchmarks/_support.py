"""What the HTTP benchmarks share: free ports, waiting for a server, the baseline, and
CPU accounting.

The baseline is a one-route FastAPI app (``POST /echo`` reads the body and answers
``{"ok": true}``) served by uvicorn in its own process, so the load generator does not
share its GIL. ``benchmarks/intake.py`` and ``benchmarks/review.py`` drive it with the
same client threads as the service they measure, and print the service's throughput as a
ratio to it.

CPU accounting (Linux ``/proc``): :class:`CpuClock` reads, at one moment, the CPU seconds
used so far by a server's whole process tree (the process, its living descendants, and
the descendants they have already reaped), by this process (the load generator's
threads), and by the whole machine, with the wall clock; :meth:`CpuClock.until` turns two
readings into a :class:`CpuUse` that splits the machine's busy time into server, client,
database (the database server's processes that serve the server, when the caller names
them) and the rest (the kernel's own threads, other tenants).
"""

from __future__ import annotations

import gc
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Baseline:
    """A running baseline: its ``POST /echo`` URL and the pid of its uvicorn process (the
    root of its process tree, for :meth:`CpuClock.read`)."""

    url: str
    pid: int


@contextmanager
def baseline_server(workers: int = 1) -> Iterator[str]:
    """``with baseline_server() as url:`` the trivial app's ``POST /echo`` URL, served by
    ``uvicorn`` (with ``workers`` processes) in a subprocess until the block ends."""
    with baseline_process(workers) as baseline:
        yield baseline.url


@contextmanager
def baseline_process(workers: int = 1) -> Iterator[Baseline]:
    """:func:`baseline_server`, giving the uvicorn process's pid with the URL."""
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
            yield Baseline(f"http://127.0.0.1:{port}/echo", proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its living descendants, parents before children (Linux:
    ``/proc/<pid>/task/<tid>/children``); a process that ends meanwhile is left out."""
    out = [pid]
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children = f.read().split()
        except OSError:
            continue
        for child in children:
            out += process_tree(int(child))
    return out


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid``, all its threads, the
    ended ones included, to the nanosecond: its process CPU clock, the clock id that
    Linux's ``clock_getcpuclockid(pid)`` returns (``make_process_cpuclock(pid,
    CPUCLOCK_SCHED)`` in the kernel's ``posix-timers.h``: ``(~pid << 3) | 2``), which
    Python does not wrap. Raises ``OSError`` if the process has ended."""
    return time.clock_gettime((~pid << 3) | 2)


def tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by ``pid``'s process tree: each living process's own
    (:func:`process_cpu_s`) plus that of the children it has reaped (``cutime`` and
    ``cstime`` of ``/proc/<pid>/stat``), so a worker that ends and is reaped between two
    readings (the hashing sandbox's workers are replaced every few hundred pictures) still
    counts in the difference. The reaped children's time moves in clock ticks (usually
    10 ms), and only when a child is reaped; the rest is exact."""
    seconds = 0.0
    ticks = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            own = process_cpu_s(p)
        except OSError:  # ended meanwhile: its parent's cutime will hold it once reaped
            continue
        seconds += own
        # fields[0] is the state, field 3 of proc(5); cutime and cstime are fields 16, 17
        ticks += int(fields[13]) + int(fields[14])
    return seconds + ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu_s() -> float:
    """CPU seconds all cores have been busy since boot (first line of ``/proc/stat``:
    user, nice, system, irq, softirq; not idle, iowait or steal, the time the hypervisor
    gave to other machines; guest time is already inside user)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = values[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds used so far by this process, all its threads (not its children)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds spent between two :class:`CpuClock` readings, split by who spent them:
    the server's process tree, the client (this process), the database server's processes
    that serve it (0 when there are none, as on SQLite), and ``rest``: the machine's busy
    time less those three."""

    server: float
    client: float
    database: float
    rest: float
    wall: float

    @property
    def all(self) -> float:
        return self.server + self.client + self.database + self.rest

    @property
    def cores_busy(self) -> float:
        """Average number of the machine's cores busy over the interval."""
        return self.all / self.wall

    def per_request_ms(self, requests: int) -> dict[str, float]:
        """ms of CPU per request: ``server``, ``client``, ``database``, ``rest``, ``all``."""
        return {
            "server": self.server / requests * 1000,
            "client": self.client / requests * 1000,
            "database": self.database / requests * 1000,
            "rest": self.rest / requests * 1000,
            "all": self.all / requests * 1000,
        }


@dataclass(frozen=True)
class CpuClock:
    """CPU seconds used so far by a server's process tree, by this process, by each of
    some database server processes (pid -> seconds) and by the machine, and the wall
    clock (``time.perf_counter``), read together."""

    server: float
    client: float
    database: Mapping[int, float]
    machine: float
    wall: float

    @classmethod
    def read(cls, server_pid: int, database_pids: Iterable[int] = ()) -> CpuClock:
        """Read now. ``database_pids``: the database server's processes serving the
        server (on PostgreSQL, the backends connected to its database); pass the ones
        alive at each reading: a process that appears between two readings counts from
        its start, one that ends between them loses what it spent since the first."""
        # (a reading costs well under a millisecond of this process's CPU)
        database = {}
        for pid in database_pids:
            try:
                database[pid] = process_cpu_s(pid)
            except OSError:
                continue
        return cls(
            tree_cpu_s(server_pid), own_cpu_s(), database, machine_cpu_s(), time.perf_counter()
        )

    def until(self, end: CpuClock) -> CpuUse:
        server = end.server - self.server
        client = end.client - self.client
        database = sum(s - self.database.get(pid, 0.0) for pid, s in end.database.items())
        machine = end.machine - self.machine
        return CpuUse(
            server, client, database, machine - server - client - database, end.wall - self.wall
        )


@contextmanager
def still_heap() -> Iterator[None]:
    """``with still_heap():`` the load generator's own pauses kept out of a timed run:
    a full collection first, then every object alive is frozen (:func:`gc.freeze`), so a
    collection during the run does not walk the pre-built request bodies (a pause of all
    client threads that would show as the service's latency)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


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


def databases(
    tmp: str, database: str | None, postgres_url: str
) -> list[tuple[str, Callable[[], None] | None]]:
    """The databases a storage benchmark measures, each with what drops it afterwards:
    ``database`` (default: a fresh SQLite file in ``tmp``), then, when ``postgres_url`` is
    given and answers, a scratch database created on that server for the run."""
    urls: list[tuple[str, Callable[[], None] | None]] = [
        (database or f"sqlite:///{tmp}/bench.sqlite", None)
    ]
    if postgres_url:
        scratch = postgres_database(postgres_url)
        if scratch is None:
            print(f"postgresql: {postgres_url} does not answer, skipped")
        else:
            urls.append(scratch)
    return urls
