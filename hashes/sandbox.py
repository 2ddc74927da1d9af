"""Hashing in worker processes under a hard memory and time limit.

:class:`HashSandbox` is the one adapter in :mod:`hashes` that starts processes. It runs
:func:`hashes.compute.hash_image` (pure, unchanged) in a small pool of worker processes,
so that no picture can hold its caller longer than ``timeout_s`` or make it allocate
without bound, whatever the decoders do with it:

- **memory**: each worker limits its own address space (``RLIMIT_AS``) to what it holds
  after its imports plus ``memory_bytes``; an allocation past it fails inside the worker,
  which answers :class:`~hashes.errors.DecodeMemoryExceeded` and is replaced. The header
  budget of :class:`~hashes.decode.DecodeLimits` (``max_memory``) refuses most such
  pictures before any allocation; the limit is the backstop for what the estimate misses.
- **time**: the caller waits at most ``timeout_s`` for the answer, then kills the worker
  (``SIGKILL``) and raises :class:`~hashes.errors.DecodeTimeout`; a worker also limits
  its CPU seconds per task (``RLIMIT_CPU``). The time spent waiting for a free worker is
  bounded separately by ``wait_s`` (also :class:`~hashes.errors.DecodeTimeout`).
- **crashes**: a worker that dies (a signal, the kernel's OOM killer) gives
  :class:`~hashes.errors.DecodeCrashed`; the pool replaces it and carries on.

Processes come from a ``forkserver`` (``spawn`` where there is none), never a plain
``fork`` of the caller, which may be a threaded web server. Nothing starts at import or
construction: the first call (or :meth:`HashSandbox.start`, to warm up ahead of the first
request) starts the workers, which are then reused for ``max_tasks_per_child`` tasks each.
Safe to call from many threads at once: each call takes one worker for itself.

>>> with HashSandbox(workers=2, timeout_s=5.0) as sandbox:   # doctest: +SKIP
...     result = sandbox.hash_image(data, ["pdq"])
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import multiprocessing
import signal
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from hashes import errors
from hashes.compute import DEFAULT_ALGORITHMS, HashResult, _algorithms
from hashes.decode import DEFAULT_LIMITS, DecodeLimits
from hashes.errors import DecodeCrashed, DecodeTimeout, HashesError
from hashes.values import Algorithm

if TYPE_CHECKING:
    from hashes.video.limits import VideoLimits
    from hashes.video.variants import VideoVariantPolicy
    from hashes.video.vpdq import VideoHash, VpdqFrame

__all__ = [
    "DEFAULT_MEMORY_BYTES",
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_VIDEO_TIMEOUT_S",
    "HashSandbox",
    "VideoResult",
]

DEFAULT_TIMEOUT_S: Final = 10.0
"""Default wall-clock limit of one task, in seconds."""

DEFAULT_VIDEO_TIMEOUT_S: Final = 120.0
"""Default wall-clock limit of one video task, in seconds (a few minutes of phone video
at 1080p decode in well under a minute on one core; see ``benchmarks/video.py``)."""

DEFAULT_MEMORY_BYTES: Final = 1 << 30
"""Default address-space growth allowed to a worker (1 GiB): the default decode budget
(512 MiB), the input, and the allocator's slack."""

_STARTUP_TIMEOUT_S: Final = 60.0
_ERRORS: Final = {
    name: cls
    for name, cls in vars(errors).items()
    if isinstance(cls, type) and issubclass(cls, HashesError)
}


@dataclass(frozen=True, slots=True)
class VideoResult:
    """What :meth:`HashSandbox.hash_video` returns: the video's hash, its keyframes as
    PNG bytes (evenly spaced, at the video's size; none unless asked for) and its query
    variants (name -> frames; None unless asked for)."""

    hash: VideoHash
    keyframes: tuple[bytes, ...] = ()
    variants: Mapping[str, tuple[VpdqFrame, ...]] | None = None
    """The query variants asked for (:mod:`hashes.video.variants`), else None."""


class _StaleWorker(Exception):
    """The worker was already dead when a task was handed to it."""


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    tasks: int = 0
    ready: bool = False
    started: float = field(default_factory=time.monotonic)


class HashSandbox:
    """A pool of worker processes that hash pictures under hard limits.

    ``workers`` processes at most (each hashes one picture at a time); ``timeout_s`` of
    wall-clock per picture; ``memory_bytes`` of address space per worker beyond its
    imports; ``wait_s`` at most for a free worker; each worker is replaced after
    ``max_tasks_per_child`` pictures. ``start_method`` is ``"forkserver"`` (default where
    available) or ``"spawn"``.

    Raises:
        ValueError: (on construction) a limit is not positive, or the start method is
            neither ``forkserver`` nor ``spawn``.
    """

    def __init__(
        self,
        workers: int = 2,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        wait_s: float = 60.0,
        max_tasks_per_child: int = 200,
        start_method: str | None = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers <= 0:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        for name, value in (("timeout_s", timeout_s), ("wait_s", wait_s)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        for name, count in (("memory_bytes", memory_bytes), ("max_tasks", max_tasks_per_child)):
            if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
                raise ValueError(f"{name} must be a positive integer, got {count!r}")
        methods = multiprocessing.get_all_start_methods()
        method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
        if method not in ("forkserver", "spawn") or method not in methods:
            raise ValueError(f"start_method must be forkserver or spawn, got {method!r}")
        self.workers = workers
        self.timeout_s = float(timeout_s)
        self.memory_bytes = memory_bytes
        self.wait_s = float(wait_s)
        self.max_tasks_per_child = max_tasks_per_child
        self.start_method = method
        self._cpu_seconds = math.ceil(self.timeout_s) + 1
        self._context: BaseContext | None = None
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._live: set[_Worker] = set()
        self._slots = 0
        self._closed = False
        self._finalizer = weakref.finalize(self, _stop_all, self._live)

    # --- public surface -------------------------------------------------------------

    def start(self) -> HashSandbox:
        """Start every worker now (otherwise the first calls do); returns ``self``.

        Raises:
            RuntimeError: the sandbox is closed.
        """
        with self._cond:
            self._check_open()
            missing = self.workers - self._slots
            self._slots += missing
        for _ in range(missing):
            self._put_back(self._spawn())
        return self

    def hash_image(
        self,
        data: bytes,
        algorithms: Iterable[Algorithm | str] = DEFAULT_ALGORITHMS,
        *,
        limits: DecodeLimits = DEFAULT_LIMITS,
        fast: bool = True,
        dihedral: bool = False,
        variants: bool = False,
    ) -> HashResult:
        """:func:`hashes.compute.hash_image` in a worker, under the sandbox's limits
        (``variants=True``: with the query variants, as the device scanner and the service's
        bank matching ask for).

        Raises:
            DecodeTimeout: the worker ran past ``timeout_s`` (or its CPU limit) and was
                killed, or no worker was free within ``wait_s``.
            DecodeMemoryExceeded: the header budget refused it, or the worker hit its
                address-space limit.
            DecodeCrashed: the worker died for another reason (it is replaced).
            EmptyInput, TooManyBytes, UnsupportedFormat, TooManyPixels, TooManyFrames,
            TooManyScans, CorruptImage, HashFormatError: as :func:`hash_image`.
            RuntimeError: the sandbox is closed.
        """
        chosen = _algorithms(algorithms)  # a bad name fails here, not in a worker
        request = (chosen, limits, fast, dihedral, variants)
        packed = self._run(request, data, self.timeout_s)
        from hashes._sandbox_worker import unpack_result

        return unpack_result(packed)

    def hash_video(
        self,
        data: bytes,
        *,
        limits: VideoLimits | None = None,
        seconds_per_hash: float = 1.0,
        keyframes: int = 0,
        timeout_s: float = DEFAULT_VIDEO_TIMEOUT_S,
        variants: VideoVariantPolicy | None = None,
    ) -> VideoResult:
        """:func:`hashes.video.hash_video` in a worker (and, with ``keyframes`` > 0,
        :func:`hashes.video.keyframes` as PNG bytes; with ``variants``, the query variants
        of :func:`hashes.video.variants.hash_video_variants` in the same decoding pass, whose
        vPDQ is the same), under the worker's memory limit and
        ``timeout_s`` of wall-clock (also its CPU limit for this task). ``limits``
        defaults to :data:`hashes.video.DEFAULT_VIDEO_LIMITS` with ``max_wall_s`` no
        longer than ``timeout_s``.

        Raises:
            ValueError: ``timeout_s``, ``seconds_per_hash`` or ``keyframes`` out of range.
            DecodeTimeout: the worker ran past ``timeout_s`` (or its CPU limit) and was
                killed, or no worker was free within ``wait_s``.
            DecodeMemoryExceeded: the worker hit its address-space limit.
            DecodeCrashed: the worker died for another reason (it is replaced).
            EmptyInput, TooManyBytes, UnsupportedFormat, TooManyStreams, TooManyPixels,
            VideoTooLong, TooManyFrames, TooManyDecodedPixels, CorruptVideo: as
            :func:`hashes.video.hash_video`.
            RuntimeError: the sandbox is closed.
        """
        from hashes.video.compute import MAX_KEYFRAMES
        from hashes.video.limits import DEFAULT_VIDEO_LIMITS

        if not (isinstance(timeout_s, int | float) and math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
        if not (
            isinstance(seconds_per_hash, int | float)
            and math.isfinite(seconds_per_hash)
            and seconds_per_hash >= 0
        ):
            raise ValueError("seconds_per_hash must be a finite, non-negative number")
        if isinstance(keyframes, bool) or not isinstance(keyframes, int):
            raise ValueError("keyframes must be an integer")
        if not 0 <= keyframes <= MAX_KEYFRAMES:
            raise ValueError(f"keyframes must be between 0 and {MAX_KEYFRAMES}")
        if limits is None:
            limits = dataclasses.replace(
                DEFAULT_VIDEO_LIMITS,
                max_wall_s=min(DEFAULT_VIDEO_LIMITS.max_wall_s, float(timeout_s)),
            )
        cpu_seconds = math.ceil(timeout_s) + 1
        request = ("video", limits, float(seconds_per_hash), keyframes, cpu_seconds, variants)
        packed = self._run(request, data, float(timeout_s))
        from hashes._sandbox_worker import unpack_video

        video, pictures, named = unpack_video(packed)
        return VideoResult(video, pictures, named)

    def _run(self, request: tuple[Any, ...], data: bytes, timeout_s: float) -> Any:
        """Send one task to a worker and return its packed answer, or raise its error."""
        for attempt in (1, 2):
            worker = self._acquire_live()
            reusable = False
            try:
                reply = self._ask(worker, request, data, timeout_s)
                worker.tasks += 1
                reusable = reply[0] == "ok" or not reply[3]
                break
            except _StaleWorker:
                # The worker had died while idle (the task never reached it): try once more
                # with its replacement.
                if attempt == 2:
                    raise DecodeCrashed("the hashing worker died before the task") from None
            finally:
                self._release(worker, reusable)
        if reply[0] == "ok":
            return reply[1]
        cls = _ERRORS.get(str(reply[1]), DecodeCrashed)
        raise cls(str(reply[2]))

    def close(self) -> None:
        """Stop every worker (idle ones now, busy ones when their task ends). Idempotent."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._slots -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            self._live.discard(worker)
            _stop(worker)

    def __enter__(self) -> HashSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (a closed sandbox refuses work)."""
        return self._closed

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring and tests)."""
        return sorted(w.process.pid for w in list(self._live) if w.process.pid is not None)

    # --- the pool ---------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the hash sandbox is closed")

    def _ctx(self) -> BaseContext:
        if self._context is None:
            context = multiprocessing.get_context(self.start_method)
            if self.start_method == "forkserver":
                # The forkserver imports this light module only (not the caller's
                # __main__); each worker imports numpy itself, after pinning its threads.
                context.set_forkserver_preload(["hashes._sandbox_worker"])
            self._context = context
        return self._context

    def _spawn(self) -> _Worker:
        from hashes import _sandbox_worker

        ctx = self._ctx()
        parent, child = ctx.Pipe(duplex=True)
        process = ctx.Process(  # type: ignore[attr-defined]
            target=_sandbox_worker.serve,
            args=(child, self.memory_bytes, self._cpu_seconds),
            name="frankly-hash-worker",
            daemon=True,
        )
        try:
            process.start()
        finally:
            child.close()
        worker = _Worker(process, parent)
        self._live.add(worker)
        return worker

    def _acquire_live(self) -> _Worker:
        """A worker that has said it is ready. An idle worker that died before it ever
        did (killed from outside, or by the OOM killer) frees its slot and the next is
        tried: at most one try per worker, and one for a fresh spawn."""
        for _ in range(self.workers + 1):
            try:
                return self._acquire()
            except _StaleWorker:
                continue
        raise DecodeCrashed("the hashing worker did not start")

    def _acquire(self) -> _Worker:
        deadline = time.monotonic() + self.wait_s
        worker: _Worker | None
        with self._cond:
            while True:
                self._check_open()
                if self._idle:
                    worker = self._idle.pop()
                    break
                if self._slots < self.workers:
                    self._slots += 1
                    worker = None
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DecodeTimeout(f"no hashing worker was free within {self.wait_s:g} s")
                self._cond.wait(remaining)
        if worker is None:
            try:
                worker = self._spawn()
            except BaseException:
                with self._cond:
                    self._slots -= 1
                    self._cond.notify()
                raise
        if not worker.ready:
            try:
                self._wait_ready(worker)
            except BaseException:
                self._release(worker, False)
                raise
        return worker

    def _wait_ready(self, worker: _Worker) -> None:
        left = _STARTUP_TIMEOUT_S - (time.monotonic() - worker.started)
        try:
            if worker.conn.poll(max(left, 0.0)):
                message = worker.conn.recv()
                if isinstance(message, tuple) and message[:1] == ("ready",):
                    worker.ready = True
                    return
        except (EOFError, OSError):
            pass
        if not worker.process.is_alive():
            raise _StaleWorker  # it died before it was ready: the caller may try another
        raise DecodeCrashed("the hashing worker did not start")

    def _ask(
        self, worker: _Worker, request: tuple[Any, ...], data: bytes, timeout_s: float
    ) -> tuple[Any, ...]:
        conn = worker.conn
        if not worker.process.is_alive():
            raise _StaleWorker
        try:
            conn.send(request)
        except OSError:
            raise _StaleWorker from None
        try:
            conn.send_bytes(data)
            if not conn.poll(timeout_s):
                _kill(worker)
                raise DecodeTimeout(
                    f"hashing took longer than {timeout_s:g} s; the worker was stopped"
                )
            reply = conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            raise _death(worker) from None
        well_formed = isinstance(reply, tuple) and (
            (len(reply) == 2 and reply[0] == "ok") or (len(reply) == 4 and reply[0] == "error")
        )
        if not well_formed:
            _kill(worker)
            raise DecodeCrashed("the hashing worker answered nonsense")
        answer: tuple[Any, ...] = reply
        return answer

    def _release(self, worker: _Worker, reusable: bool) -> None:
        keep = reusable and worker.tasks < self.max_tasks_per_child and worker.process.is_alive()
        if keep:
            with self._cond:
                if not self._closed:
                    self._idle.append(worker)
                    self._cond.notify()
                    return
        self._live.discard(worker)
        _stop(worker)
        with self._cond:
            replace = not self._closed
            if not replace:
                self._slots -= 1
                self._cond.notify()
        if replace:
            # Start the replacement now: its imports overlap with other work instead of
            # delaying the next picture.
            try:
                fresh = self._spawn()
            except BaseException:
                with self._cond:
                    self._slots -= 1
                    self._cond.notify()
                raise
            self._put_back(fresh)

    def _put_back(self, worker: _Worker) -> None:
        with self._cond:
            if not self._closed:
                self._idle.append(worker)
                self._cond.notify()
                return
            self._slots -= 1
        self._live.discard(worker)
        _stop(worker)


def _death(worker: _Worker) -> HashesError:
    """The error for a worker whose pipe broke: why did it die?"""
    worker.process.join(timeout=5.0)
    code = worker.process.exitcode
    _kill(worker)
    if code is not None and code == -signal.SIGXCPU:
        return DecodeTimeout("hashing ran past its CPU limit; the worker was stopped")
    return DecodeCrashed(f"the hashing worker died (exit code {code})")


def _kill(worker: _Worker) -> None:
    if worker.process.is_alive():
        worker.process.kill()
    worker.process.join(timeout=5.0)
    worker.conn.close()


def _stop(worker: _Worker) -> None:
    """Ask a worker to exit, then make sure it has."""
    if not worker.conn.closed:
        with contextlib.suppress(OSError, ValueError):
            worker.conn.send(None)
    worker.process.join(timeout=2.0)
    _kill(worker)


def _stop_all(live: set[_Worker]) -> None:
    for worker in list(live):
        live.discard(worker)
        _stop(worker)
