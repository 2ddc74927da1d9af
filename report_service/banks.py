"""The service's hash banks: signed hash lists the service matches reported media against.

This module is the one seam between the service and :mod:`hashes`. Lists are kept as
their exact signed bytes in the ``hash_lists`` table, and the database is the only
source of truth: every process matches against an in-memory copy of the newest version
of each list that it refreshes whenever the ``banks`` generation counter in
``bank_state`` moves (see :mod:`report_service.storage.shared`). On PostgreSQL a
LISTEN/NOTIFY listener (:mod:`report_service.storage.notify`) tells every process at
once; without it (SQLite, or while the listener reconnects) matching re-reads the
counter at most every ``check_interval_ms`` (default 250 ms). Either way a bank change
made by any process is matched by every process well within a second.

Lists are loaded through :func:`hashes.lists.load_list` under the service's trust policy
(its own curator key, plus any configured curator keys). Media is re-hashed here from
the verified bytes (client-side hashes are hints only).

:meth:`HashBanks.add_entry` banks a confirmed violation: in one transaction it locks the
``banks`` counter row (so writers in every process take turns), reads the newest stored
version, builds the next one (chained by ``previous_digest``), signs it with the service
curator key from the key file, stores it and moves the counter. Two processes banking at
once therefore build v2 and v3, never two v2s.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
from nacl.signing import SigningKey, VerifyKey
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hashes.decode import DecodeLimits
from hashes.errors import HashesError
from hashes.lists import (
    HashList,
    ListHeader,
    TrustPolicy,
    add_signature,
    build_list,
    load_list,
    sign_list,
    trusted_state,
)
from hashes.lists.format import build_video_entries, parse_list
from hashes.matching import Match, Matcher
from hashes.values import Algorithm, HashValue
from hashes.variants import Variants
from report_service.errors import BankError, StorageError
from report_service.keys import CuratorKey
from report_service.observability import logger
from report_service.storage.models import HashListVersion
from report_service.storage.shared import SharedCounter, TrustedCurator

if TYPE_CHECKING:
    from report_service.storage.notify import PgListener as Listener

if TYPE_CHECKING:
    from hashes.compute import HashResult
    from hashes.sandbox import VideoResult
    from hashes.video import VideoHash
    from hashes.video.listmatch import VideoListMatcher
    from hashes.video.variants import VideoVariantPolicy
    from hashes.video.vpdq import VpdqFrame

SERVICE_LIST_ID = "frankly-service-bank"
SERVICE_VIDEO_LIST_ID = "frankly-service-video-bank"
DEFAULT_VIDEO_KEYFRAMES = 4
DECODE_LIMITS = DecodeLimits(max_bytes=25 * 1024 * 1024, max_pixels=1 << 26, max_frames=100)
DEFAULT_PDQ_THRESHOLD = 31
BANKS_COUNTER = "banks"
BANKS_CHANNEL = "frankly_banks"
DEFAULT_CHECK_INTERVAL_MS = 250
LISTENING_CHECK_INTERVAL_S = 5.0  # a safety net while the LISTEN thread is connected
WRITE_ATTEMPTS = 5
_KID = re.compile(r"[A-Za-z0-9._-]{1,64}")

CATEGORY_SEVERITY: dict[str, int] = {
    "csam": 100,
    "child_safety": 100,
    "csae": 100,
    "cse": 100,
    "terrorism": 90,
    "ncii": 80,
    "violence": 60,
}
DEFAULT_CATEGORY_SEVERITY = 50


def category_severity(category: str) -> int:
    """Severity 0..100 of a bank category (unknown categories count 50)."""
    return CATEGORY_SEVERITY.get(category.lower(), DEFAULT_CATEGORY_SEVERITY)


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What the service computed from an attachment's verified bytes."""

    sha256: str
    size: int
    mime: str
    pdq: str | None = None
    pdq_quality: int | None = None
    phash: str | None = None
    decode_error: str | None = None
    variants: Variants | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class CuratorInfo:
    """A curator key the banks trust, and where the trust comes from (``key file``,
    ``trusted`` by an operator, or kept by a curator key ``rotated`` out)."""

    kid: str
    public_key: bytes
    origin: str


@dataclass(frozen=True, slots=True)
class BankHit:
    """A match of one attachment against one bank entry."""

    list_id: str
    list_version: int
    algorithm: str
    category: str
    severity: int
    distance: int
    entry_id: str | None
    variant: str = "original"
    match_percent: float | None = None  # videos: share of the query's frames matched


@dataclass(frozen=True, slots=True)
class VideoFacts:
    """What the service computed from a video attachment's verified bytes: its vPDQ and
    file digests and a few keyframes (PNG, for the blurred review view), or why it could
    not be decoded safely (``decode_error``: the :class:`~hashes.errors.DecodeError`'s
    name, e.g. ``VideoTooLong``, ``TooManyPixels``, ``DecodeTimeout``)."""

    hash: VideoHash | None
    keyframes: tuple[bytes, ...] = field(default=(), repr=False)
    decode_error: str | None = None


VIDEO_BUDGET_EXHAUSTED = "VideoBudgetExhausted"
"""The ``decode_error`` of a video left unhashed because its report's video time budget
was spent on the videos before it."""


class VideoHasher(Protocol):
    """How videos are hashed: vPDQ, digests and keyframes within ``timeout_s`` seconds;
    the service uses :meth:`hashes.sandbox.HashSandbox.hash_video` in a worker."""

    def __call__(self, data: bytes, *, timeout_s: float) -> VideoResult: ...


def hash_video_in_process(
    data: bytes,
    *,
    timeout_s: float = 60.0,
    keyframes: int = DEFAULT_VIDEO_KEYFRAMES,
    variants: VideoVariantPolicy | None = None,
) -> VideoResult:
    """:func:`hashes.video.hash_video` (with ``variants``, :func:`hashes.video.variants.
    hash_video_variants`) and :func:`hashes.video.keyframes` in this process (tests and
    tools; the service hashes in the sandbox, which also bounds memory), each under a
    wall-clock limit of ``timeout_s``."""
    import dataclasses
    import io

    from hashes.sandbox import VideoResult
    from hashes.video import DEFAULT_VIDEO_LIMITS, hash_video
    from hashes.video import keyframes as video_keyframes

    limits = dataclasses.replace(DEFAULT_VIDEO_LIMITS, max_wall_s=timeout_s)
    pngs = []
    for image in video_keyframes(data, count=keyframes, limits=limits) if keyframes else []:
        out = io.BytesIO()
        image.save(out, format="PNG")
        pngs.append(out.getvalue())
    if variants is None:
        return VideoResult(hash_video(data, limits=limits), tuple(pngs))
    from hashes.video.variants import hash_video_variants

    result = hash_video_variants(data, variants, limits=limits)
    return VideoResult(result.hash, tuple(pngs), result.variants)


class MediaHasher(Protocol):
    """How pictures are hashed: :func:`hashes.compute.hash_image` in-process, or
    :meth:`hashes.sandbox.HashSandbox.hash_image` (the service's default) in a worker."""

    def __call__(
        self,
        data: bytes,
        algorithms: Iterable[Algorithm | str],
        *,
        limits: DecodeLimits,
        variants: bool = False,
    ) -> HashResult: ...


def hash_media(
    data: bytes,
    mime: str,
    *,
    hasher: MediaHasher | None = None,
    limits: DecodeLimits = DECODE_LIMITS,
) -> tuple[MediaFacts, list[HashValue]]:
    """SHA-256 of any attachment; PDQ and pHash of pictures that decode safely.

    Every attachment is tried as a picture whatever its declared type (the type comes
    from the sender). Bytes that do not decode are not an error: the facts say why
    (``decode_error``, the name of the :class:`~hashes.errors.HashesError`: a budget or
    sandbox limit gives ``DecodeMemoryExceeded``, ``DecodeTimeout``, ``TooManyScans``...)
    and only the SHA-256 is matched.
    """
    from hashes.compute import hash_image

    digest = hashlib.sha256(data).hexdigest()
    values = [HashValue(Algorithm.SHA256, bytes.fromhex(digest))]
    try:
        result = (hasher or hash_image)(
            data, (Algorithm.PDQ, Algorithm.PHASH), limits=limits, variants=True
        )
    except HashesError as exc:
        return MediaFacts(digest, len(data), mime, decode_error=type(exc).__name__), values
    pdq = result.hashes.get(Algorithm.PDQ)
    phash = result.hashes.get(Algorithm.PHASH)
    values += [v for v in (pdq, phash) if v is not None]
    facts = MediaFacts(
        digest,
        len(data),
        mime,
        pdq=pdq.hex if pdq is not None else None,
        pdq_quality=result.pdq_quality,
        phash=phash.hex if phash is not None else None,
        variants=result.variants,
    )
    return facts, values


class HashBanks:
    """The lists the service holds, their matchers, and the service's own list.

    Thread-safe: matching reads an immutable snapshot; refreshes and updates swap it under
    a lock. Every read first makes sure the snapshot is no older than the database allows
    (see the module docstring); every write goes through the database.
    """

    def __init__(
        self,
        session_factory: Callable[[], Session],
        curator: CuratorKey,
        extra_curator_keys: Mapping[str, bytes] | None = None,
        *,
        check_interval_ms: int = DEFAULT_CHECK_INTERVAL_MS,
        hasher: MediaHasher | None = None,
        decode_limits: DecodeLimits = DECODE_LIMITS,
        video_hasher: VideoHasher | None = None,
        video_timeout_s: float = 60.0,
        read_session_factory: Callable[[], Session] | None = None,
    ) -> None:
        self._hasher = hasher
        self._video_hasher = video_hasher
        self._video_timeout_s = video_timeout_s
        self._video_matchers: tuple[VideoListMatcher, ...] = ()
        self._decode_limits = decode_limits
        self._sessions = session_factory
        # The generation check only reads: on SQLite it need not queue on the write lock.
        self._read_sessions = read_session_factory or session_factory
        self._curator = curator
        self._own_keys = {curator.kid: curator.public_key, **dict(extra_curator_keys or {})}
        self.policy = TrustPolicy(curator_keys=self._own_keys)
        self._lock = threading.Lock()  # swaps of the snapshot
        self._refresh_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._lists: dict[str, HashList] = {}
        self._matchers: tuple[Matcher, ...] = ()
        self._generation: int | None = None
        self._interval_s = check_interval_ms / 1000.0
        self._checked = float("-inf")
        self._dirty = True
        self._listener: Listener | None = None

    # ------------------------------------------------------------------ freshness

    def load(self) -> HashBanks:
        """Load the newest stored version of every list (call once at start).

        Raises:
            BankError: a stored list no longer passes the trust policy.
        """
        self._refresh(strict=True)
        return self

    def listen(self, engine: Engine) -> HashBanks:
        """On PostgreSQL, start a LISTEN thread that marks the snapshot stale as soon as
        any process changes a bank (no-op on SQLite). Stop it with :meth:`close`."""
        if engine.dialect.name == "postgresql" and self._listener is None:
            from report_service.storage.notify import PgListener

            ref = weakref.ref(self)

            def poke(fired: bool) -> bool:
                banks = ref()
                if banks is None:
                    return False
                if fired:
                    banks._dirty = True
                return True

            self._listener = PgListener(engine.url, BANKS_CHANNEL, poke).start()
        return self

    def close(self) -> None:
        """Stop the LISTEN thread, if any."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def refresh(self) -> None:
        """Re-read the ``banks`` generation now and reload what changed."""
        self._dirty = True
        self._refresh(strict=False)

    def _stale(self) -> bool:
        listening = self._listener is not None and self._listener.alive
        interval = LISTENING_CHECK_INTERVAL_S if listening else self._interval_s
        return self._dirty or time.monotonic() - self._checked >= interval

    def _fresh(self) -> None:
        if self._stale():
            self._refresh(strict=False)

    def _refresh(self, *, strict: bool) -> None:
        with self._refresh_lock:
            if not strict and not self._stale():
                return  # another thread refreshed while this one waited for the lock
            # Cleared before reading: a notification that arrives meanwhile marks it again.
            self._dirty = False
            if not strict:  # the usual case: one read, no write lock, nothing changed
                with self._read_sessions() as session:
                    if _generation(session) == self._generation:
                        self._checked = time.monotonic()
                        return
            # A reload reads the generation again with the lists, in one transaction.
            with self._sessions() as session:
                generation = _generation(session)
                self.policy = self._stored_policy(session)
                newest = dict(
                    session.execute(
                        select(HashListVersion.list_id, func.max(HashListVersion.version)).group_by(
                            HashListVersion.list_id
                        )
                    ).all()
                )
                loaded: dict[str, HashList] = {}
                for list_id, version in newest.items():
                    held = self._lists.get(list_id)
                    if held is not None and held.header.version >= version:
                        continue
                    data = _version_data(session, list_id, version)
                    try:
                        loaded[list_id] = load_list(data, self.policy)
                    except HashesError as exc:
                        if strict:
                            raise BankError(
                                f"stored list {list_id!r} is not trusted: {exc}"
                            ) from exc
                        logger().error(
                            "stored hash list refused; matching keeps the version held",
                            extra={"list_id": list_id, "version": version, "error": str(exc)},
                        )
            self._install(loaded)
            self._generation = generation
            self._checked = time.monotonic()

    def _install(self, newer: Mapping[str, HashList]) -> None:
        """Swap in ``newer`` lists, never replacing a list by an older version of it."""
        with self._lock:
            lists = dict(self._lists)
            changed = False
            for list_id, hash_list in newer.items():
                held = lists.get(list_id)
                if held is None or held.header.version < hash_list.header.version:
                    lists[list_id] = hash_list
                    changed = True
            if changed:
                from hashes.video.listmatch import VideoListMatcher

                self._lists = lists
                self._matchers = tuple(Matcher(h) for h in lists.values())
                self._video_matchers = tuple(
                    VideoListMatcher(h) for h in lists.values() if h.videos is not None
                )

    # ------------------------------------------------------------------ reading

    @property
    def lists(self) -> Mapping[str, HashList]:
        """The lists in use, by id."""
        self._fresh()
        return dict(self._lists)

    def match(self, values: Iterable[HashValue], variants: Variants | None = None) -> list[BankHit]:
        """Every bank entry within its list's threshold of one of ``values``, or of one of
        their ``variants`` (mirrors, rotations, border trimmed: ``MediaFacts.variants``)."""
        self._fresh()
        matchers = self._matchers
        hits: list[BankHit] = []
        for value in values:
            for matcher in matchers:
                if matcher.algorithm is not value.algorithm:
                    continue
                for m in _match(matcher, value, variants):
                    hits.append(
                        BankHit(
                            list_id=m.list_id,
                            list_version=m.list_version,
                            algorithm=m.algorithm.value,
                            category=m.category,
                            severity=category_severity(m.category),
                            distance=m.distance,
                            entry_id=m.entry_id,
                            variant=m.variant,
                        )
                    )
        return hits

    def examine(self, data: bytes, mime: str) -> tuple[MediaFacts, list[BankHit]]:
        """Hash an attachment's verified bytes and match them against every bank."""
        facts, values = hash_media(data, mime, hasher=self._hasher, limits=self._decode_limits)
        return facts, self.match(values, facts.variants)

    def examine_video(
        self, data: bytes, mime: str, *, budget_s: float | None = None
    ) -> tuple[MediaFacts, VideoFacts, list[BankHit]]:
        """Hash a video attachment's verified bytes (vPDQ, MD5, SHA-256, keyframes; in the
        sandbox) and match it against every bank's video entries under each list's
        policy, and its SHA-256 against the image banks' exact entries.

        Hostile or undecodable video is not an error: the facts say why
        (``decode_error``), the file digests are still matched exactly, and the report is
        stored like any other (its evidence is what a moderator needs).

        ``budget_s`` is what is left of the report's video time budget: the video gets
        at most that (and at most ``video_timeout_s``); with nothing left it is not
        decoded at all (``decode_error`` :data:`VIDEO_BUDGET_EXHAUSTED`)."""
        from hashes.video import VideoHash

        digest = hashlib.sha256(data).hexdigest()
        sha_value = HashValue(Algorithm.SHA256, bytes.fromhex(digest))
        timeout_s = (
            self._video_timeout_s if budget_s is None else min(self._video_timeout_s, budget_s)
        )
        result = None
        variants: Mapping[str, Sequence[VpdqFrame]] | None = None
        error: str | None = VIDEO_BUDGET_EXHAUSTED
        if timeout_s > 0:
            try:
                result = (self._video_hasher or hash_video_in_process)(data, timeout_s=timeout_s)
                error = None
            except HashesError as exc:
                error = type(exc).__name__
        if result is None:
            query = VideoHash(
                frames=(),
                md5=HashValue(Algorithm.MD5, hashlib.md5(data, usedforsecurity=False).digest()),
                sha256=sha_value,
            )
            video = VideoFacts(None, (), error)
        else:
            query = result.hash
            variants = result.variants
            video = VideoFacts(result.hash, tuple(result.keyframes))
        facts = MediaFacts(digest, len(data), mime, decode_error=error)
        return facts, video, self.match([sha_value]) + self.match_video(query, variants)

    def match_video(
        self, query: VideoHash, variants: Mapping[str, Sequence[VpdqFrame]] | None = None
    ) -> list[BankHit]:
        """Every banked video that ``query`` matches (vPDQ under the list's policy, or the
        same file by SHA-256/MD5: ``algorithm`` ``vpdq`` or ``sha256``), through its query
        ``variants`` too when given (:mod:`hashes.video.variants`; ``variant`` names the
        one that matched)."""
        self._fresh()
        hits = []
        named = variants if variants is not None else {"original": query.frames}
        for matcher in self._video_matchers:
            for m in matcher.match_variants(query, named):
                hits.append(
                    BankHit(
                        list_id=m.list_id,
                        list_version=m.list_version,
                        algorithm="sha256" if m.exact else "vpdq",
                        category=m.category,
                        severity=category_severity(m.category),
                        distance=0,
                        entry_id=m.entry_id,
                        match_percent=round(m.query_match_percent, 2),
                        variant=m.variant,
                    )
                )
        return hits

    def holds_video(
        self, video: VideoHash, category: str, list_id: str = SERVICE_VIDEO_LIST_ID
    ) -> bool:
        """Whether ``list_id`` already holds ``video`` (same frames, or the same file)
        under ``category``."""
        self._fresh()
        held = self._lists.get(list_id)
        return held is not None and _holds_video(held, video, category)

    def add_video(
        self,
        video: VideoHash,
        category: str,
        entry_id: str | None,
        now_ms: int,
        *,
        list_id: str = SERVICE_VIDEO_LIST_ID,
    ) -> ListHeader:
        """Bank one video (its vPDQ frames and file digests) as a video entry of the next
        signed version of the service's video list; like :meth:`add_entry` (idempotent,
        safe from several processes, matched by every process from then on).

        Raises:
            BankError: the list cannot be built (bad category or entry id).
            StorageError: the database kept refusing the write (after retries).
        """

        def step(held: HashList | None) -> tuple[HashList, bytes] | ListHeader:
            if held is not None and _holds_video(held, video, category):
                return held.header
            try:
                new = _next_video_version(held, list_id, video, category, entry_id, now_ms)
                data = sign_list(new, self._curator.signing_key)
                accepted = load_list(
                    data, self.policy, trusted_state(held) if held is not None else None
                )
            except HashesError as exc:
                raise BankError(f"cannot add to list {list_id!r}: {exc}") from exc
            return accepted, data

        return self._write(list_id, now_ms, step)

    def holds(self, value: HashValue, category: str, list_id: str = SERVICE_LIST_ID) -> bool:
        """Whether ``list_id`` already holds exactly ``value`` under ``category``."""
        self._fresh()
        held = self._lists.get(list_id)
        return held is not None and _holds(held, value, category)

    def export(self, list_id: str = SERVICE_LIST_ID) -> bytes:
        """The signed bytes of the newest version of ``list_id``.

        Raises:
            BankError: no such list.
        """
        with self._sessions() as session:
            data = session.scalar(
                select(HashListVersion.data)
                .where(HashListVersion.list_id == list_id)
                .order_by(HashListVersion.version.desc())
                .limit(1)
            )
        if data is None:
            raise BankError(f"no list {list_id!r}")
        return bytes(data)

    # ------------------------------------------------------------------ writing

    def import_list(self, data: bytes, now_ms: int) -> ListHeader:
        """Store and start using a signed list file (a new list, or the next version of one
        already held).

        Raises:
            BankError: the list fails the trust policy, or rolls back or forks a held list.
        """
        try:
            probe, _ = parse_list(data)  # its id; every trust check runs under the lock
        except HashesError as exc:
            raise BankError(f"list refused: {exc}") from exc

        def step(held: HashList | None) -> tuple[HashList, bytes] | ListHeader:
            try:
                accepted = load_list(
                    data, self.policy, trusted_state(held) if held is not None else None
                )
            except HashesError as exc:
                raise BankError(f"list refused: {exc}") from exc
            if held is not None and accepted.header.version == held.header.version:
                return held.header  # the very list held (same digest): nothing to store
            return accepted, data

        return self._write(probe.header.list_id, now_ms, step)

    def add_entry(
        self,
        value: HashValue,
        category: str,
        entry_id: str | None,
        now_ms: int,
        *,
        list_id: str = SERVICE_LIST_ID,
        threshold: int = DEFAULT_PDQ_THRESHOLD,
    ) -> ListHeader:
        """Bank one hash: build, sign (service curator key) and store the next version of
        the service's list for ``value``'s algorithm, and match against it from now on
        (in every process: see the module docstring).

        Idempotent: when the list already holds ``value`` under ``category``, nothing is
        built and the held version's header is returned (see :meth:`holds`). Safe to call
        from several processes at once: each call builds on the newest stored version.

        Raises:
            BankError: the value's algorithm differs from the list's, or the list cannot
                be built (bad category or entry id).
            StorageError: the database kept refusing the write (after retries).
        """

        def step(held: HashList | None) -> tuple[HashList, bytes] | ListHeader:
            if held is not None and _holds(held, value, category):
                return held.header
            try:
                new = _next_version(held, list_id, value, category, entry_id, now_ms, threshold)
                data = sign_list(new, self._curator.signing_key)
                accepted = load_list(
                    data, self.policy, trusted_state(held) if held is not None else None
                )
            except HashesError as exc:
                raise BankError(f"cannot add to list {list_id!r}: {exc}") from exc
            return accepted, data

        return self._write(list_id, now_ms, step)

    def republish(
        self, list_id: str, now_ms: int, *, also_signed_by: SigningKey | None = None
    ) -> ListHeader:
        """Store the next version of ``list_id`` with the same entries, signed by the
        service curator key (and ``also_signed_by``): after a curator key rotation, the
        version that hands a list over from the old key to the new one.

        Raises:
            BankError: no such list.
        """

        def step(held: HashList | None) -> tuple[HashList, bytes] | ListHeader:
            if held is None:
                raise BankError(f"no list {list_id!r}")
            header = held.header
            try:
                new = build_list(
                    list_id=list_id,
                    version=header.version + 1,
                    issued_at_ms=now_ms,
                    algorithm=header.algorithm,
                    threshold=header.threshold,
                    categories=list(header.categories),
                    hashes=held.hashes,
                    entry_categories=held.categories.astype(np.int64),
                    entry_ids=[held.entry_id(i) for i in range(len(held))],
                    previous_digest=held.digest,
                    videos=held.videos,
                )
                data = sign_list(new, self._curator.signing_key)
                if also_signed_by is not None:
                    data = add_signature(data, also_signed_by)
                accepted = load_list(data, self.policy, trusted_state(held))
            except HashesError as exc:
                raise BankError(f"cannot republish list {list_id!r}: {exc}") from exc
            return accepted, data

        return self._write(list_id, now_ms, step)

    def _write(
        self,
        list_id: str,
        now_ms: int,
        step: Callable[[HashList | None], tuple[HashList, bytes] | ListHeader],
    ) -> ListHeader:
        """Run ``step`` on the newest stored version of ``list_id`` while holding the
        ``banks`` row lock, store what it builds, move the generation, notify, commit."""
        for _ in range(WRITE_ATTEMPTS):
            with self._write_lock:
                try:
                    with self._sessions() as session, session.begin():
                        generation = _lock_generation(session)
                        self.policy = self._stored_policy(session)
                        held = self._stored(session, list_id)
                        outcome = step(held)
                        if isinstance(outcome, ListHeader):
                            return outcome
                        accepted, data = outcome
                        header = accepted.header
                        session.add(
                            HashListVersion(
                                list_id=header.list_id,
                                version=header.version,
                                digest=accepted.digest.hex(),
                                data=data,
                                created_at=now_ms,
                            )
                        )
                        session.flush()
                        _announce(session, generation, header.list_id)
                except IntegrityError:
                    # Only reachable if the counter row was missing and another process
                    # created it first, or the schema lost its lock row: try again.
                    continue
                self._install({header.list_id: accepted})
                if self._generation == generation:
                    self._generation = generation + 1
                else:
                    self._dirty = True  # other processes' changes are still to be read
                return header
        raise StorageError("the hash bank is busy; try again")

    # ------------------------------------------------------------------ curators

    def curators(self) -> list[CuratorInfo]:
        """Every curator key the banks trust: the key file's own, then the stored ones."""
        own = [CuratorInfo(kid, key, "key file") for kid, key in self._own_keys.items()]
        with self._sessions() as session:
            rows = session.execute(
                select(
                    TrustedCurator.kid, TrustedCurator.public_key, TrustedCurator.origin
                ).order_by(TrustedCurator.added_at, TrustedCurator.kid)
            ).all()
        return own + [CuratorInfo(kid, bytes(key), origin) for kid, key, origin in rows]

    def trust_curator(
        self, kid: str, public_key: bytes, now_ms: int, *, origin: str = "trusted"
    ) -> None:
        """Trust lists signed by ``public_key`` (an Ed25519 curator key) in every process.

        Raises:
            BankError: a bad id or key, or the id or key is trusted already.
        """
        if not _KID.fullmatch(kid):
            raise BankError("a curator id is 1-64 characters of A-Z a-z 0-9 . _ -")
        try:
            VerifyKey(public_key)
        except Exception as exc:
            raise BankError("a curator key is a 32-byte Ed25519 public key") from exc
        if len(public_key) != 32:
            raise BankError("a curator key is a 32-byte Ed25519 public key")

        def change(session: Session) -> None:
            for info in self._curators_in(session):
                if info.origin == "key file":
                    continue  # the key file's keys are trusted by this process only
                if info.kid == kid:
                    raise BankError(f"curator id {kid!r} is taken")
                if info.public_key == public_key:
                    raise BankError(f"this key is trusted already, as {info.kid!r}")
            session.add(
                TrustedCurator(kid=kid, public_key=public_key, origin=origin, added_at=now_ms)
            )

        self._change_trust(change)

    def untrust_curator(self, kid: str) -> None:
        """Stop trusting a stored curator key in every process.

        Raises:
            BankError: no such stored key (the key file's own key cannot be untrusted), or
                the newest version of a held list is signed by no other trusted key (every
                process would refuse it at its next start).
        """

        def change(session: Session) -> None:
            row = session.get(TrustedCurator, kid)
            if row is None:
                raise BankError(f"no stored curator key {kid!r} (see `frankly banks list`)")
            rest = [(c.kid, c.public_key) for c in self._curators_in(session) if c.kid != kid]
            policy = self._policy_with(rest)
            for list_id, data in _newest_versions(session):
                try:
                    load_list(data, policy)
                except HashesError as exc:
                    raise BankError(
                        f"list {list_id!r} would no longer be trusted without {kid!r}: {exc}"
                    ) from exc
            session.delete(row)

        self._change_trust(change)

    def _change_trust(self, change: Callable[[Session], None]) -> None:
        with self._write_lock, self._sessions() as session, session.begin():
            generation = _lock_generation(session)
            change(session)
            session.flush()
            _announce(session, generation, "")
        self._dirty = True

    def _curators_in(self, session: Session) -> list[CuratorInfo]:
        own = [CuratorInfo(kid, key, "key file") for kid, key in self._own_keys.items()]
        rows = session.execute(
            select(TrustedCurator.kid, TrustedCurator.public_key, TrustedCurator.origin)
        ).all()
        return own + [CuratorInfo(kid, bytes(key), origin) for kid, key, origin in rows]

    def _stored_policy(self, session: Session) -> TrustPolicy:
        rows = session.execute(select(TrustedCurator.kid, TrustedCurator.public_key)).all()
        return self._policy_with([(kid, bytes(key)) for kid, key in rows])

    def _policy_with(self, stored: Iterable[tuple[str, bytes]]) -> TrustPolicy:
        keys = dict(self._own_keys)
        known = set(keys.values())
        for kid, key in stored:
            if key in known:
                continue  # e.g. the key file's curator, also stored by a rotation
            keys[kid if kid not in keys else f"{kid} (stored)"] = key
            known.add(key)
        return TrustPolicy(curator_keys=keys)

    def signers(self, hash_list: HashList) -> list[str]:
        """The ids of the trusted curators whose signatures ``hash_list`` carries."""
        ids = (self.policy.key_id(sig.public_key) for sig in hash_list.signatures)
        return sorted({kid for kid in ids if kid is not None})

    def _stored(self, session: Session, list_id: str) -> HashList | None:
        """The newest stored version of ``list_id`` (the in-memory copy when it is that
        very version, else parsed from the database)."""
        row = session.execute(
            select(HashListVersion.version, HashListVersion.digest)
            .where(HashListVersion.list_id == list_id)
            .order_by(HashListVersion.version.desc())
            .limit(1)
        ).one_or_none()
        if row is None:
            return None
        version, digest = row
        cached = self._lists.get(list_id)
        if (
            cached is not None
            and cached.header.version == version
            and cached.digest.hex() == digest
        ):
            return cached
        data = _version_data(session, list_id, version)
        try:
            return load_list(data, self.policy)
        except HashesError as exc:
            raise BankError(f"stored list {list_id!r} is not trusted: {exc}") from exc


def _announce(session: Session, generation: int, payload: str) -> None:
    """Move the ``banks`` generation past ``generation`` and (PostgreSQL) notify every
    listening process at commit."""
    session.execute(
        update(SharedCounter)
        .where(SharedCounter.name == BANKS_COUNTER)
        .values(generation=generation + 1)
    )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": BANKS_CHANNEL, "payload": payload},
        )


def _newest_versions(session: Session) -> list[tuple[str, bytes]]:
    newest = session.execute(
        select(HashListVersion.list_id, func.max(HashListVersion.version)).group_by(
            HashListVersion.list_id
        )
    ).all()
    return [(list_id, _version_data(session, list_id, v)) for list_id, v in newest]


def _generation(session: Session) -> int:
    value = session.scalar(
        select(SharedCounter.generation).where(SharedCounter.name == BANKS_COUNTER)
    )
    return int(value or 0)


def _lock_generation(session: Session) -> int:
    """Lock the ``banks`` counter row for this transaction (PostgreSQL: ``FOR UPDATE``;
    SQLite: the transaction already holds the write lock) and return its value."""
    value = session.scalar(
        select(SharedCounter.generation)
        .where(SharedCounter.name == BANKS_COUNTER)
        .with_for_update()
    )
    if value is None:
        session.add(SharedCounter(name=BANKS_COUNTER, generation=0))
        session.flush()  # a concurrent creator makes this an IntegrityError: retried
        return 0
    return int(value)


def _version_data(session: Session, list_id: str, version: int) -> bytes:
    data = session.scalar(
        select(HashListVersion.data).where(
            HashListVersion.list_id == list_id, HashListVersion.version == version
        )
    )
    return bytes(data or b"")


def _match(matcher: Matcher, value: HashValue, variants: Variants | None) -> list[Match]:
    """:meth:`Matcher.match_variants` over ``value``'s algorithm in ``variants``, else
    :meth:`Matcher.match` of ``value`` alone."""
    named = [(n, h[value.algorithm]) for n, h in (variants or {}).items() if value.algorithm in h]
    return matcher.match_variants(named) if named else matcher.match(value)


def _holds(held: HashList, value: HashValue, category: str) -> bool:
    header = held.header
    if header.algorithm is not value.algorithm or category not in header.categories:
        return False
    row = np.frombuffer(value.digest, dtype=np.uint8)
    same = np.all(held.hashes == row, axis=1)
    wanted = header.categories.index(category)
    return bool(np.any(same & (held.categories == wanted)))


def _next_version(
    held: HashList | None,
    list_id: str,
    value: HashValue,
    category: str,
    entry_id: str | None,
    now_ms: int,
    threshold: int,
) -> HashList:
    if held is None:
        return build_list(
            list_id=list_id,
            version=1,
            issued_at_ms=now_ms,
            algorithm=value.algorithm,
            threshold=threshold if value.algorithm.perceptual else 0,
            categories=[category],
            hashes=[value],
            entry_categories=np.array([0]),
            entry_ids=[entry_id],
        )
    header = held.header
    if header.algorithm is not value.algorithm:
        raise BankError(f"list {list_id!r} holds {header.algorithm.value} hashes")
    categories = list(header.categories)
    if category not in categories:
        categories.append(category)
    rows = np.vstack([held.hashes, np.frombuffer(value.digest, dtype=np.uint8)[None, :]])
    cats = np.concatenate([held.categories.astype(np.int64), [categories.index(category)]])
    ids = [held.entry_id(i) for i in range(len(held))] + [entry_id]
    return build_list(
        videos=held.videos,
        list_id=list_id,
        version=header.version + 1,
        issued_at_ms=now_ms,
        algorithm=header.algorithm,
        threshold=header.threshold,
        categories=categories,
        hashes=rows,
        entry_categories=cats,
        entry_ids=ids,
        previous_digest=held.digest,
    )


def _holds_video(held: HashList, video: VideoHash, category: str) -> bool:
    videos = held.videos
    if videos is None or category not in held.header.categories:
        return False
    wanted = held.header.categories.index(category)
    for i in range(len(videos)):
        if int(videos.categories[i]) != wanted:
            continue
        listed = videos.video(i)
        if listed.same_file(video) or [f.pdq for f in listed.frames] == [
            f.pdq for f in video.frames
        ]:
            return True
    return False


def _next_video_version(
    held: HashList | None,
    list_id: str,
    video: VideoHash,
    category: str,
    entry_id: str | None,
    now_ms: int,
) -> HashList:
    """The next version of a service video list: its image entries unchanged (none for
    the service's own), its video entries plus ``video``."""
    if held is None:
        categories = [category]
        entries = build_video_entries([video], [0], [entry_id])
        return build_list(
            list_id=list_id,
            version=1,
            issued_at_ms=now_ms,
            algorithm=Algorithm.PDQ,
            threshold=DEFAULT_PDQ_THRESHOLD,
            categories=categories,
            hashes=np.zeros((0, 32), dtype=np.uint8),
            entry_categories=np.zeros(0, dtype=np.int64),
            videos=entries,
        )
    header = held.header
    categories = list(header.categories)
    if category not in categories:
        categories.append(category)
    old = held.videos
    count = 0 if old is None else len(old)
    listed = [] if old is None else [old.video(i) for i in range(count)]
    cats = [] if old is None else [int(old.categories[i]) for i in range(count)]
    ids = [] if old is None else [old.entry_id(i) for i in range(count)]
    policy = (
        {}
        if old is None
        else {
            "distance_threshold": old.distance_threshold,
            "quality_threshold": old.quality_threshold,
            "query_match_percent": old.query_match_percent,
            "compared_match_percent": old.compared_match_percent,
        }
    )
    entries = build_video_entries(
        [*listed, video], [*cats, categories.index(category)], [*ids, entry_id], **policy
    )
    return build_list(
        list_id=list_id,
        version=header.version + 1,
        issued_at_ms=now_ms,
        algorithm=header.algorithm,
        threshold=header.threshold,
        categories=categories,
        hashes=held.hashes,
        entry_categories=held.categories.astype(np.int64),
        entry_ids=[held.entry_id(i) for i in range(len(held))],
        previous_digest=held.digest,
        videos=entries,
    )
