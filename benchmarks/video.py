"""Video hashing: cost (seconds of video hashed per CPU second) and recall under edits.

    .venv/bin/python benchmarks/video.py [--seconds 20] [--rounds 5] [--recall-only]

(a) cost. One synthetic phone-like video (``--seconds`` of 640x360 H.264 at 30 fps, a
    panning slide show of scikit-image's photographs) is hashed, interleaved, ``--rounds``
    times each by:

    - ``decode``: PyAV demuxing and decoding every frame, nothing else (the floor: vPDQ
      must decode every frame, since each depends on the ones before);
    - ``frankly``: :func:`hashes.video.hash_video` (decode, RGB conversion and PDQ of one
      frame a second, MD5 and SHA-256 of the file);
    - ``vpdq``: the reference ``vpdq`` package (ThreatExchange's C++ through Cython,
      built against Debian's FFmpeg), ``vpdq.computeHash`` on the same bytes in a file,
      when it is installed (the bench extra; ``make bench``).

    Each figure is seconds of video per second of this process's CPU time
    (``time.process_time``, all threads), printed min / median / max, and as a ratio to
    ``decode`` measured in the same run. Then, where ``vpdq`` runs: the frames it chose,
    their hashes and qualities compared with ours, and its match decision against ours
    for the recall set below.

(b) recall. Twelve 12-second videos (three shots each, a different quarter of a
    photograph for every shot, panning slowly, 256x192 at 10 fps), each edited twelve
    ways; an edit is found when :func:`hashes.video.match_video` of the
    edited video against its original says ``matched`` (HMA's defaults: distance 31,
    quality 50, query-match 80 %, compared-match 0 %). False matches: every edited video
    against every other original. Where ``vpdq`` runs, the same edited and original files
    are hashed by it too: identical frame features (number, quality, hash) and the same
    match decision.

Test data is made here with PyAV from the photographs bundled with scikit-image; nothing
is downloaded.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._photos import photograph_paths
from hashes.video import VideoHash, VideoLimits, hash_video, match_video
from hashes.video._decode import decode_frames, open_video
from hashes.video.variants import (
    DEVICE_VIDEO_VARIANTS,
    SERVICE_VIDEO_VARIANTS,
    VideoVariantPolicy,
    VideoVariants,
    hash_video_variants,
    match_video_variants,
)

POLICIES: dict[str, VideoVariantPolicy] = {
    "+dihedral": VideoVariantPolicy(dihedral=True),
    "+mirror": VideoVariantPolicy(dihedral=False, mirror=True),
    "+trim": VideoVariantPolicy(dihedral=False, trim=True),
    "+phases 2": VideoVariantPolicy(dihedral=False, phases=2),
    "+phases 4": VideoVariantPolicy(dihedral=False, phases=4),
    "device default": DEVICE_VIDEO_VARIANTS,
    "service default": SERVICE_VIDEO_VARIANTS,
    "all (phases 4)": VideoVariantPolicy(dihedral=True, mirror=True, trim=True, phases=4),
}
"""The query-variant settings measured (:mod:`hashes.video.variants`)."""

Frames = list[np.ndarray[Any, np.dtype[np.uint8]]]


def _photos() -> list[Image.Image]:
    return [Image.open(p).convert("RGB") for p in photograph_paths()]


def _shots() -> list[Image.Image]:
    """Non-overlapping quarters of the photographs, quarter-major (every photograph's
    top-left quarter first), so that no two recall videos show the same content."""
    photos = _photos()
    shots = []
    for quarter in range(4):
        for photo in photos:
            w, h = photo.size
            x, y = (quarter % 2) * w // 2, (quarter // 2) * h // 2
            shots.append(photo.crop((x, y, x + w // 2, y + h // 2)))
    return shots


def slideshow(
    pictures: list[Image.Image], size: tuple[int, int], fps: int, seconds: float
) -> Frames:
    """Each picture for an equal share of ``seconds``, panning slowly across it."""
    per = max(1, round(fps * seconds / len(pictures)))
    w, h = size
    frames: Frames = []
    for picture in pictures:
        # A slow pan: 10 % of the picture over its time on screen.
        big = np.asarray(picture.resize((w + w // 10, h + h // 10), Image.Resampling.BILINEAR))
        for i in range(per):
            x = (i * (w // 10)) // per
            y = (i * (h // 10)) // per
            frames.append(np.ascontiguousarray(big[y : y + h, x : x + w]))
    return frames


def encode(
    frames: Frames, *, fps: int, container: str = "mp4", codec: str = "libx264", crf: int = 23
) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format=container) as c:
        stream = c.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        h, w = frames[0].shape[:2]
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": "veryfast"}
        else:
            stream.options = {"crf": str(crf), "b": "0", "deadline": "realtime"}
        for frame in frames:
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            for packet in stream.encode(picture.reformat(format="yuv420p", threads=1)):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
    return out.getvalue()


# --- (a) cost ---------------------------------------------------------------------------


def decode_only(data: bytes) -> int:
    limits = VideoLimits()
    opened = open_video(data, limits)
    try:
        return sum(1 for _ in decode_frames(opened, limits))
    finally:
        opened.close()


def reference_vpdq() -> Any | None:
    try:
        import vpdq  # type: ignore[import-not-found]  # bench extra, built from source
    except Exception as exc:
        print(f"reference vpdq not available: {type(exc).__name__}: {exc}")
        return None
    return vpdq


def vpdq_hash(vpdq: Any, path: Path) -> VideoHash:
    lines = [
        f"{f.frame_number},{f.quality},{f.hex},{f.timestamp:.3f}"
        for f in vpdq.computeHash(str(path))
    ]
    return VideoHash.from_vpdq("\n".join(lines))


def cpu_seconds(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def _letterbox(frames: Frames) -> Frames:
    h, w = frames[0].shape[:2]
    out: Frames = []
    for f in frames:
        canvas = np.zeros((h + h // 2, w, 3), np.uint8)
        canvas[h // 4 : h // 4 + h] = f
        out.append(canvas)
    return out


def _table(seconds: float, timings: dict[str, list[float]], base: str, label: str) -> None:
    reference = statistics.median(timings[base])
    print(f"{label:32} video s / CPU s: min / median / max   ratio to {base} (median)")
    for name, rates in timings.items():
        print(
            f"{name:32} {min(rates):8.1f} / {statistics.median(rates):8.1f} / "
            f"{max(rates):8.1f}   {statistics.median(rates) / reference:6.2f}x"
        )


def cost(seconds: float, rounds: int) -> None:
    photos = _photos()
    frames = slideshow(photos[:6], (640, 360), 30, seconds)
    data = encode(frames, fps=30)
    print(f"(a) cost: {seconds:g} s of 640x360 H.264 at 30 fps, {len(data) / 1e6:.2f} MB")
    vpdq = reference_vpdq()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "video.mp4"
        path.write_bytes(data)
        methods: dict[str, Callable[[], object]] = {
            "decode (PyAV, every frame)": lambda: decode_only(data),
            "frankly hash_video": lambda: hash_video(data),
        }
        if vpdq is not None:
            methods["reference vpdq.computeHash"] = lambda: vpdq.computeHash(str(path))
        for name, policy in POLICIES.items():
            methods[f"variants {name}"] = lambda p=policy: hash_video_variants(data, p)  # type: ignore[misc]
        timings: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(rounds):
            for name, work in methods.items():  # interleaved: a burst of load hits all
                timings[name].append(seconds / max(cpu_seconds(work), 1e-9))
        _table(seconds, timings, "decode (PyAV, every frame)", "")
        print("the same, as ratios to frankly hash_video (base vPDQ; below 1 = slower):")
        _table(seconds, timings, "frankly hash_video", "")
        if vpdq is not None:
            ours = hash_video(data)
            theirs = vpdq_hash(vpdq, path)
            compare(ours, theirs)
    # Trimming costs a second PDQ per hashed frame only when there is a border to trim.
    boxed = encode(_letterbox(frames), fps=30)
    print(f"\nthe same video letterboxed (640x540, 25 % bars), {len(boxed) / 1e6:.2f} MB")
    boxed_methods: dict[str, Callable[[], object]] = {
        "frankly hash_video": lambda: hash_video(boxed),
        "variants +trim": lambda: hash_video_variants(boxed, POLICIES["+trim"]),
        "variants device default": lambda: hash_video_variants(boxed, DEVICE_VIDEO_VARIANTS),
        "variants service default": lambda: hash_video_variants(boxed, SERVICE_VIDEO_VARIANTS),
    }
    boxed_timings: dict[str, list[float]] = {name: [] for name in boxed_methods}
    for _ in range(rounds):
        for name, work in boxed_methods.items():
            boxed_timings[name].append(seconds / max(cpu_seconds(work), 1e-9))
    _table(seconds, boxed_timings, "frankly hash_video", "")


def compare(ours: VideoHash, theirs: VideoHash) -> None:
    a = {f.frame_number: f for f in ours.frames}
    b = {f.frame_number: f for f in theirs.frames}
    same_frames = sorted(a) == sorted(b)
    common = sorted(set(a) & set(b))
    same_hash = sum(a[n].pdq == b[n].pdq for n in common)
    same_quality = sum(a[n].quality == b[n].quality for n in common)
    worst = max((a[n].pdq.distance(b[n].pdq) for n in common), default=0)
    print(
        f"vs reference: same frames chosen: {same_frames} ({len(a)} vs {len(b)}); "
        f"identical hashes {same_hash}/{len(common)}, qualities {same_quality}/{len(common)}, "
        f"largest distance {worst} bits"
    )


# --- (b) recall -------------------------------------------------------------------------


def edits(frames: Frames) -> dict[str, bytes]:
    h, w = frames[0].shape[:2]

    def each(fn: Callable[[np.ndarray[Any, np.dtype[np.uint8]]], Any]) -> Frames:
        return [np.ascontiguousarray(np.asarray(fn(f), dtype=np.uint8)) for f in frames]

    def resized(size: tuple[int, int]) -> Frames:
        return each(lambda f: Image.fromarray(f).resize(size, Image.Resampling.BILINEAR))

    def letterboxed(f: np.ndarray[Any, np.dtype[np.uint8]]) -> Any:
        canvas = np.zeros((h + h // 2, w, 3), np.uint8)
        canvas[h // 4 : h // 4 + h] = f
        return canvas

    def pillarboxed(f: np.ndarray[Any, np.dtype[np.uint8]]) -> Any:
        canvas = np.zeros((h, w + w // 2, 3), np.uint8)
        canvas[:, w // 4 : w // 4 + w] = f
        return canvas

    def logo(f: np.ndarray[Any, np.dtype[np.uint8]]) -> Any:
        g = f.copy()
        g[8:40, 8:72] = (255, 255, 255)
        return g

    def cropped(f: np.ndarray[Any, np.dtype[np.uint8]]) -> Any:
        dy, dx = h // 10, w // 10
        return Image.fromarray(f[dy : h - dy, dx : w - dx]).resize((w, h))

    n = len(frames)
    return {
        "re-encode H.264 crf 38": encode(frames, fps=10, crf=38),
        "re-encode VP9/WebM": encode(frames, fps=10, container="webm", codec="libvpx-vp9", crf=40),
        "resize to half": encode(resized((w // 2, h // 2)), fps=10),
        "resize up 1.5x": encode(resized((w * 3 // 2 // 2 * 2, h * 3 // 2 // 2 * 2)), fps=10),
        "clip: 40 %, on the 1 s grid": encode(frames[40 : 40 + n * 4 // 10], fps=10),
        "clip: 40 %, 0.5 s off grid": encode(frames[45 : 45 + n * 4 // 10], fps=10),
        "frame rate 10 -> 5 fps": encode(frames[::2], fps=5),
        "grayscale": encode(each(lambda f: np.repeat(f.mean(axis=2, keepdims=True), 3, 2)), fps=10),
        "logo in a corner": encode(each(logo), fps=10),
        "letterbox (25 % bars)": encode(each(letterboxed), fps=10),
        "pillarbox (25 % bars)": encode(each(pillarboxed), fps=10),
        "crop 10 % each side": encode(each(cropped), fps=10),
        "mirror (flip left-right)": encode(each(lambda f: f[:, ::-1]), fps=10),
        "mirror + letterbox": encode(each(lambda f: letterboxed(f[:, ::-1])), fps=10),
        "clip 0.5 s off grid, mirrored": encode(
            [np.ascontiguousarray(f[:, ::-1]) for f in frames[45 : 45 + n * 4 // 10]], fps=10
        ),
    }


def recall() -> None:
    shots = _shots()
    originals: list[VideoHash] = []
    edited: dict[str, list[VideoHash]] = {}
    queries: dict[str, list[VideoVariants]] = {}
    widest = POLICIES["all (phases 4)"]
    count = 12
    vpdq = reference_vpdq()
    agree = total = identical = frames_total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(count):
            chosen = shots[3 * k : 3 * k + 3]
            frames = slideshow(chosen, (256, 192), 10, 12.0)
            original = encode(frames, fps=10)
            originals.append(hash_video(original))
            for name, data in edits(frames).items():
                ours = hash_video(data)
                edited.setdefault(name, []).append(ours)
                variants = hash_video_variants(data, widest)
                assert variants.hash == ours, "the variants' vPDQ must be hash_video's"
                queries.setdefault(name, []).append(variants)
                if vpdq is None:
                    continue
                paths = [Path(tmp) / "a.mp4", Path(tmp) / "b.mp4"]
                paths[0].write_bytes(data)
                paths[1].write_bytes(original)
                theirs = [vpdq_hash(vpdq, p) for p in paths]
                frames_total += len(ours.frames)
                for a, b in zip(ours.frames, theirs[0].frames, strict=False):
                    same = (a.pdq, a.quality, a.frame_number) == (b.pdq, b.quality, b.frame_number)
                    identical += same
                    if not same:
                        print(
                            f"  differs: video {k} {name} frame {a.frame_number}/"
                            f"{b.frame_number} quality {a.quality}/{b.quality} distance "
                            f"{a.pdq.distance(b.pdq)}"
                        )
                if len(ours.frames) != len(theirs[0].frames):
                    print(
                        f"  differs: video {k} {name}: {len(ours.frames)} frames vs "
                        f"{len(theirs[0].frames)}"
                    )
                total += 1
                agree += (
                    match_video(theirs[0], theirs[1]).matched
                    == match_video(ours, originals[-1]).matched
                )
    print(
        f"(b) recall: {count} videos (12 s, 256x192, 10 fps, 3 distinct shots each, slow pan) "
        f"x {len(edited)} edits; HMA defaults (distance 31, quality 50, query 80 %)"
    )
    if vpdq is not None:
        print(
            f"reference vpdq on the same files: identical frame features {identical}/"
            f"{frames_total}; same match decision {agree}/{total}"
        )
    print(f"{'edit':30} found   query-match % (median)   false matches")
    for name, videos in edited.items():
        found = [match_video(v, originals[i]) for i, v in enumerate(videos)]
        hits = sum(m.matched for m in found)
        false = sum(
            match_video(v, o).matched
            for i, v in enumerate(videos)
            for j, o in enumerate(originals)
            if i != j
        )
        median = statistics.median(m.query_match_percent for m in found)
        print(
            f"{name:30} {hits:2d}/{count}   {median:6.1f}                  "
            f"{false}/{count * (count - 1)}"
        )
    print()
    print(
        "with query variants (hashes.video.variants; found / false matches in "
        f"{count * (count - 1)} comparisons per edit)"
    )
    columns = ["base vPDQ", *POLICIES]
    print(f"{'edit':30} " + " ".join(f"{c:>16}" for c in columns))
    totals = {c: [0, 0] for c in columns}
    for name, hashed in queries.items():
        cells = []
        for label in columns:
            policy = POLICIES.get(label) or VideoVariantPolicy(dihedral=False)
            narrowed = [restrict(v, policy) for v in hashed]
            results = [match_video_variants(v, originals[i]) for i, v in enumerate(narrowed)]
            hits = sum(r.match.matched for r in results)
            false = sum(
                match_video_variants(v, o).match.matched
                for i, v in enumerate(narrowed)
                for j, o in enumerate(originals)
                if i != j
            )
            totals[label][0] += hits
            totals[label][1] += false
            cells.append(f"{hits:2d}/{count} {false:3d}F")
        print(f"{name:30} " + " ".join(f"{c:>16}" for c in cells))
    per_edit = count * (count - 1)
    print(
        f"{'total':30} "
        + " ".join(f"{f'{h}/{count * len(queries)} {f}F':>16}" for h, f in totals.values())
        + f"   (false matches in {per_edit * len(queries)} comparisons)"
    )


def restrict(variants: VideoVariants, policy: VideoVariantPolicy) -> VideoVariants:
    """The variants that ``policy`` would have made, out of a wider policy's (the phase
    grids of ``phases=2`` are among those of ``phases=4``)."""
    phases = {
        f"phase{k // np.gcd(k, policy.phases)}/{policy.phases // np.gcd(k, policy.phases)}"
        for k in range(1, policy.phases)
    }

    def keep(name: str) -> bool:
        parts = name.split("+")
        if "trimmed" in parts and not policy.trim:
            return False
        if "mirrored" in parts and not policy.mirror:
            return False
        if any(p.startswith("phase") and p not in phases for p in parts):
            return False
        shape = [p for p in parts if p not in ("trimmed", "mirrored") and "phase" not in p]
        return not shape or shape == ["original"] or policy.dihedral

    kept = {n: f for n, f in variants.variants.items() if keep(n)}
    return VideoVariants(variants.hash, kept, variants.border)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the cost video")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--recall-only", action="store_true", help="skip (a)")
    args = parser.parse_args()
    if not args.recall_only:
        cost(args.seconds, args.rounds)
        print()
    recall()


if __name__ == "__main__":
    main()
