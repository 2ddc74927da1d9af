"""The signed hash-list file format, versions 1 and 2: building, encoding and parsing.

A list file is ``body || trailer``. The body is everything the digest covers; the trailer
carries the digest and the curators' signatures. The exact byte layout is documented in
``docs/lists.md``; in short (integers big-endian)::

    body    = "FRKLIST\\n" u16 format_version (1; 2 with videos)  u16 flags
              lp8(algorithm) u16 bits  u16 threshold  u64 count  u64 version
              u64 issued_at_ms  lp16(list_id)
              lp8(previous_digest)  u16 ncategories  ncategories * lp8(category)
              [if flags & 4: u64 expires_at_ms]
              [if flags & 8: u32 length, then the manifest (UTF-8 JSON, at most 64 KiB)]
              count * hash (bits/8 bytes each)
              count * u16 category index
              [if flags & 1: (count + 1) * u32 id offsets, then the UTF-8 id bytes]
              [if flags & 2: the video section (format version 2 only), see
               :class:`VideoEntries`]
    trailer = "FRKSIG\\n\\0" digest (32 bytes, SHA-256 of body) u16 nsig
              nsig * (public key 32 bytes || Ed25519 signature 64 bytes)

A list without video entries is written as format version 1, byte for byte as before, so
every existing signed list still parses and verifies; a list with video entries sets flag
bit 1 and is written as format version 2, which older readers refuse ("unsupported list
format version 2") rather than misread.

Parsing never creates a Python object per entry: hashes, category indices and id offsets
are ``np.frombuffer`` views of the file's bytes. Nothing here checks signatures or trust;
:func:`hashes.lists.trust.load_list` does that on top of :func:`parse_list`.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from hashes.errors import AlgorithmMismatch, ListFormatError, ListTruncated
from hashes.values import Algorithm, HashValue

if TYPE_CHECKING:
    from hashes.video.vpdq import VideoHash

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "SIGNATURE_MAGIC",
    "VIDEO_FORMAT_VERSION",
    "HashList",
    "ListEntry",
    "ListHeader",
    "ListSignature",
    "VideoEntries",
    "build_list",
    "build_video_entries",
    "encode_body",
    "encode_list",
    "parse_list",
    "peek_list_id",
    "with_expiry",
]

MAGIC = b"FRKLIST\n"
SIGNATURE_MAGIC = b"FRKSIG\n\x00"
FORMAT_VERSION = 1
VIDEO_FORMAT_VERSION = 2
FLAG_ENTRY_IDS = 0x0001
FLAG_VIDEOS = 0x0002
# Bit 2 (0x0004): the header ends with a u64 expires_at_ms. Bit 1 is left to the video
# section. A list without an expiry is byte for byte what it was before the field existed,
# so every list signed before still parses and verifies; an older reader refuses a list
# with the bit set ("unknown flags") rather than ignoring its expiry.
FLAG_EXPIRES = 0x0004
# Bit 3 (0x0008): the header ends with a length-prefixed manifest, e.g. the sources of an
# intersection (hashes.lists.intersect), covered by the digest like every header field.
FLAG_MANIFEST = 0x0008
MAX_MANIFEST_BYTES = 65536
_KNOWN_FLAGS = FLAG_ENTRY_IDS | FLAG_VIDEOS | FLAG_EXPIRES | FLAG_MANIFEST
DIGEST_SIZE = 32
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
MAX_LIST_ID_BYTES = 255
MAX_CATEGORY_BYTES = 255
MAX_CATEGORIES = 65535
MAX_ENTRY_ID_BYTES = 255
# Every signature costs an Ed25519 verification on load; a cap keeps a hostile file from
# making loading slow.
MAX_SIGNATURES = 64
_U64_MAX = 2**64 - 1

_FIXED = struct.Struct(">HH")  # format_version, flags
# video section: count, total frames, distance threshold, quality cut-off, query-match
# and compared-match percentages
_VIDEO_NUMBERS = struct.Struct(">QQHBBB")
PDQ_BYTES = 32
MD5_BYTES = 16
SHA256_BYTES = 32
_NUMBERS = struct.Struct(">HHQQQ")  # bits, threshold, count, version, issued_at_ms

U8Array = npt.NDArray[np.uint8]
U16Array = npt.NDArray[np.uint16]
U32Array = npt.NDArray[np.uint32]


@dataclass(frozen=True, slots=True)
class ListHeader:
    """What a list says about itself; every field is covered by the digest.

    ``categories`` is the table that entries index into. ``previous_digest`` is the digest
    of the version this one replaces, or ``None`` for the first version of a list.
    ``expires_at_ms`` is when holders must stop accepting this version (milliseconds since
    the epoch, after ``issued_at_ms``), or ``None`` for a list that never expires (every
    list made before the field existed; see docs/lists.md, "Expiry"). ``manifest`` is
    signed metadata about how the list was made (UTF-8 JSON; an intersection names its
    sources), or ``None``.
    """

    list_id: str
    version: int
    issued_at_ms: int
    algorithm: Algorithm
    bits: int
    threshold: int
    categories: tuple[str, ...]
    previous_digest: bytes | None
    count: int
    expires_at_ms: int | None = None
    manifest: bytes | None = None


@dataclass(frozen=True, slots=True)
class ListSignature:
    """One curator's Ed25519 signature over a list digest, with the key that made it."""

    public_key: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One entry of a list, materialised on demand by :meth:`HashList.entry`."""

    hash: HashValue
    category: str
    entry_id: str | None


@dataclass(frozen=True, eq=False)
class VideoEntries:
    """The video entries of a list (format version 2): one vPDQ hash per video, in columns.

    Video ``i`` has frames ``frame_offsets[i]:frame_offsets[i + 1]`` of the frame columns
    (``frames`` ``uint8 [F, 32]`` PDQ, ``qualities`` ``uint8 [F]``, ``frame_numbers`` and
    ``timestamps_ms`` ``uint32 [F]``), a category (index into the list's categories), the
    file's MD5 and SHA-256 (all zero bytes when not known, e.g. imported from a vpdq
    file) and an optional id. The matching policy travels with the list: a query matches
    a video when at least ``query_match_percent`` of its usable frames (quality at least
    ``quality_threshold``) have a frame of the video within ``distance_threshold`` bits,
    and at least ``compared_match_percent`` of the video's usable frames have one in the
    query (:func:`hashes.video.match_video`).
    """

    distance_threshold: int
    quality_threshold: int
    query_match_percent: int
    compared_match_percent: int
    categories: U16Array
    frame_offsets: U32Array
    frames: U8Array
    qualities: U8Array
    frame_numbers: U32Array
    timestamps_ms: U32Array
    md5: U8Array
    sha256: U8Array
    id_offsets: U32Array
    id_blob: bytes = b""

    def __len__(self) -> int:
        return int(self.categories.shape[0])

    def entry_id(self, i: int) -> str | None:
        """The id of video ``i`` (None when empty)."""
        self._check_index(i)
        start, end = int(self.id_offsets[i]), int(self.id_offsets[i + 1])
        return self.id_blob[start:end].decode("utf-8") if end > start else None

    def video(self, i: int) -> VideoHash:
        """Video ``i`` as a :class:`hashes.video.VideoHash` (frames, MD5, SHA-256)."""
        from hashes.video.vpdq import VideoHash, VpdqFrame

        self._check_index(i)
        start, end = int(self.frame_offsets[i]), int(self.frame_offsets[i + 1])
        frames = tuple(
            VpdqFrame(
                int(self.frame_numbers[k]),
                int(self.qualities[k]),
                HashValue(Algorithm.PDQ, self.frames[k].tobytes()),
                int(self.timestamps_ms[k]) / 1000,
            )
            for k in range(start, end)
        )
        md5, sha256 = self.md5[i].tobytes(), self.sha256[i].tobytes()
        return VideoHash(
            frames,
            md5=HashValue(Algorithm.MD5, md5) if any(md5) else None,
            sha256=HashValue(Algorithm.SHA256, sha256) if any(sha256) else None,
        )

    def _check_index(self, i: int) -> None:
        if not 0 <= i < len(self):
            raise IndexError(f"video {i} out of range for {len(self)} videos")


def build_video_entries(
    videos: Sequence[VideoHash],
    entry_categories: Sequence[int],
    entry_ids: Sequence[str | None] | None = None,
    *,
    distance_threshold: int = 31,
    quality_threshold: int = 50,
    query_match_percent: int = 80,
    compared_match_percent: int = 0,
) -> VideoEntries:
    """Columns for the video section of a list, from vPDQ hashes (frames kept in order,
    timestamps rounded to milliseconds as in vpdq's text format).

    Raises:
        ListFormatError: a threshold out of range, a frame number or timestamp past
            2**32 - 1, a category index not a non-negative integer, or a mismatched
            number of categories or ids.
    """
    count = len(videos)
    if len(entry_categories) != count:
        raise ListFormatError(f"need one category index per video ({count})")
    for value, top, what in (
        (distance_threshold, 256, "the video distance threshold"),
        (quality_threshold, 100, "the video quality threshold"),
        (query_match_percent, 100, "the query-match percentage"),
        (compared_match_percent, 100, "the compared-match percentage"),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise ListFormatError(f"{what} must be an integer in 0..{top}")
    cats = np.asarray(list(entry_categories), dtype=np.int64).reshape(count)
    if count and cats.min() < 0:
        raise ListFormatError("category indices must be non-negative integers")
    if count and cats.max() > 0xFFFF:
        raise ListFormatError("a category index is out of range of the categories table")
    frames = [f for v in videos for f in v.frames]
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum([len(v.frames) for v in videos], out=offsets[1:])
    if offsets[-1] >= 2**32:
        raise ListFormatError("more than 2**32 - 1 video frames")
    numbers = [f.frame_number for f in frames]
    stamps = [round(f.timestamp * 1000) for f in frames]
    if any(n >= 2**32 for n in numbers) or any(t >= 2**32 for t in stamps):
        raise ListFormatError("a video frame number or timestamp is past 2**32 - 1")
    ids, blob = _encode_ids(entry_ids if entry_ids is not None else [None] * count, count)
    if ids is None:  # never: a list of ids was passed
        raise ListFormatError("video ids could not be encoded")
    zero_md5, zero_sha = bytes(MD5_BYTES), bytes(SHA256_BYTES)
    return VideoEntries(
        distance_threshold=distance_threshold,
        quality_threshold=quality_threshold,
        query_match_percent=query_match_percent,
        compared_match_percent=compared_match_percent,
        categories=_readonly(cats.astype(np.uint16)),
        frame_offsets=_readonly(offsets.astype(np.uint32)),
        frames=_readonly(
            np.frombuffer(b"".join(f.pdq.digest for f in frames), dtype=np.uint8).reshape(
                len(frames), PDQ_BYTES
            )
        ),
        qualities=_readonly(np.asarray([f.quality for f in frames], dtype=np.uint8)),
        frame_numbers=_readonly(np.asarray(numbers, dtype=np.uint32)),
        timestamps_ms=_readonly(np.asarray(stamps, dtype=np.uint32)),
        md5=_readonly(
            np.frombuffer(
                b"".join(v.md5.digest if v.md5 else zero_md5 for v in videos), dtype=np.uint8
            ).reshape(count, MD5_BYTES)
        ),
        sha256=_readonly(
            np.frombuffer(
                b"".join(v.sha256.digest if v.sha256 else zero_sha for v in videos),
                dtype=np.uint8,
            ).reshape(count, SHA256_BYTES)
        ),
        id_offsets=ids,
        id_blob=blob,
    )


def _encode_videos(videos: VideoEntries) -> bytes:
    return b"".join(
        [
            _VIDEO_NUMBERS.pack(
                len(videos),
                int(videos.frames.shape[0]),
                videos.distance_threshold,
                videos.quality_threshold,
                videos.query_match_percent,
                videos.compared_match_percent,
            ),
            videos.categories.astype(">u2").tobytes(),
            videos.frame_offsets.astype(">u4").tobytes(),
            np.ascontiguousarray(videos.frames).tobytes(),
            videos.qualities.tobytes(),
            videos.frame_numbers.astype(">u4").tobytes(),
            videos.timestamps_ms.astype(">u4").tobytes(),
            np.ascontiguousarray(videos.md5).tobytes(),
            np.ascontiguousarray(videos.sha256).tobytes(),
            videos.id_offsets.astype(">u4").tobytes(),
            videos.id_blob,
        ]
    )


@dataclass(frozen=True, eq=False)
class HashList:
    """A parsed or freshly built list: a header and column arrays, one row per entry.

    ``hashes`` is a read-only ``uint8`` array ``[count, bits // 8]`` of big-endian packed
    hashes; ``categories`` a ``uint16`` array of indices into ``header.categories``. Entry
    ids, when the list has them, are kept as one UTF-8 blob plus ``count + 1`` offsets, so
    a million entries cost no million strings; read one with :meth:`entry_id`. ``digest``
    is the SHA-256 of the canonical unsigned body. ``signatures`` are those the file
    carried; nothing in this class says whether they are valid or trusted.
    """

    header: ListHeader
    hashes: U8Array
    categories: U16Array
    digest: bytes
    id_offsets: U32Array | None = None
    id_blob: bytes = b""
    signatures: tuple[ListSignature, ...] = field(default=())
    videos: VideoEntries | None = None

    def __len__(self) -> int:
        return self.header.count

    @property
    def has_entry_ids(self) -> bool:
        """Whether the list carries an id per entry."""
        return self.id_offsets is not None

    def entry_id(self, i: int) -> str | None:
        """The id of entry ``i``; ``None`` when the list has no ids or this one is empty.

        Raises:
            IndexError: ``i`` is out of range.
        """
        self._check_index(i)
        if self.id_offsets is None:
            return None
        start, end = int(self.id_offsets[i]), int(self.id_offsets[i + 1])
        if start == end:
            return None
        return self.id_blob[start:end].decode("utf-8")

    def category(self, i: int) -> str:
        """The category name of entry ``i``.

        Raises:
            IndexError: ``i`` is out of range.
        """
        self._check_index(i)
        return self.header.categories[int(self.categories[i])]

    def entry(self, i: int) -> ListEntry:
        """Entry ``i`` as a value object.

        Raises:
            IndexError: ``i`` is out of range.
        """
        self._check_index(i)
        value = HashValue(self.header.algorithm, self.hashes[i].tobytes())
        return ListEntry(hash=value, category=self.category(i), entry_id=self.entry_id(i))

    def _check_index(self, i: int) -> None:
        if not 0 <= i < self.header.count:
            raise IndexError(f"entry {i} out of range for a list of {self.header.count}")

    def with_signatures(self, signatures: Sequence[ListSignature]) -> HashList:
        """A copy of this list carrying ``signatures`` instead of its own."""
        return HashList(
            header=self.header,
            hashes=self.hashes,
            categories=self.categories,
            digest=self.digest,
            id_offsets=self.id_offsets,
            id_blob=self.id_blob,
            signatures=tuple(signatures),
            videos=self.videos,
        )

    def to_bytes(self) -> bytes:
        """The list file: the canonical body and a trailer with its signatures."""
        return encode_list(self)


def _lp8(data: bytes, what: str) -> bytes:
    if len(data) > 255:
        raise ListFormatError(f"{what} is longer than 255 bytes")
    return bytes([len(data)]) + data


def _utf8(text: str, what: str, limit: int) -> bytes:
    if not isinstance(text, str):
        raise ListFormatError(f"{what} must be a string")
    data = text.encode("utf-8")
    if len(data) > limit:
        raise ListFormatError(f"{what} is longer than {limit} bytes")
    return data


def _check_u64(value: int, what: str, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ListFormatError(f"{what} must be an integer")
    if not minimum <= value <= _U64_MAX:
        raise ListFormatError(f"{what} must lie in {minimum}..2**64-1, got {value}")


def _check_header(header: ListHeader) -> None:
    """Raise :class:`ListFormatError` if ``header`` breaks a rule of the format."""
    if not isinstance(header.algorithm, Algorithm):
        raise ListFormatError(f"not a hash algorithm: {header.algorithm!r}")
    if header.bits != header.algorithm.bits:
        raise ListFormatError(
            f"{header.algorithm.value} hashes have {header.algorithm.bits} bits, "
            f"the header says {header.bits}"
        )
    if isinstance(header.threshold, bool) or not isinstance(header.threshold, int):
        raise ListFormatError("the threshold must be an integer")
    if not 0 <= header.threshold <= header.bits:
        raise ListFormatError(f"the threshold must lie in 0..{header.bits}")
    if not header.list_id:
        raise ListFormatError("the list id must not be empty")
    _utf8(header.list_id, "the list id", MAX_LIST_ID_BYTES)
    _check_u64(header.version, "the version", minimum=1)
    _check_u64(header.issued_at_ms, "issued_at_ms")
    _check_u64(header.count, "the entry count")
    if header.expires_at_ms is not None:
        _check_u64(header.expires_at_ms, "expires_at_ms", minimum=1)
        if header.expires_at_ms <= header.issued_at_ms:
            raise ListFormatError("expires_at_ms must be later than issued_at_ms")
    if header.manifest is not None:
        if not isinstance(header.manifest, bytes) or len(header.manifest) > MAX_MANIFEST_BYTES:
            raise ListFormatError(f"the manifest is bytes, at most {MAX_MANIFEST_BYTES}")
        try:
            header.manifest.decode("utf-8")
        except UnicodeDecodeError:
            raise ListFormatError("the manifest is not valid UTF-8") from None
    if header.previous_digest is not None and (
        not isinstance(header.previous_digest, bytes) or len(header.previous_digest) != DIGEST_SIZE
    ):
        raise ListFormatError("previous_digest must be 32 bytes or absent")
    if len(header.categories) > MAX_CATEGORIES:
        raise ListFormatError(f"at most {MAX_CATEGORIES} categories")
    if len(set(header.categories)) != len(header.categories):
        raise ListFormatError("category names must be distinct")
    for name in header.categories:
        if not name:
            raise ListFormatError("a category name must not be empty")
        _utf8(name, "a category name", MAX_CATEGORY_BYTES)


def _encode_header(header: ListHeader, flags: int) -> bytes:
    version = VIDEO_FORMAT_VERSION if flags & FLAG_VIDEOS else FORMAT_VERSION
    parts = [
        MAGIC,
        _FIXED.pack(version, flags),
        _lp8(header.algorithm.value.encode("ascii"), "the algorithm"),
        _NUMBERS.pack(
            header.bits, header.threshold, header.count, header.version, header.issued_at_ms
        ),
    ]
    list_id = header.list_id.encode("utf-8")
    parts.append(struct.pack(">H", len(list_id)) + list_id)
    parts.append(_lp8(header.previous_digest or b"", "previous_digest"))
    parts.append(struct.pack(">H", len(header.categories)))
    parts.extend(_lp8(c.encode("utf-8"), "a category name") for c in header.categories)
    if header.expires_at_ms is not None:
        parts.append(struct.pack(">Q", header.expires_at_ms))
    if header.manifest is not None:
        parts.append(struct.pack(">I", len(header.manifest)) + header.manifest)
    return b"".join(parts)


def encode_body(hash_list: HashList) -> bytes:
    """The canonical unsigned body of ``hash_list``: the bytes its digest covers."""
    flags = FLAG_ENTRY_IDS if hash_list.id_offsets is not None else 0
    if hash_list.videos is not None:
        flags |= FLAG_VIDEOS
    if hash_list.header.expires_at_ms is not None:
        flags |= FLAG_EXPIRES
    if hash_list.header.manifest is not None:
        flags |= FLAG_MANIFEST
    parts = [
        _encode_header(hash_list.header, flags),
        np.ascontiguousarray(hash_list.hashes).tobytes(),
        hash_list.categories.astype(">u2").tobytes(),
    ]
    if hash_list.id_offsets is not None:
        parts.append(hash_list.id_offsets.astype(">u4").tobytes())
        parts.append(hash_list.id_blob)
    if hash_list.videos is not None:
        parts.append(_encode_videos(hash_list.videos))
    return b"".join(parts)


def encode_list(hash_list: HashList) -> bytes:
    """The complete file: body, then the trailer with digest and signatures.

    Raises:
        ListFormatError: more than ``MAX_SIGNATURES`` (64) signatures.
    """
    if len(hash_list.signatures) > MAX_SIGNATURES:
        raise ListFormatError(f"a list carries at most {MAX_SIGNATURES} signatures")
    trailer = [SIGNATURE_MAGIC, hash_list.digest, struct.pack(">H", len(hash_list.signatures))]
    for sig in hash_list.signatures:
        trailer.append(sig.public_key + sig.signature)
    return encode_body(hash_list) + b"".join(trailer)


def build_list(
    *,
    list_id: str,
    version: int,
    issued_at_ms: int,
    algorithm: Algorithm,
    threshold: int,
    categories: Sequence[str],
    hashes: npt.ArrayLike | Sequence[HashValue],
    entry_categories: npt.ArrayLike,
    entry_ids: Sequence[str | None] | None = None,
    previous_digest: bytes | None = None,
    videos: VideoEntries | None = None,
    expires_at_ms: int | None = None,
    manifest: bytes | None = None,
) -> HashList:
    """Build an unsigned list from its parts; entries keep the order given.

    ``hashes`` is either a ``[n, bits // 8]`` ``uint8`` array or a sequence of
    :class:`HashValue` of ``algorithm``; ``entry_categories`` holds one index into
    ``categories`` per entry; ``entry_ids`` (optional) one id per entry, ``None`` or ``""``
    for an entry without one. ``videos`` (:func:`build_video_entries`) adds video entries
    beside the image entries (format version 2); their category indices point into the
    same ``categories``. The time of issue (and the optional expiry, ``expires_at_ms``,
    covered by the digest like every header field) is a parameter: this core reads no clock.

    Raises:
        ListFormatError: a field breaks a rule of the format (empty list id, version < 1,
            threshold outside ``0..bits``, duplicate or over-long category names, a category
            index out of range, an entry id longer than 255 bytes, a bad previous_digest,
            an expiry not after ``issued_at_ms``).
        AlgorithmMismatch: a :class:`HashValue` is not of ``algorithm``.
    """
    if not isinstance(algorithm, Algorithm):
        raise ListFormatError(f"not a hash algorithm: {algorithm!r}")
    nbytes = algorithm.bits // 8
    rows = _hash_rows(hashes, algorithm)
    count = int(rows.shape[0])
    cats = np.asarray(entry_categories)
    if cats.shape != (count,):
        raise ListFormatError(f"need one category index per entry ({count})")
    if count and (not np.issubdtype(cats.dtype, np.integer) or cats.min() < 0):
        raise ListFormatError("category indices must be non-negative integers")
    if count and int(cats.max()) >= len(categories):
        raise ListFormatError("a category index is out of range of the categories table")
    header = ListHeader(
        list_id=list_id,
        version=version,
        issued_at_ms=issued_at_ms,
        algorithm=algorithm,
        bits=algorithm.bits,
        threshold=threshold,
        categories=tuple(categories),
        previous_digest=previous_digest,
        count=count,
        expires_at_ms=expires_at_ms,
        manifest=manifest,
    )
    _check_header(header)
    if videos is not None and len(videos) and int(videos.categories.max()) >= len(categories):
        raise ListFormatError("a video's category index is out of range of the categories table")
    offsets, blob = _encode_ids(entry_ids, count)
    draft = HashList(
        header=header,
        hashes=_readonly(rows.reshape(count, nbytes)),
        categories=_readonly(cats.astype(np.uint16)),
        digest=b"",
        id_offsets=offsets,
        id_blob=blob,
        videos=videos,
    )
    digest = hashlib.sha256(encode_body(draft)).digest()
    return HashList(
        header=header,
        hashes=draft.hashes,
        categories=draft.categories,
        digest=digest,
        id_offsets=offsets,
        id_blob=blob,
        videos=videos,
    )


def with_expiry(hash_list: HashList, expires_at_ms: int | None) -> HashList:
    """The same list with another expiry: a new body, so a new digest and no signatures
    (a curator sets the expiry before signing).

    Raises:
        ListFormatError: the expiry is not after ``issued_at_ms`` or not a uint64.
    """
    import dataclasses

    header = dataclasses.replace(hash_list.header, expires_at_ms=expires_at_ms)
    _check_header(header)
    draft = HashList(
        header=header,
        hashes=hash_list.hashes,
        categories=hash_list.categories,
        digest=b"",
        id_offsets=hash_list.id_offsets,
        id_blob=hash_list.id_blob,
        videos=hash_list.videos,
    )
    return HashList(
        header=header,
        hashes=hash_list.hashes,
        categories=hash_list.categories,
        digest=hashlib.sha256(encode_body(draft)).digest(),
        id_offsets=hash_list.id_offsets,
        id_blob=hash_list.id_blob,
        videos=hash_list.videos,
    )


_T = TypeVar("_T", bound=np.generic)


def _readonly(arr: npt.NDArray[_T]) -> npt.NDArray[_T]:
    out = np.array(arr, copy=True)
    out.flags.writeable = False
    return out


def _hash_rows(hashes: npt.ArrayLike | Sequence[HashValue], algorithm: Algorithm) -> U8Array:
    nbytes = algorithm.bits // 8
    if isinstance(hashes, Sequence) and not isinstance(hashes, np.ndarray):
        values = list(hashes)
        if values and all(isinstance(v, HashValue) for v in values):
            for v in values:
                if v.algorithm is not algorithm:
                    raise AlgorithmMismatch(
                        f"a {v.algorithm.value} hash in a {algorithm.value} list"
                    )
            blob = b"".join(v.digest for v in values)
            return np.frombuffer(blob, dtype=np.uint8).reshape(len(values), nbytes)
        if not values:
            return np.empty((0, nbytes), dtype=np.uint8)
    arr = np.asarray(hashes)
    if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] != nbytes:
        raise ListFormatError(f"hashes must be a [n, {nbytes}] uint8 array for {algorithm.value}")
    return arr


def _encode_ids(
    entry_ids: Sequence[str | None] | None, count: int
) -> tuple[U32Array | None, bytes]:
    if entry_ids is None:
        return None, b""
    if len(entry_ids) != count:
        raise ListFormatError(f"need one entry id (or None) per entry ({count})")
    encoded = [_utf8(e or "", "an entry id", MAX_ENTRY_ID_BYTES) for e in entry_ids]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=count)
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] >= 2**32:
        raise ListFormatError("entry ids take more than 4 GiB")
    out = offsets.astype(np.uint32)
    out.flags.writeable = False
    return out, b"".join(encoded)


class _Reader:
    """A cursor over the file's bytes that raises :class:`ListTruncated` at the end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ListTruncated(f"the file ends inside {what}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: struct.Struct, what: str) -> tuple[int, ...]:
        return fmt.unpack(self.take(fmt.size, what))

    def lp8(self, what: str) -> bytes:
        return self.take(self.take(1, what)[0], what)

    def text(self, raw: bytes, what: str) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ListFormatError(f"{what} is not valid UTF-8") from None

    def array(self, n: int, dtype: str, what: str) -> npt.NDArray[Any]:
        size = np.dtype(dtype).itemsize * n
        if self.pos + size > len(self.data):
            raise ListTruncated(f"the file ends inside {what}")
        arr = np.frombuffer(self.data, dtype=dtype, count=n, offset=self.pos)
        self.pos += size
        return arr


_U16 = struct.Struct(">H")
_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")


def parse_list(data: bytes) -> tuple[HashList, bytes]:
    """Parse a list file without judging its signatures; return it and its stored digest.

    The returned :class:`HashList` carries the digest recomputed over the body; the second
    value is the digest the trailer claims. They differ when the body was altered, and
    only :func:`hashes.lists.trust.load_list` decides what that means. Never use a list
    from this function for matching without :func:`~hashes.lists.trust.load_list`.

    Raises:
        ListTruncated: the file ends before its declared content.
        ListFormatError: bad magic, unknown format version or flags, unknown algorithm,
            bits or threshold that do not fit the algorithm, invalid UTF-8, a category
            index out of range, bad id offsets, more than 64 signatures, or bytes after
            the signatures.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    r = _Reader(data)
    magic = r.take(len(MAGIC), "the magic")
    if magic != MAGIC:
        raise ListFormatError("not a Frankly hash list (bad magic)")
    fmt_version, flags = r.unpack(_FIXED, "the format version")
    if fmt_version not in (FORMAT_VERSION, VIDEO_FORMAT_VERSION):
        raise ListFormatError(f"unsupported list format version {fmt_version}")
    if flags & ~_KNOWN_FLAGS:
        raise ListFormatError(f"unknown flags {flags:#06x}")
    # The video flag and format version 2 go together, so that a version 1 reader never
    # meets a section it does not know and a version 2 file always carries one.
    if bool(flags & FLAG_VIDEOS) != (fmt_version == VIDEO_FORMAT_VERSION):
        raise ListFormatError("the video flag must be set exactly in format version 2")
    alg_name = r.text(r.lp8("the algorithm"), "the algorithm")
    try:
        algorithm = Algorithm(alg_name)
    except ValueError:
        raise ListFormatError(f"unknown hash algorithm {alg_name[:16]!r}") from None
    bits, threshold, count, version, issued_at_ms = r.unpack(_NUMBERS, "the header")
    list_id = r.text(r.take(r.unpack(_U16, "the list id")[0], "the list id"), "the list id")
    previous = r.lp8("previous_digest")
    ncat = r.unpack(_U16, "the categories table")[0]
    categories = tuple(r.text(r.lp8("a category"), "a category") for _ in range(ncat))
    expires_at_ms = r.unpack(_U64, "expires_at_ms")[0] if flags & FLAG_EXPIRES else None
    manifest = None
    if flags & FLAG_MANIFEST:
        length = r.unpack(_U32, "the manifest")[0]
        if length > MAX_MANIFEST_BYTES:
            raise ListFormatError(f"the manifest is longer than {MAX_MANIFEST_BYTES} bytes")
        manifest = r.take(length, "the manifest")
    header = ListHeader(
        list_id=list_id,
        version=version,
        issued_at_ms=issued_at_ms,
        algorithm=algorithm,
        bits=bits,
        threshold=threshold,
        categories=categories,
        previous_digest=previous or None,
        count=count,
        expires_at_ms=expires_at_ms,
        manifest=manifest,
    )
    _check_header(header)
    nbytes = bits // 8
    if count * nbytes > len(data):
        raise ListTruncated("the file ends inside the hashes")
    hashes = r.array(count * nbytes, "u1", "the hashes").reshape(count, nbytes)
    cats = r.array(count, ">u2", "the category indices").astype(np.uint16)
    if count and int(cats.max()) >= ncat:
        raise ListFormatError("a category index is out of range of the categories table")
    cats.flags.writeable = False
    offsets: U32Array | None = None
    blob = b""
    if flags & FLAG_ENTRY_IDS:
        offsets, blob = _parse_ids(r, count)
    videos = _parse_videos(r, ncat, len(data)) if flags & FLAG_VIDEOS else None
    body_end = r.pos
    if r.take(len(SIGNATURE_MAGIC), "the signature block") != SIGNATURE_MAGIC:
        raise ListFormatError("bad signature block magic")
    stored_digest = r.take(DIGEST_SIZE, "the digest")
    nsig = r.unpack(_U16, "the signature count")[0]
    if nsig > MAX_SIGNATURES:
        raise ListFormatError(f"a list carries at most {MAX_SIGNATURES} signatures")
    sigs = []
    for _ in range(nsig):
        key = r.take(PUBLIC_KEY_SIZE, "a signature")
        sigs.append(ListSignature(public_key=key, signature=r.take(SIGNATURE_SIZE, "a signature")))
    if r.pos != len(data):
        raise ListFormatError(f"{len(data) - r.pos} unexpected bytes after the signatures")
    digest = hashlib.sha256(memoryview(data)[:body_end]).digest()
    hash_list = HashList(
        header=header,
        hashes=hashes,  # a read-only view of ``data``
        categories=cats,
        digest=digest,
        id_offsets=offsets,
        id_blob=blob,
        signatures=tuple(sigs),
        videos=videos,
    )
    return hash_list, stored_digest


def peek_list_id(data: bytes) -> str:
    """The list id a file claims, read from its header alone (no hashing, nothing
    verified): only to pick the trusted state to check the file against.

    Raises:
        ListFormatError: bad magic or a malformed header (``ListTruncated`` if short).
    """
    r = _Reader(bytes(data[:4096]))
    if r.take(len(MAGIC), "the magic") != MAGIC:
        raise ListFormatError("not a Frankly hash list (bad magic)")
    r.unpack(_FIXED, "the format version")
    r.lp8("the algorithm")
    r.unpack(_NUMBERS, "the header")
    raw = r.take(r.unpack(_U16, "the list id")[0], "the list id")
    return r.text(raw, "the list id")


def _parse_ids(r: _Reader, count: int) -> tuple[U32Array, bytes]:
    offsets = r.array(count + 1, ">u4", "the entry id offsets").astype(np.uint32)
    if offsets[0] != 0 or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise ListFormatError("entry id offsets must start at 0 and never decrease")
    if count and int(np.diff(offsets.astype(np.int64)).max()) > MAX_ENTRY_ID_BYTES:
        raise ListFormatError(f"an entry id is longer than {MAX_ENTRY_ID_BYTES} bytes")
    blob = r.take(int(offsets[-1]), "the entry ids")
    r.text(blob, "the entry ids")
    # Each id must start on a character boundary (not a UTF-8 continuation byte), so that
    # every slice of the valid blob is valid UTF-8 by itself.
    starts = offsets[:-1][offsets[:-1] != offsets[1:]].astype(np.int64)
    if starts.size:
        raw = np.frombuffer(blob, dtype=np.uint8)
        if np.any((raw[starts] & 0xC0) == 0x80):
            raise ListFormatError("an entry id does not start on a UTF-8 character boundary")
    offsets.flags.writeable = False
    return offsets, blob


def _parse_videos(r: _Reader, ncat: int, size: int) -> VideoEntries:
    count, nframes, distance, quality, q_percent, c_percent = r.unpack(
        _VIDEO_NUMBERS, "the video section"
    )
    # Bound both counts by the file size before any array is sized from them.
    if count * (2 + 4 + MD5_BYTES + SHA256_BYTES + 4) > size or nframes * 45 > size:
        raise ListTruncated("the file ends inside the video section")
    if distance > 256 or quality > 100 or q_percent > 100 or c_percent > 100:
        raise ListFormatError("a video matching threshold is out of range")
    cats = r.array(count, ">u2", "the video categories").astype(np.uint16)
    if count and int(cats.max()) >= ncat:
        raise ListFormatError("a video's category index is out of range of the categories table")
    offsets = r.array(count + 1, ">u4", "the video frame offsets").astype(np.uint32)
    steps = np.diff(offsets.astype(np.int64))
    if offsets[0] != 0 or np.any(steps < 0) or int(offsets[-1]) != nframes:
        raise ListFormatError("video frame offsets must run from 0 to the frame count")
    frames = r.array(nframes * PDQ_BYTES, "u1", "the video frames").reshape(nframes, PDQ_BYTES)
    qualities = r.array(nframes, "u1", "the video frame qualities")
    if nframes and int(qualities.max()) > 100:
        raise ListFormatError("a video frame quality is above 100")
    numbers = r.array(nframes, ">u4", "the video frame numbers").astype(np.uint32)
    stamps = r.array(nframes, ">u4", "the video timestamps").astype(np.uint32)
    md5 = r.array(count * MD5_BYTES, "u1", "the video MD5s").reshape(count, MD5_BYTES)
    sha = r.array(count * SHA256_BYTES, "u1", "the video SHA-256s").reshape(count, SHA256_BYTES)
    ids, blob = _parse_ids(r, count)
    for arr in (cats, offsets, numbers, stamps):
        arr.flags.writeable = False
    return VideoEntries(
        distance_threshold=distance,
        quality_threshold=quality,
        query_match_percent=q_percent,
        compared_match_percent=c_percent,
        categories=cats,
        frame_offsets=offsets,
        frames=frames,
        qualities=qualities,
        frame_numbers=numbers,
        timestamps_ms=stamps,
        md5=md5,
        sha256=sha,
        id_offsets=ids,
        id_blob=blob,
    )
