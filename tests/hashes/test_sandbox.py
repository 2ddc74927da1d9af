"""The hashing sandbox: worker processes with hard time and memory limits (issue 10, §3)."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from hashes.compute import hash_image
from hashes.decode import DecodeLimits
from hashes.errors import (
    CorruptImage,
    DecodeCrashed,
    DecodeMemoryExceeded,
    DecodeTimeout,
    EmptyInput,
    HashFormatError,
    TooManyScans,
)
from hashes.sandbox import HashSandbox
from tests.hashes.hostile_media import gif_with_logical_screen, progressive_jpeg_with_scans
from tests.hashes.imaging_support import encode, photo

# No budget from the header: only the sandbox's own limits stop these.
UNBUDGETED = DecodeLimits(max_scans=10**6, max_memory=1 << 40, max_scan_pixels=1 << 50)


def slow_jpeg() -> bytes:
    """A progressive JPEG that takes libjpeg several seconds (thousands of scans)."""
    return progressive_jpeg_with_scans(4000, side=2048)


def cpu_ticks(pid: int) -> int:
    """The CPU time (user + system, in clock ticks) process ``pid`` has used (Linux)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat


def wait_until_busy(pid: int) -> None:
    """Return once worker ``pid`` has burnt 50 ms of CPU since the call, i.e. is decoding
    a task (an idle worker sits in a blocking read and uses none; a slow picture takes
    seconds). A condition, not a guess at how long handing the task over takes."""
    idle = cpu_ticks(pid)
    enough = max(1, os.sysconf("SC_CLK_TCK") // 20)  # 50 ms in clock ticks
    deadline = time.monotonic() + 60.0
    while cpu_ticks(pid) < idle + enough:
        assert time.monotonic() < deadline, f"worker {pid} never started the task"
        time.sleep(0.005)


def wait_until_exited(pid: int) -> None:
    """Return once process ``pid`` has exited (gone, or a zombie: its pipes are closed)."""
    deadline = time.monotonic() + 60.0
    while True:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):  # gone, even mid-read
            return
        if state in ("Z", "X"):
            return
        assert time.monotonic() < deadline, f"process {pid} never exited"
        time.sleep(0.005)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[HashSandbox]:
    # A generous deadline: these workers hash honest pictures, which must never time out
    # on a loaded machine. The deadline itself is tested with its own, short one below.
    with HashSandbox(workers=2, timeout_s=60.0, memory_bytes=384 << 20) as pool:
        yield pool.start()


def test_results_equal_in_process_hashing(sandbox: HashSandbox) -> None:
    picture = encode(photo(64, 48), "PNG")
    for fast in (True, False):
        inside = sandbox.hash_image(picture, fast=fast, dihedral=True)
        assert inside == hash_image(picture, fast=fast, dihedral=True)
    jpeg = encode(photo(640, 480), "JPEG")
    assert sandbox.hash_image(jpeg, ["pdq", "sha256"]) == hash_image(jpeg, ["pdq", "sha256"])


def test_query_variants_cross_the_process_boundary(sandbox: HashSandbox) -> None:
    # The service's bank matching and a sandboxed scanner ask for the query variants
    # (mirrors, rotations, trimmed border): they must come back from the worker whole.
    from PIL import ImageOps

    framed = ImageOps.expand(photo(320, 240), border=40, fill=(0, 0, 0))
    for picture in (encode(photo(320, 240), "JPEG"), encode(framed, "PNG")):
        inside = sandbox.hash_image(picture, ["pdq", "phash"], variants=True)
        here = hash_image(picture, ["pdq", "phash"], variants=True)
        assert inside.variants is not None
        assert here.variants is not None
        assert list(inside.variants) == list(here.variants)
        assert {k: dict(v) for k, v in inside.variants.items()} == {
            k: dict(v) for k, v in here.variants.items()
        }
    assert here.variants is not None
    assert "trimmed" in here.variants


def test_typed_errors_cross_the_process_boundary(sandbox: HashSandbox) -> None:
    pids = sandbox.worker_pids()
    with pytest.raises(EmptyInput):
        sandbox.hash_image(b"")
    with pytest.raises(CorruptImage):
        sandbox.hash_image(encode(photo(64, 48), "PNG")[:200])
    with pytest.raises(TooManyScans):
        sandbox.hash_image(progressive_jpeg_with_scans(1000, side=256))
    with pytest.raises(DecodeMemoryExceeded, match="8000x8000"):
        sandbox.hash_image(gif_with_logical_screen())
    with pytest.raises(HashFormatError):
        sandbox.hash_image(b"x", ["nope"])
    # Refusals from headers keep the workers: no process was harmed.
    assert sandbox.worker_pids() == pids


def test_a_slow_picture_is_killed_at_the_deadline_and_the_pool_recovers() -> None:
    # The picture takes several seconds (more under load); the deadline is 1.5 s.
    with HashSandbox(workers=2, timeout_s=1.5, memory_bytes=384 << 20) as pool:
        before = set(pool.start().worker_pids())
        start = time.perf_counter()
        with pytest.raises(DecodeTimeout, match=r"longer than 1\.5 s"):
            pool.hash_image(slow_jpeg(), limits=UNBUDGETED)
        assert time.perf_counter() - start < 1.5 + 10.0  # killed at the deadline, not minutes
        after = set(pool.worker_pids())
        assert len(after) == 2
        assert after != before  # the stuck worker was replaced
        for pid in before - after:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        # The replacement hashes an honest picture (a few milliseconds: far under 1.5 s
        # even on a busy machine).
        picture = encode(photo(32, 32), "PNG")
        assert pool.hash_image(picture) == hash_image(picture)


def test_an_allocation_past_the_memory_limit_fails_in_the_worker() -> None:
    # The header budget is switched off: the GIF's 8000x8000 canvas (about 1 GB) meets
    # the worker's address-space limit (384 MiB) instead, and only the worker suffers.
    # (A long deadline: on a busy machine the allocations may take a while to fail.)
    with HashSandbox(workers=1, timeout_s=120.0, memory_bytes=384 << 20) as pool:
        with pytest.raises(DecodeMemoryExceeded):
            pool.hash_image(gif_with_logical_screen(), limits=UNBUDGETED)
        picture = encode(photo(32, 32), "PNG")
        assert pool.hash_image(picture) == hash_image(picture)


def test_a_picture_just_under_the_budget_fits_the_limit() -> None:
    # The service's pairing: a decode budget, and an address-space limit of twice it plus
    # the input and 64 MiB. The estimate is conservative enough that an honest picture
    # it admits is never killed by the limit.
    budget = 128 << 20
    limits = DecodeLimits(max_memory=budget)
    side = 2800  # 7.8 Mpx RGB: about 127 MiB by the estimate
    canvas = photo(side // 8, side // 8).resize((side, side))
    out = io.BytesIO()
    canvas.save(out, "PNG", compress_level=1)
    picture = out.getvalue()
    with HashSandbox(workers=1, timeout_s=60.0, memory_bytes=2 * budget + (64 << 20)) as pool:
        result = pool.hash_image(picture, limits=limits)
    assert result == hash_image(picture)


@pytest.mark.parametrize(
    ("sig", "error"), [(signal.SIGKILL, DecodeCrashed), (signal.SIGXCPU, DecodeTimeout)]
)
def test_a_worker_dying_mid_task_gives_a_typed_error(
    sig: signal.Signals, error: type[Exception]
) -> None:
    # SIGKILL is what the kernel's OOM killer sends; SIGXCPU what RLIMIT_CPU sends.
    with HashSandbox(workers=1, timeout_s=30.0) as pool:
        (pid,) = pool.start().worker_pids()
        pool.hash_image(encode(photo(8, 8), "PNG"))  # the worker is ready
        slow = slow_jpeg()  # several seconds of decoding
        # The signal arrives once the worker is decoding (not after a fixed delay: on a
        # loaded machine it could land before the task was sent, on an idle worker whose
        # replacement then hashes the picture without error).

        def kill_once_busy() -> None:
            wait_until_busy(pid)
            os.kill(pid, sig)

        killer = threading.Thread(target=kill_once_busy)
        killer.start()
        start = time.perf_counter()
        with pytest.raises(error):
            pool.hash_image(slow, limits=UNBUDGETED)
        assert time.perf_counter() - start < 20.0  # the death is seen, not the 30 s deadline
        killer.join()
        picture = encode(photo(32, 32), "PNG")
        assert pool.hash_image(picture) == hash_image(picture)
        assert pool.worker_pids() != [pid]


def test_an_idle_worker_killed_from_outside_is_replaced(sandbox: HashSandbox) -> None:
    for pid in sandbox.worker_pids():
        os.kill(pid, signal.SIGKILL)
        wait_until_exited(pid)  # not a fixed 0.2 s: under load dying takes a while
    picture = encode(photo(32, 32), "PNG")
    results = [sandbox.hash_image(picture) for _ in range(3)]
    assert all(r == hash_image(picture) for r in results)
    assert len(sandbox.worker_pids()) == 2


def test_concurrent_callers_share_the_pool() -> None:
    pictures = [encode(photo(48, 32, seed=s), "PNG") for s in range(6)]
    expected = [hash_image(p) for p in pictures]
    got: dict[int, object] = {}
    with HashSandbox(workers=2, timeout_s=30.0) as pool:

        def call(i: int) -> None:
            got[i] = pool.hash_image(pictures[i])

        threads = [threading.Thread(target=call, args=(i,)) for i in range(len(pictures))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(pool.worker_pids()) <= 2
    assert [got[i] for i in range(len(pictures))] == expected


def test_waiting_for_a_busy_pool_is_bounded() -> None:
    # The only worker is held by a picture that takes many seconds (minutes on a loaded
    # machine) until its 10 s deadline; once it is being decoded, a second caller gives
    # up after wait_s = 0.3 s instead of queueing behind it.
    with HashSandbox(workers=1, timeout_s=10.0, wait_s=0.3) as pool:
        (pid,) = pool.start().worker_pids()
        slow = slow_jpeg()
        outcome: list[object] = []

        def occupy() -> None:
            try:
                outcome.append(pool.hash_image(slow, limits=UNBUDGETED))
            except DecodeTimeout as exc:  # its own deadline: either end is fine here
                outcome.append(exc)

        busy = threading.Thread(target=occupy)
        busy.start()
        wait_until_busy(pid)  # the first caller's picture is being decoded
        start = time.perf_counter()
        with pytest.raises(DecodeTimeout, match=r"no hashing worker was free within 0\.3 s"):
            pool.hash_image(encode(photo(8, 8), "PNG"))
        assert time.perf_counter() - start < 5.0  # bounded by wait_s, not by the picture
        busy.join()
        assert len(outcome) == 1


def test_workers_are_recycled_after_max_tasks() -> None:
    picture = encode(photo(16, 16), "PNG")
    with HashSandbox(workers=1, max_tasks_per_child=2) as pool:
        pool.hash_image(picture)
        first = pool.worker_pids()
        pool.hash_image(picture)
        second = pool.worker_pids()
        pool.hash_image(picture)
        assert first != second
        assert len(second) == 1


def test_nothing_starts_before_use_and_close_stops_everything() -> None:
    pool = HashSandbox(workers=2)
    assert pool.worker_pids() == []
    with pytest.raises(HashFormatError):
        pool.hash_image(b"", ["nope"])  # checked before any worker starts
    assert pool.worker_pids() == []
    pool.hash_image(encode(photo(8, 8), "PNG"))
    pids = pool.worker_pids()
    assert len(pids) == 1  # one caller needed one worker
    assert not pool.closed
    pool.close()
    pool.close()
    assert pool.closed
    assert pool.worker_pids() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(RuntimeError, match="closed"):
        pool.hash_image(encode(photo(8, 8), "PNG"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"workers": 0},
        {"timeout_s": 0},
        {"timeout_s": float("inf")},
        {"memory_bytes": -1},
        {"wait_s": -1.0},
        {"max_tasks_per_child": 0},
        {"start_method": "fork"},
    ],
)
def test_settings_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be"):
        HashSandbox(**kwargs)  # type: ignore[arg-type]
