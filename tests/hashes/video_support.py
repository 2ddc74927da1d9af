"""Test videos, made at test time with PyAV from the PDQ test photographs (deterministic:
same PyAV wheel, same bytes), and the edits the video docs measure recall for.

A "scene" video shows each photograph for ``seconds_each`` seconds, with a slow pan so that
neighbouring frames differ. Edits re-encode, resize, letterbox, crop in time (a clip),
change the frame rate or the codec.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "pdq" / "bridge-mods"
MISC = Path(__file__).resolve().parents[1] / "data" / "pdq" / "misc-images"
ROTATED = Path(__file__).resolve().parents[1] / "data" / "pdq" / "reg-test-input" / "dih"

Frames = list[npt.NDArray[np.uint8]]


def photographs() -> list[Image.Image]:
    """Distinct test photographs (RGB)."""
    paths = [PHOTOS / "aaa-orig.jpg", MISC / "c.png", ROTATED / "bridge-4-rotate-270.jpg"]
    return [Image.open(path).convert("RGB") for path in paths]


def scene_frames(
    *, fps: int = 10, seconds_each: float = 2.0, size: tuple[int, int] = (160, 120)
) -> Frames:
    """Frames of a slide show of :func:`photographs`, each panned slowly."""
    frames: Frames = []
    per = round(fps * seconds_each)
    for picture in photographs():
        big = picture.resize((size[0] + per, size[1] + per // 2), Image.Resampling.BILINEAR)
        array = np.asarray(big)
        for i in range(per):
            x, y = i, i // 2
            frames.append(np.ascontiguousarray(array[y : y + size[1], x : x + size[0]]))
    return frames


def pattern_frames(count: int, size: tuple[int, int] = (64, 48)) -> Frames:
    """Synthetic moving stripes."""
    w, h = size
    out: Frames = []
    for i in range(count):
        a = np.zeros((h, w, 3), np.uint8)
        xs = (np.arange(w) + 3 * i) % 16 < 8
        a[:, xs] = (230, 200, 40)
        a[(np.arange(h) + i) % 12 < 4] //= 2
        out.append(a)
    return out


def encode(
    frames: Sequence[npt.NDArray[np.uint8]],
    *,
    fps: int | Fraction = 10,
    container: str = "mp4",
    codec: str = "libx264",
    crf: int = 23,
    audio: bool = False,
) -> bytes:
    """Encode RGB frames (all the same size) into a video file in memory."""
    out = io.BytesIO()
    with av.open(out, "w", format=container) as c:
        stream = c.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        h, w = frames[0].shape[:2]
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        # One encoder thread: with more, x264 sometimes writes other bytes for the same
        # frames, and the tests need the same video every time.
        stream.codec_context.thread_count = 1
        stream.codec_context.thread_type = "SLICE"
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1"}
        elif codec in ("libvpx", "libvpx-vp9"):
            stream.options = {"crf": str(crf), "b": "0", "threads": "1", "deadline": "realtime"}
        else:
            stream.options = {"qscale": str(max(2, crf // 6)), "threads": "1"}
        sound = c.add_stream("aac", rate=8000) if audio else None
        assert sound is None or isinstance(sound, av.AudioStream)
        for frame in frames:
            # Converted here on one thread (PyAV's automatic conversion may use several).
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture = picture.reformat(format="yuv420p", threads=1)
            for packet in stream.encode(picture):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
        if sound is not None:
            samples = np.zeros((1, 1024), dtype=np.float32)
            tone = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            tone.sample_rate = 8000
            for packet in sound.encode(tone):
                c.mux(packet)
            for packet in sound.encode():
                c.mux(packet)
    return out.getvalue()


def resize(frames: Frames, size: tuple[int, int]) -> Frames:
    return [np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR)) for f in frames]


def letterbox(frames: Frames, bar: int) -> Frames:
    """Black bars of ``bar`` pixels above and below."""
    out: Frames = []
    for f in frames:
        h, w = f.shape[:2]
        canvas = np.zeros((h + 2 * bar, w, 3), np.uint8)
        canvas[bar : bar + h] = f
        out.append(canvas)
    return out


def every_other(frames: Frames) -> Frames:
    return frames[::2]


def conformance_videos() -> dict[str, bytes]:
    """The videos whose frames ``tests/vectors/video/frames.csv`` pins."""
    scene = scene_frames()
    return {
        "scene-h264.mp4": encode(scene),
        "scene-vp9.webm": encode(scene, container="webm", codec="libvpx-vp9", crf=40),
        "scene-mpeg4.avi": encode(scene, container="avi", codec="mpeg4"),
        "pattern-h264-30fps.mp4": encode(pattern_frames(45), fps=30),
    }
