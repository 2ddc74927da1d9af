"""Writers to one SQLite file take turns across threads and processes
(:mod:`report_service.storage.write_turn`), and a turn dies with its process."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from report_service.storage.engine import make_engine
from report_service.storage.write_turn import LOCK_SUFFIX, WriteTurn, write_turn_for

ROUNDS = 40


# Run in a process of its own: argv = lock file, counter file, threads, rounds. Each
# thread adds 1 to the counter ``rounds`` times, read-modify-write with a pause between:
# only the turn keeps the updates apart.
COUNTER = """
import sys, threading, time
from pathlib import Path
from report_service.storage.write_turn import WriteTurn
lock, counter, threads, rounds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
turn = WriteTurn(Path(lock))
def work():
    for _ in range(rounds):
        with turn():
            value = int(counter.read_text() or "0")
            time.sleep(0.0005)
            counter.write_text(str(value + 1))
workers = [threading.Thread(target=work) for _ in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
turn.close()
"""

HOLDER = """
import sys, time
from pathlib import Path
from report_service.storage.write_turn import WriteTurn
turn = WriteTurn(Path(sys.argv[1]))
with turn():
    Path(sys.argv[2]).write_text("held")
    time.sleep(3600)
"""


def _python(script: str, *args: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)])


def test_threads_of_several_processes_never_hold_the_turn_at_once(tmp_path: Path) -> None:
    lock, counter = tmp_path / ("db" + LOCK_SUFFIX), tmp_path / "counter"
    counter.write_text("0")
    procs = [_python(COUNTER, lock, counter, threads, ROUNDS) for threads in (3, 3, 2)]
    for p in procs:
        assert p.wait(timeout=300) == 0
    assert int(counter.read_text()) == ROUNDS * (3 + 3 + 2)


def test_without_the_turn_the_same_counting_loses_updates(tmp_path: Path) -> None:
    """The counting above can fail: with a turn of its own per thread (no shared lock
    file), concurrent read-modify-writes overwrite each other."""
    counter = tmp_path / "counter"
    counter.write_text("0")

    def work() -> None:
        for _ in range(ROUNDS):
            value = int(counter.read_text() or "0")
            time.sleep(0.0005)
            counter.write_text(str(value + 1))

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert int(counter.read_text()) < ROUNDS * 4


def _free(lock_path: Path) -> bool:
    """Whether another open file description could take the lock now (no waiting)."""
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def test_a_turn_held_by_a_killed_process_is_released(tmp_path: Path) -> None:
    lock, ready = tmp_path / ("db" + LOCK_SUFFIX), tmp_path / "ready"
    proc = _python(HOLDER, lock, ready)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ready.exists()
        assert not _free(lock)  # held by the child
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _free(lock)  # the kernel dropped it with the process
    turn = WriteTurn(lock)
    with turn():  # and a writer takes its turn at once
        assert not _free(lock)
    turn.close()


def test_a_forked_child_takes_its_own_turn_not_its_parents(tmp_path: Path) -> None:
    """A descriptor inherited through fork shares its lock with the parent: a child that
    used it would get a turn the parent holds. The child opens its own."""
    lock = tmp_path / ("db" + LOCK_SUFFIX)
    turn = WriteTurn(lock)
    fork = multiprocessing.get_context("fork")
    answer = fork.Queue()

    def child() -> None:
        fd = turn._lock_fd()  # what __call__ locks in this process
        assert fd is not None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            answer.put("taken")
        except BlockingIOError:
            answer.put("waits")

    with turn():  # the parent holds the turn (its descriptor is open)
        proc = fork.Process(target=child)
        proc.start()
        got = answer.get(timeout=60)
        proc.join()
    assert got == "waits"
    turn.close()


def test_the_turn_follows_the_database(tmp_path: Path) -> None:
    database = tmp_path / "frankly.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        turn = write_turn_for(engine)
        assert turn is not None
        assert turn.lock_path == tmp_path / ("frankly.db" + LOCK_SUFFIX)
        with turn():
            assert turn.lock_path is not None
            assert stat.S_IMODE(turn.lock_path.stat().st_mode) == 0o600
        turn.close()
    finally:
        engine.dispose()
    memory = make_engine("sqlite://")
    try:
        in_memory = write_turn_for(memory)
        assert in_memory is not None
        assert in_memory.lock_path is None
        with in_memory():  # threads of this process only: no file anywhere
            pass
    finally:
        memory.dispose()


@pytest.mark.postgres
def test_postgresql_writers_take_no_turn(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        assert write_turn_for(engine) is None
    finally:
        engine.dispose()
