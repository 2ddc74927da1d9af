"""On-device scanning of attachments against verified, signed hash lists.

DESIGN.md, "Who uses it" and "Hash lists": the client hashes attachments on the device and
warns on matches against lists signed by trusted curators. Scanning is entirely offline:
nothing here opens a socket, and a result leaves the device only if the user puts it in a
report (as a device match hint, :meth:`ScanResult.hints`).

The app hands in list bytes (from its own update channel). :meth:`Scanner.load_list`
verifies them with :func:`hashes.lists.load_list` under the trust policy and against the
:class:`~hashes.lists.TrustedState` already held for that list id (no rollback, no fork),
then swaps the scanner's state in one assignment: a concurrent :meth:`Scanner.scan` sees
either the old lists or the new ones, never a mix. A refused update leaves the old list
in place and raises :class:`~client_scan.errors.ListUpdateRejected` from the
:class:`~hashes.errors.HashListError`.

Transparency mode (docs/transparency.md, "Device rule"): a scanner given a
:class:`~client_scan.transparency.rule.LogPolicy` accepts lists only through
:meth:`Scanner.apply_update` with a list update bundle (an inclusion proof in a witnessed
checkpoint consistent with the one it trusts), keeps that checkpoint in its trusted state
and, with a :class:`~client_scan.transparency.store.TrustStore`, in a 0600 file. Every
list with a signed expiry is refused once it has expired (``ListExpired``).

The hashing and matching engines are parameters (``hasher``, ``matcher_factory``) with
defaults from :mod:`hashes`, so the seam to them stays two small protocols.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from client_scan.errors import InvalidInput, LogProofRequired
from client_scan.transparency.bundle import UpdateBundle
from client_scan.transparency.rule import LogPolicy, check_bundle, list_refusal
from client_scan.transparency.store import DeviceTrust, TrustStore, merged
from hashes.errors import DecodeError, HashListError
from hashes.lists import (
    HashList,
    TrustedState,
    TrustPolicy,
    check_fresh,
    load_list,
    trusted_state,
)
from hashes.lists.format import peek_list_id
from hashes.transparency.verify import TrustedCheckpoint
from hashes.values import Algorithm, HashValue
from hashes.video import looks_like_video
from hashes.video.listmatch import VideoListMatcher
from hashes.video.variants import VideoVariants
from hashes.video.vpdq import VideoHash, VpdqFrame

__all__ = [
    "HashOutcome",
    "Hasher",
    "ListMatcher",
    "MatchLike",
    "MatcherFactory",
    "ScanMatch",
    "ScanResult",
    "Scanner",
    "VideoHasher",
    "default_hasher",
    "default_matcher_factory",
    "default_video_hasher",
]


class HashOutcome(Protocol):
    """What the scanner needs from a hashing result (``hashes.compute.HashResult``)."""

    @property
    def hashes(self) -> Mapping[Algorithm, HashValue]: ...

    @property
    def low_quality(self) -> bool: ...


Hasher = Callable[[bytes, Sequence[Algorithm]], HashOutcome]
"""Hash image bytes with the given perceptual algorithms; raises ``DecodeError``."""


class MatchLike(Protocol):
    """What the scanner needs from one match (``hashes.matching.Match``)."""

    @property
    def list_id(self) -> str: ...

    @property
    def list_version(self) -> int: ...

    @property
    def category(self) -> str: ...

    @property
    def distance(self) -> int: ...

    @property
    def entry_id(self) -> str | None: ...

    @property
    def algorithm(self) -> Algorithm: ...


class ListMatcher(Protocol):
    """A matcher over one list (``hashes.matching.Matcher``)."""

    def match(self, value: HashValue, threshold: int | None = None) -> Sequence[MatchLike]: ...


MatcherFactory = Callable[[HashList], ListMatcher]

VideoHasher = Callable[[bytes], VideoHash | VideoVariants]
"""Hash video bytes to vPDQ (``hashes.video.hash_video``), or to vPDQ and its query
variants (``hashes.video.variants.hash_video_variants``: mirrored, letterboxed, off-grid
copies match too); raises ``DecodeError``."""


def default_video_hasher(data: bytes) -> VideoVariants:
    """:func:`hashes.video.variants.hash_video_variants` in process with the device's
    variants (:data:`~hashes.video.variants.DEVICE_VIDEO_VARIANTS`: mirrors, rotations and
    a dark border trimmed, about 1.25x the CPU of vPDQ alone; ``benchmarks/video.py``),
    default :class:`~hashes.video.VideoLimits` (a desktop app can pass
    ``lambda d: HashSandbox(...).hash_video(d).hash`` instead, or
    ``functools.partial(hash_video_variants, policy=...)`` for other variants).

    Raises:
        DecodeError: the bytes are not a video that can be decoded safely.
    """
    from hashes.video.variants import DEVICE_VIDEO_VARIANTS, hash_video_variants

    return hash_video_variants(data, DEVICE_VIDEO_VARIANTS)


def default_hasher(data: bytes, algorithms: Sequence[Algorithm]) -> HashOutcome:
    """Hash with :func:`hashes.compute.hash_image` (fast path, default decode limits),
    with the query variants (mirrors, rotations, trimmed border) that the scan matches.

    In-process, under the same header budget as the service (memory estimated from the
    canvas, mode and depth; JPEG scans capped): a phone app may not start processes.
    Where it can (a desktop app), pass ``hasher=HashSandbox(...).hash_image`` to
    :class:`Scanner` for a hard time and memory limit as well (docs/client.md).

    Raises:
        DecodeError: the bytes are not an image that can be decoded safely (including
            ``DecodeMemoryExceeded`` and ``TooManyScans``).
    """
    from hashes.compute import hash_image

    result: HashOutcome = hash_image(data, tuple(algorithms), variants=True)
    return result


def default_matcher_factory(hash_list: HashList) -> ListMatcher:
    """A :class:`hashes.matching.Matcher` over ``hash_list``."""
    from hashes.matching import Matcher

    matcher: ListMatcher = Matcher(hash_list)
    return matcher


@dataclass(frozen=True, slots=True)
class ScanMatch:
    """One attachment hash within the list's threshold of a list entry.

    For a video (``media="video"``): a listed video that the attachment matched by vPDQ
    (``algorithm`` PDQ, ``distance`` 0, ``query_match_percent`` the share of the
    attachment's frames found in it) or by the file's SHA-256 (``algorithm`` SHA256).
    """

    list_id: str
    list_version: int
    category: str
    distance: int
    algorithm: Algorithm
    entry_id: str | None = None
    variant: str = "original"
    media: str = "image"
    query_match_percent: float | None = None

    def to_hint(self, sha256: str) -> dict[str, Any]:
        """The device-match hint for a report (unverified by the service). A video match
        says ``"media": "video"``, ``"algorithm": "vpdq"`` (or ``sha256``/``md5`` when the
        file itself is listed) and the share of its frames that matched."""
        hint: dict[str, Any] = {
            "sha256": sha256,
            "list_id": self.list_id,
            "list_version": self.list_version,
            "category": self.category,
            "algorithm": str(self.algorithm),
            "distance": self.distance,
        }
        if self.entry_id is not None:
            hint["entry_id"] = self.entry_id
        if self.variant != "original":
            hint["variant"] = self.variant
        if self.media != "image":
            hint["media"] = self.media
            if self.algorithm is Algorithm.PDQ:
                hint["algorithm"] = "vpdq"
        if self.query_match_percent is not None:
            hint["query_match_percent"] = round(self.query_match_percent, 1)
        return hint


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The outcome of scanning one attachment: matches (nearest first) and whether the
    picture had too little detail for its perceptual hash to be trusted (``low_quality``:
    a match on it deserves less weight, and no match means less).

    ``decode_error`` says why the bytes could not be hashed as a picture (not an image,
    corrupt, over a decoding limit) when a perceptual list is loaded; the byte-hash lists
    were still checked.
    """

    sha256: str
    matches: tuple[ScanMatch, ...]
    low_quality: bool
    decode_error: str | None = None
    hashes: Mapping[Algorithm, HashValue] = field(default_factory=dict, repr=False)

    @property
    def matched(self) -> bool:
        return bool(self.matches)

    def hints(self) -> list[dict[str, Any]]:
        """Device-match hints for :func:`client_scan.report_builder.build_report`."""
        return [m.to_hint(self.sha256) for m in self.matches]


@dataclass(frozen=True, slots=True)
class _Loaded:
    hash_list: HashList
    matcher: ListMatcher
    state: TrustedState
    video_matcher: VideoListMatcher | None = None


@dataclass(frozen=True, slots=True)
class _State:
    """Everything a scan reads, replaced as a whole on every update."""

    lists: Mapping[str, _Loaded]
    trusted: Mapping[str, TrustedState]
    checkpoint: TrustedCheckpoint | None = None


def _byte_hashes(data: bytes) -> dict[Algorithm, HashValue]:
    return {
        Algorithm.SHA256: HashValue(Algorithm.SHA256, hashlib.sha256(data).digest()),
        Algorithm.MD5: HashValue(Algorithm.MD5, hashlib.md5(data, usedforsecurity=False).digest()),
    }


class Scanner:
    """Scans attachment bytes against the loaded hash lists; thread-safe.

    ``trusted`` are the list states the app remembered from earlier runs (see
    :attr:`trusted_states`; that mapping, or its values), so a rollback is refused across
    restarts too. With ``store`` the scanner reads its trusted lists and checkpoint from
    that file (merged with ``trusted``, the higher version winning) and writes them back
    before every accepted update.

    ``log_policy`` turns on transparency mode (recommended; docs/transparency.md): lists
    are then accepted only by :meth:`apply_update`. ``trusted_checkpoint`` is the log
    checkpoint trusted before (without a store). ``require_expiry`` refuses bare lists
    that carry no expiry (in transparency mode the policy decides). ``clock`` gives
    seconds since the epoch.

    Raises (on construction):
        TrustStoreError: ``store``'s file is unreadable or malformed.
        (an invalid ``policy`` is refused by :class:`hashes.lists.TrustPolicy`.)
    """

    def __init__(
        self,
        policy: TrustPolicy,
        *,
        trusted: Mapping[str, TrustedState] | Iterable[TrustedState] = (),
        hasher: Hasher | None = None,
        matcher_factory: MatcherFactory | None = None,
        video_hasher: VideoHasher | None = None,
        log_policy: LogPolicy | None = None,
        trusted_checkpoint: TrustedCheckpoint | None = None,
        store: TrustStore | None = None,
        require_expiry: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._policy = policy
        self._log_policy = log_policy
        self._store = store
        self._require_expiry = require_expiry
        self._clock = clock
        self._hasher = hasher if hasher is not None else default_hasher
        self._video_hasher = video_hasher if video_hasher is not None else default_video_hasher
        self._matcher_factory = (
            matcher_factory if matcher_factory is not None else default_matcher_factory
        )
        self._write_lock = threading.Lock()
        states = list(trusted.values() if isinstance(trusted, Mapping) else trusted)
        if store is not None:
            stored = store.load()
            states = merged(stored.lists, states)
            given, kept = trusted_checkpoint, stored.checkpoint
            if given is None or (
                kept is not None and kept.checkpoint.size >= given.checkpoint.size
            ):
                trusted_checkpoint = kept  # never step back from what the store holds
        self._state = _State(
            lists={}, trusted={s.list_id: s for s in states}, checkpoint=trusted_checkpoint
        )

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    @property
    def trusted_checkpoint(self) -> TrustedCheckpoint | None:
        """The log checkpoint accepted last (transparency mode), ``None`` before the first."""
        return self._state.checkpoint

    def expired_lists(self) -> dict[str, int]:
        """Loaded lists whose signed expiry has passed (list id -> ``expires_at_ms``): they
        are still matched against, but the feed has not delivered a newer version in time;
        tell the user their protection is out of date."""
        now = self._now_ms()
        return {
            list_id: expires
            for list_id, loaded in self._state.lists.items()
            if (expires := loaded.hash_list.header.expires_at_ms) is not None and expires <= now
        }

    def _commit(self, state: _State, hash_list: HashList, new_state: TrustedState) -> None:
        """Persist, then swap in one assignment (a failed write leaves everything as it was)."""
        videos = VideoListMatcher(hash_list) if hash_list.videos is not None else None
        loaded = _Loaded(hash_list, self._matcher_factory(hash_list), new_state, videos)
        list_id = hash_list.header.list_id
        trusted = {**state.trusted, list_id: new_state}
        if self._store is not None:
            self._store.save(DeviceTrust(tuple(trusted.values()), state.checkpoint))
        self._state = _State(
            lists={**state.lists, list_id: loaded}, trusted=trusted, checkpoint=state.checkpoint
        )

    @property
    def trusted_states(self) -> Mapping[str, TrustedState]:
        """The trusted state of every list id seen; persist them to refuse rollbacks after
        a restart."""
        return dict(self._state.trusted)

    @property
    def lists(self) -> Mapping[str, HashList]:
        """The loaded lists by list id."""
        return {list_id: loaded.hash_list for list_id, loaded in self._state.lists.items()}

    def load_list(self, data: bytes) -> TrustedState:
        """Verify new list bytes and, if accepted, swap them in atomically.

        A list id not seen before is accepted on its signatures alone; a known one must be
        a legitimate successor of the trusted version (or that same version again). A list
        whose signed expiry has passed is refused.

        Raises:
            LogProofRequired: this scanner has a log policy (use :meth:`apply_update`).
            ListUpdateRejected: the bytes are malformed, not signed by enough trusted
                curators (``ListNotCuratorSigned``), a rollback (``ListRolledBack``), a
                fork (``ListChainBroken``), expired (``ListExpired``) or without an
                expiry when one is required (``ListExpiryMissing``); ``__cause__`` is the
                ``HashListError``. The lists in use are unchanged.
            TrustStoreError: the trusted-state file could not be written (nothing changed).
        """
        if self._log_policy is not None:
            raise LogProofRequired(
                "this device accepts lists only with a log inclusion proof (apply_update)"
            )
        with self._write_lock:
            state = self._state
            try:
                peek = _peek_list_id(data)
                hash_list = load_list(data, self._policy, state.trusted.get(peek))
                check_fresh(hash_list, self._now_ms(), require_expiry=self._require_expiry)
            except HashListError as exc:
                raise list_refusal(exc) from exc
            new_state = trusted_state(hash_list)
            self._commit(state, hash_list, new_state)
            return new_state

    def apply_update(self, bundle: bytes | UpdateBundle) -> TrustedState:
        """Apply a list update bundle under the device rule and, if it passes, swap in the
        list and trust the bundle's checkpoint (docs/transparency.md, "Device rule").

        Raises:
            InvalidInput: this scanner has no log policy.
            ListUpdateRejected: one subclass per reason (``UpdateBundleInvalid``,
                ``ListNotCuratorSigned``, ``ListRolledBack``, ``ListChainBroken``,
                ``ListExpired``, ``ListExpiryMissing``, ``CheckpointRefused``,
                ``WitnessNotTrusted``, ``NotEnoughCosignatures``, ``BundleBaseMismatch``,
                ``LogRolledBack``, ``LogForked``, ``LogInconsistent``,
                ``CheckpointReplayed``, ``LeafMismatch``, ``NotInLog``); the list in use
                and the trusted checkpoint are unchanged.
            TrustStoreError: the trusted-state file could not be written (nothing changed).
        """
        if self._log_policy is None:
            raise InvalidInput("apply_update needs a scanner made with a log_policy")
        with self._write_lock:
            state = self._state
            accepted = check_bundle(
                bundle,
                curators=self._policy,
                log=self._log_policy,
                trusted_lists=state.trusted,
                trusted_checkpoint=state.checkpoint,
                now_ms=self._now_ms(),
            )
            with_checkpoint = _State(state.lists, state.trusted, accepted.checkpoint)
            self._commit(with_checkpoint, accepted.hash_list, accepted.state)
            return accepted.state

    def scan(self, data: bytes) -> ScanResult:
        """Hash attachment bytes on the device and match them against every loaded list.

        Perceptual hashes are computed only when a loaded list uses them; byte hashes
        (SHA-256, MD5) need no decoding. A video (recognised by its container's magic
        bytes) is hashed by vPDQ only when a loaded list holds video entries, and matched
        against them under each list's policy (a clip of a listed video matches). Bytes
        that are not a picture (or video) that can be decoded safely are still checked
        against byte-hash lists, and the result's ``decode_error`` says why the media
        could not be read. No network is used.

        Raises:
            nothing for bad input (see ``decode_error``).
        """
        state = self._state  # one read: the whole scan uses one consistent state
        algorithms = {loaded.hash_list.header.algorithm for loaded in state.lists.values()}
        perceptual = sorted(a for a in algorithms if a.perceptual)
        values: dict[Algorithm, HashValue] = {}
        low_quality = False
        decode_error: str | None = None
        outcome_variants: Mapping[str, Mapping[Algorithm, HashValue]] | None = None
        video_lists = [
            loaded.video_matcher
            for loaded in state.lists.values()
            if loaded.video_matcher is not None and len(loaded.video_matcher)
        ]
        video_matches: list[ScanMatch] = []
        if looks_like_video(data):
            # A video: matched against the lists' video entries (and byte hashes below),
            # never decoded as a picture.
            perceptual = []
            if video_lists:
                try:
                    video = self._video_hasher(data)
                except DecodeError as exc:
                    decode_error = f"{type(exc).__name__}: {exc}"
                else:
                    video_matches = _match_video(video_lists, video)
        if perceptual:
            try:
                outcome = self._hasher(data, perceptual)
            except DecodeError as exc:
                decode_error = f"{type(exc).__name__}: {exc}"
            else:
                values.update({a: outcome.hashes[a] for a in perceptual if a in outcome.hashes})
                low_quality = outcome.low_quality
                outcome_variants = getattr(outcome, "variants", None)
        values.update(_byte_hashes(data))
        matches: list[ScanMatch] = video_matches
        for loaded in state.lists.values():
            value = values.get(loaded.hash_list.header.algorithm)
            if value is None:
                continue
            matches.extend(
                ScanMatch(
                    list_id=m.list_id,
                    list_version=m.list_version,
                    category=m.category,
                    distance=m.distance,
                    algorithm=m.algorithm,
                    entry_id=m.entry_id,
                    variant=getattr(m, "variant", "original"),
                )
                for m in _match_variants(loaded.matcher, value, outcome_variants)
            )
        matches.sort(key=lambda m: (m.distance, m.list_id, m.category, m.entry_id or ""))
        return ScanResult(
            sha256=values[Algorithm.SHA256].hex,
            matches=tuple(matches),
            low_quality=low_quality,
            decode_error=decode_error,
            hashes=values,
        )


def _match_variants(
    matcher: ListMatcher,
    value: HashValue,
    variants: Mapping[str, Mapping[Algorithm, HashValue]] | None,
) -> Sequence[MatchLike]:
    """Matches of the query in every shape the hasher gave (``HashResult.variants``: the
    original, its mirrors and rotations, its border trimmed), each entry once, through the
    nearest (:meth:`hashes.matching.Matcher.match_variants`). A hasher without variants or
    a matcher without ``match_variants`` is matched on ``value`` alone."""
    match_variants = getattr(matcher, "match_variants", None)
    named = [(n, h[value.algorithm]) for n, h in (variants or {}).items() if value.algorithm in h]
    if match_variants is None or not named:
        return matcher.match(value)
    found: Sequence[MatchLike] = match_variants(named)
    return found


def _match_video(
    matchers: Sequence[VideoListMatcher], video: VideoHash | VideoVariants
) -> list[ScanMatch]:
    """Matches of ``video`` (through every query variant, when it has them; each listed
    video once, ``variant`` naming the one that matched)."""
    found: list[ScanMatch] = []
    variants: Mapping[str, Sequence[VpdqFrame]]
    if isinstance(video, VideoHash):
        query, variants = video, {"original": video.frames}
    else:
        query, variants = video.hash, video.variants
    for matcher in matchers:
        for m in matcher.match_variants(query, variants):
            found.append(
                ScanMatch(
                    list_id=m.list_id,
                    list_version=m.list_version,
                    category=m.category,
                    distance=0,
                    algorithm=Algorithm.SHA256 if m.exact else Algorithm.PDQ,
                    entry_id=m.entry_id,
                    media="video",
                    query_match_percent=m.query_match_percent,
                    variant=m.variant,
                )
            )
    return found


def _peek_list_id(data: bytes) -> str:
    """The list id the bytes claim, read before trusting them (only to pick the trusted
    state to check against; :func:`load_list` then checks everything).

    Raises:
        HashListError: the bytes do not parse.
    """
    return peek_list_id(data)
