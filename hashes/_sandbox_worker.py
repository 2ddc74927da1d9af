"""The worker side of :class:`hashes.sandbox.HashSandbox` (runs in the child process).

Kept apart from :mod:`hashes.sandbox` so that importing it is cheap: the forkserver
preloads this module only, and each worker pins the numeric libraries to one thread
*before* it imports numpy (a thread pool per worker would cost address space the limit
is meant for). The messages on the pipe are plain tuples:

- worker -> parent, once: ``("ready", pid)``;
- parent -> worker: ``(algorithms, limits, fast, dihedral, variants)`` then the image bytes
  (``send_bytes``), or ``("video", video_limits, seconds_per_hash, keyframes,
  cpu_seconds)`` then the video bytes; ``None`` asks the worker to exit;
- worker -> parent: ``("ok", packed_result)`` or ``("error", class_name, message,
  retire)``; ``retire`` says the worker exits after this answer (it ran out of memory or
  failed unexpectedly), so the parent replaces it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hashes.compute import HashResult
    from hashes.video.limits import VideoLimits
    from hashes.video.variants import VideoVariantPolicy
    from hashes.video.vpdq import VideoHash, VpdqFrame

PackedResult = tuple[Any, ...]

_SINGLE_THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def serve(conn: Connection, memory_bytes: int, cpu_seconds: int) -> None:
    """Answer hashing requests on ``conn`` until it closes or ``None`` arrives.

    Limits, set here in the child: the address space may grow by ``memory_bytes`` beyond
    what the worker holds once its imports are done (``RLIMIT_AS``; allocations past it
    fail with ``MemoryError``), and each task may use ``cpu_seconds`` of CPU
    (``RLIMIT_CPU``: the kernel ends the process with ``SIGXCPU``). A ``MemoryError`` is
    answered as ``DecodeMemoryExceeded`` and the worker then exits, so that the parent
    replaces it with a fresh one.
    """
    for name in _SINGLE_THREAD_ENV:
        os.environ[name] = "1"
    from hashes.compute import hash_image
    from hashes.errors import HashesError

    _warm_up()
    _limit_address_space(memory_bytes)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request = conn.recv()
            if request is None:
                return
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        video = request[0] == "video"
        _limit_cpu(request[4] if video else cpu_seconds)
        exit_after = False
        reply: tuple[Any, ...]
        try:
            if video:
                _kind, video_limits, seconds_per_hash, keyframe_count, _cpu, policy = request
                packed = hash_video_packed(
                    data, video_limits, seconds_per_hash, keyframe_count, policy
                )
                reply = ("ok", packed)
            else:
                algorithms, limits, fast, dihedral, variants = request
                result = hash_image(
                    data, algorithms, limits=limits, fast=fast, dihedral=dihedral, variants=variants
                )
                reply = ("ok", pack_result(result))
        except MemoryError:
            exit_after = True
            reply = ("error", "DecodeMemoryExceeded", "the worker ran out of its memory limit")
        except HashesError as exc:
            exit_after = isinstance(exc.__cause__, MemoryError)
            reply = ("error", type(exc).__name__, str(exc)[:500])
        except Exception as exc:  # a bug or an unexpected library error: not a hang
            exit_after = True
            reply = ("error", "DecodeCrashed", f"the worker failed: {type(exc).__name__}")
        if reply[0] == "error":
            reply = (*reply, exit_after)
        del data
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return
        if exit_after:
            return


def _warm_up() -> None:
    """Hash two tiny pictures, so that the lazy imports and caches of the first real task
    (Pillow's plugins, the DCT matrices) are not counted against its deadline."""
    import io

    from PIL import Image

    from hashes.compute import hash_image

    for fmt in ("PNG", "JPEG"):
        out = io.BytesIO()
        Image.new("RGB", (64, 48), (90, 120, 150)).save(out, fmt)
        hash_image(out.getvalue())
        hash_image(out.getvalue(), fast=False)


def pack_result(result: HashResult) -> PackedResult:
    """A :class:`~hashes.compute.HashResult` as plain tuples (its mappings are read-only
    proxies, which do not cross a pipe)."""
    dihedral = (
        None
        if result.pdq_dihedral is None
        else tuple((name, value.digest) for name, value in result.pdq_dihedral.items())
    )
    shapes = (
        None
        if result.variants is None
        else tuple(
            (name, tuple((a.value, v.digest) for a, v in hashes.items()))
            for name, hashes in result.variants.items()
        )
    )
    return (
        tuple((algorithm.value, value.digest) for algorithm, value in result.hashes.items()),
        result.pdq_quality,
        result.low_quality,
        result.width,
        result.height,
        result.format,
        result.frames,
        result.fast,
        dihedral,
        shapes,
    )


def unpack_result(packed: PackedResult) -> HashResult:
    """The inverse of :func:`pack_result`."""
    from types import MappingProxyType

    from hashes.compute import HashResult
    from hashes.values import Algorithm, HashValue

    pairs, quality, low, width, height, fmt, frames, fast, dihedral, shapes = packed
    hashes: Mapping[Algorithm, HashValue] = MappingProxyType(
        {Algorithm(name): HashValue(Algorithm(name), digest) for name, digest in pairs}
    )
    pdq_dihedral = (
        None
        if dihedral is None
        else MappingProxyType({name: HashValue(Algorithm.PDQ, digest) for name, digest in dihedral})
    )
    variants = (
        None
        if shapes is None
        else MappingProxyType(
            {
                name: MappingProxyType(
                    {Algorithm(a): HashValue(Algorithm(a), digest) for a, digest in hashes}
                )
                for name, hashes in shapes
            }
        )
    )
    return HashResult(
        hashes=hashes,
        pdq_quality=quality,
        low_quality=low,
        width=width,
        height=height,
        format=fmt,
        frames=frames,
        fast=fast,
        pdq_dihedral=pdq_dihedral,
        variants=variants,
    )


def hash_video_packed(
    data: bytes,
    limits: VideoLimits,
    seconds_per_hash: float,
    keyframe_count: int,
    policy: VideoVariantPolicy | None = None,
) -> PackedResult:
    """Hash a video (and pick its keyframes, as PNG bytes; and with ``policy``, its query
    variants) for the pipe: the hash as its JSON-ready dict (plain values), the keyframes
    as a tuple of bytes, the variants as ``(name, vpdq text)`` pairs (or None)."""
    import io

    from hashes.video.compute import hash_video, keyframes
    from hashes.video.variants import hash_video_variants
    from hashes.video.vpdq import VideoHash

    variants: tuple[tuple[str, str], ...] | None = None
    if policy is None:
        video = hash_video(data, limits=limits, seconds_per_hash=seconds_per_hash)
    else:
        result = hash_video_variants(data, policy, limits=limits, seconds_per_hash=seconds_per_hash)
        video = result.hash
        variants = tuple(
            (name, VideoHash(frames).to_vpdq()) for name, frames in result.variants.items()
        )
    pictures: list[bytes] = []
    if keyframe_count:
        for picture in keyframes(data, count=keyframe_count, limits=limits):
            out = io.BytesIO()
            picture.save(out, "PNG")
            pictures.append(out.getvalue())
    return (video.to_dict(), tuple(pictures), variants)


def unpack_video(
    packed: PackedResult,
) -> tuple[VideoHash, tuple[bytes, ...], Mapping[str, tuple[VpdqFrame, ...]] | None]:
    """The inverse of :func:`hash_video_packed`."""
    from types import MappingProxyType

    from hashes.video.vpdq import VideoHash

    fields, pictures, variants = packed
    named = (
        None
        if variants is None
        else MappingProxyType({name: VideoHash.from_vpdq(text).frames for name, text in variants})
    )
    return VideoHash.from_dict(fields), tuple(pictures), named


def _limit_address_space(memory_bytes: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not a Unix: the wall-clock limit still holds
        return
    # No core dumps: a worker killed by SIGXCPU would otherwise write its memory, the
    # reported picture included, to disk.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    current = _address_space()
    if current is None:  # pragma: no cover - no /proc: macOS does not enforce RLIMIT_AS
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = current + memory_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _limit_cpu(cpu_seconds: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not a Unix
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + cpu_seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _address_space() -> int | None:
    """This process's virtual memory size in bytes (Linux), or None."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            pages = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")
