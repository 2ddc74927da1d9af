"""Decoding a video's first video stream with PyAV (FFmpeg's libraries, in process, from
bytes in memory), under :class:`~hashes.video.limits.VideoLimits`.

The order of checks, each before the allocation it guards:

1. size of the input (:class:`~hashes.errors.TooManyBytes`), then its container, from
   the magic bytes (:class:`~hashes.errors.UnsupportedFormat`); the demuxer is forced;
2. after the demuxer read the headers: number of streams
   (:class:`~hashes.errors.TooManyStreams`), a video stream with an allowed codec,
   declared width x height (:class:`~hashes.errors.TooManyPixels`; FFmpeg's probing
   decoders already run with ``max_pixels``, so a larger frame is never allocated even
   while the headers are read), declared duration
   (:class:`~hashes.errors.VideoTooLong`) and frame count
   (:class:`~hashes.errors.TooManyFrames`), and a frame rate;
3. the decoder is opened with FFmpeg's own ``max_pixels`` (it then refuses any frame,
   including a mid-stream resolution change, larger than the limit before allocating
   it) and one thread;
4. while decoding, after every frame: frame count, the frame's timestamp, the sum of
   decoded pixels (:class:`~hashes.errors.TooManyDecodedPixels`) and wall-clock time
   (:class:`~hashes.errors.DecodeTimeout`, read from the ``clock`` passed in).

Any FFmpeg error is :class:`~hashes.errors.CorruptVideo`. Audio and other streams are
discarded by the demuxer, never decoded.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from hashes.errors import (
    CorruptVideo,
    DecodeTimeout,
    EmptyInput,
    TooManyBytes,
    TooManyDecodedPixels,
    TooManyFrames,
    TooManyPixels,
    TooManyStreams,
    UnsupportedFormat,
    VideoTooLong,
)
from hashes.video._sniff import DEMUXERS, sniff_container
from hashes.video.limits import VideoLimits

__all__ = ["DecodedFrame", "VideoInfo", "decode_frames", "open_video"]

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the container declares about the first video stream, once checked."""

    container: str
    codec: str
    width: int
    height: int
    fps: float
    duration_s: float | None
    declared_frames: int | None


@dataclass(frozen=True, slots=True, eq=False)
class DecodedFrame:
    """One decoded frame: its number in decoding order (from 0, as vpdq counts), its
    presentation time in seconds from the stream's start (None when the stream has none)
    and the PyAV frame."""

    number: int
    time_s: float | None
    frame: Any  # av.VideoFrame

    def rgb(self, width: int | None = None, height: int | None = None) -> npt.NDArray[np.uint8]:
        """The frame as an ``H x W x 3`` uint8 RGB array, converted as vpdq converts it
        (swscale, area filter, BT.601 coefficients), at ``width`` x ``height`` (default:
        the frame's own size; vpdq scales every frame to the size the stream declared, so
        a stream that changes resolution midway is hashed at its first size)."""
        array: npt.NDArray[np.uint8] = self.frame.to_ndarray(
            width=width,
            height=height,
            format="rgb24",
            interpolation="AREA",
            src_colorspace="ITU601",
            dst_colorspace="ITU601",
            threads=1,  # deterministic, and no thread stacks in the sandbox's address space
        )
        return np.ascontiguousarray(array)


class _Opened:
    """An open container and its checked first video stream; close it when done."""

    def __init__(self, container: Any, stream: Any, info: VideoInfo) -> None:
        self.container = container
        self.stream = stream
        self.info = info

    def close(self) -> None:
        self.container.close()


def _av() -> Any:
    import av

    return av


def open_video(data: bytes, limits: VideoLimits) -> _Opened:
    """Open ``data`` and check what its container declares against ``limits``.

    Raises:
        EmptyInput: zero bytes.
        TooManyBytes: more than ``limits.max_bytes``.
        UnsupportedFormat: not a container we read, no video stream, or a codec outside
            ``limits.codecs``.
        TooManyStreams, TooManyPixels, VideoTooLong, TooManyFrames: declared over a limit.
        CorruptVideo: the demuxer fails, or the frame rate is missing.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UnsupportedFormat("a video must be given as bytes")
    if len(data) == 0:
        raise EmptyInput("the video has zero bytes")
    if len(data) > limits.max_bytes:
        raise TooManyBytes(f"the video has {len(data)} bytes, more than {limits.max_bytes}")
    if not isinstance(data, bytes):
        data = bytes(data)
    kind = sniff_container(data)
    if kind is None or kind not in limits.containers:
        raise UnsupportedFormat("not a video container we read (MP4, Matroska/WebM, AVI, ...)")
    av = _av()
    try:
        container = av.open(
            io.BytesIO(data),
            mode="r",
            format=DEMUXERS[kind],
            options={"max_pixels": str(limits.max_frame_pixels)},
            container_options={"probesize": str(min(len(data), 5 * 1024 * 1024))},
            metadata_errors="replace",
        )
    except _LIBRARY_ERRORS(av) as exc:
        raise CorruptVideo(f"the {kind} container cannot be read: {_why(exc)}") from None
    try:
        stream, info = _check(container, kind, limits)
    except _LIBRARY_ERRORS(av, AttributeError, TypeError) as exc:
        container.close()
        raise CorruptVideo(
            f"the {kind} container's video stream is malformed: {_why(exc)}"
        ) from None
    except BaseException:
        container.close()
        raise
    return _Opened(container, stream, info)


def _check(container: Any, kind: str, limits: VideoLimits) -> tuple[Any, VideoInfo]:
    streams = container.streams
    if len(streams) > limits.max_streams:
        raise TooManyStreams(
            f"the container has {len(streams)} streams, more than {limits.max_streams}"
        )
    if not streams.video:
        raise UnsupportedFormat("the container has no video stream")
    stream = streams.video[0]
    av = _av()
    for other in streams:
        if other is not stream:
            other.discard = av.stream.Discard.all  # the demuxer drops their packets
    context = stream.codec_context
    if context is None:
        raise UnsupportedFormat("the video stream's codec has no decoder")
    codec = str(context.name)
    if codec not in limits.codecs:
        raise UnsupportedFormat(f"video codec {codec!r} is not allowed")
    width, height = int(context.width or 0), int(context.height or 0)
    if width <= 0 or height <= 0:
        # FFmpeg's probing decoders run under max_pixels too: a stream whose frames are
        # larger is refused there, before its first frame is allocated, and is left with
        # no size. Every codec we allow declares one, so a missing size means this.
        raise TooManyPixels(
            "the video stream has no frame size within the limit of "
            f"{limits.max_frame_pixels} pixels (refused while probing, before allocation)"
        )
    if width * height > limits.max_frame_pixels:
        raise TooManyPixels(
            f"frames of {width}x{height} are more than {limits.max_frame_pixels} pixels"
        )
    duration = _duration_s(container, stream)
    if duration is not None and duration > limits.max_duration_s:
        raise VideoTooLong(
            f"the video declares {duration:.0f} s, more than {limits.max_duration_s:g} s"
        )
    declared = int(stream.frames or 0) or None
    if declared is not None and declared > limits.max_frames:
        raise TooManyFrames(f"the video declares {declared} frames, more than {limits.max_frames}")
    fps = _frame_rate(stream)
    if fps is None:
        raise CorruptVideo("the video stream declares no frame rate")
    # One thread: deterministic, and no per-thread stacks against the sandbox's memory.
    context.thread_type = "SLICE"
    context.thread_count = 1
    context.options = {"max_pixels": str(limits.max_frame_pixels)}
    info = VideoInfo(kind, codec, width, height, fps, duration, declared)
    return stream, info


def _frame_rate(stream: Any) -> float | None:
    """The stream's average frame rate, else its base (``r_frame_rate``), as vpdq reads it."""
    for rate in (stream.average_rate, stream.base_rate):
        if isinstance(rate, Fraction) and rate.numerator > 0 and rate.denominator > 0:
            return float(rate)
    return None


def _duration_s(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / 1_000_000
    return None


def decode_frames(
    opened: _Opened, limits: VideoLimits, *, clock: Clock = time.monotonic
) -> Iterator[DecodedFrame]:
    """Every frame of the first video stream, in decoding order, under ``limits``.

    Raises:
        TooManyFrames, VideoTooLong, TooManyPixels, TooManyDecodedPixels: a limit was
            reached while decoding (the frame past it is never returned).
        DecodeTimeout: ``limits.max_wall_s`` passed (checked between packets and frames).
        CorruptVideo: FFmpeg could not demux or decode a packet.
    """
    av = _av()
    start = clock()
    stream = opened.stream
    count = 0
    pixels = 0
    # Timestamps count from the stream's start (MPEG-TS clocks start anywhere in 26 hours).
    start_s = 0.0
    if stream.start_time is not None and stream.time_base is not None:
        start_s = float(stream.start_time * stream.time_base)
    packets: Iterator[Any] = opened.container.demux(stream)
    try:
        while True:
            if clock() - start > limits.max_wall_s:
                raise DecodeTimeout(f"decoding took longer than {limits.max_wall_s:g} s")
            try:
                # PyAV's demuxer ends with an empty packet that flushes the decoder.
                packet = next(packets, None)
                if packet is None:
                    return
                frames = stream.decode(packet)
            except av.error.EOFError:
                return
            except _LIBRARY_ERRORS(av) as exc:
                raise CorruptVideo(f"the video stream cannot be decoded: {_why(exc)}") from None
            for frame in frames:
                if count >= limits.max_frames:
                    raise TooManyFrames(f"the video has more than {limits.max_frames} frames")
                area = int(frame.width) * int(frame.height)
                if area > limits.max_frame_pixels:
                    raise TooManyPixels(
                        f"a frame of {frame.width}x{frame.height} is more than "
                        f"{limits.max_frame_pixels} pixels"
                    )
                pixels += area
                if pixels > limits.max_decoded_pixels:
                    raise TooManyDecodedPixels(
                        f"the frames add up to more than {limits.max_decoded_pixels} pixels"
                    )
                when = float(frame.time) - start_s if frame.time is not None else None
                if when is not None and when > limits.max_duration_s:
                    raise VideoTooLong(f"the video runs past {limits.max_duration_s:g} s")
                if clock() - start > limits.max_wall_s:
                    raise DecodeTimeout(f"decoding took longer than {limits.max_wall_s:g} s")
                yield DecodedFrame(count, when, frame)
                count += 1
    finally:
        close = getattr(packets, "close", None)
        if close is not None:
            close()


def _LIBRARY_ERRORS(av: Any, *more: type[Exception]) -> tuple[type[Exception], ...]:
    """What PyAV raises for bad input: FFmpeg's errors, and Python's for malformed
    metadata or values out of range (and ``more``)."""
    return (av.error.FFmpegError, UnicodeError, ValueError, OverflowError, IndexError, *more)


def _why(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    return text[:200]
