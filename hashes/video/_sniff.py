"""Which container a video's bytes are, from their magic numbers alone.

FFmpeg's own probing scores every demuxer it has, playlists (HLS, concat) and image
sequences included, some of which open further files or URLs. We recognise the few
containers that carry video attachments and then force that demuxer.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEMUXERS", "looks_like_video", "sniff_container"]

DEMUXERS: Final = {
    "mp4": "mov",  # FFmpeg's "mov,mp4,m4a,3gp,3g2,mj2" demuxer
    "matroska": "matroska",  # also WebM
    "avi": "avi",
    "mpegts": "mpegts",
    "flv": "flv",
    "ogg": "ogg",
}
"""Our container name -> the FFmpeg demuxer forced for it."""

_MP4_BOXES: Final = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"})
_TS_PACKET: Final = 188


def sniff_container(data: bytes) -> str | None:
    """The container of ``data`` (a key of :data:`DEMUXERS`), or None if unrecognised."""
    head = data[:12]
    if len(head) >= 8 and head[4:8] in _MP4_BOXES:
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"OggS"):
        return "ogg"
    if len(data) >= 2 * _TS_PACKET and all(
        data[i] == 0x47 for i in range(0, min(len(data), 4 * _TS_PACKET), _TS_PACKET)
    ):
        return "mpegts"
    return None


def looks_like_video(data: bytes) -> bool:
    """Whether ``data`` starts like a video container that :mod:`hashes.video` reads
    (a cheap check on the magic bytes; decoding may still refuse it)."""
    return sniff_container(data) is not None
