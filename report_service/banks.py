"""The service's hash banks: signed hash lists the service matches reported media against.

This module is the one seam between the service and :mod:`hashes`. Lists are kept as
their exact signed bytes in the ``hash_lists`` table; at start the newest version of each
list is loaded through :func:`hashes.lists.load_list` under the service's trust policy
(its own curator key, plus any configured curator keys). Media is re-hashed here from the
verified bytes (client-side hashes are hints only).

:meth:`HashBanks.add_entry` banks a confirmed violation: it builds the next version of
the service's own list (chained by ``previous_digest``), signs it with the service
curator key from the key file, stores it and starts matching against it at once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from hashes.decode import DecodeLimits
from hashes.errors import HashesError
from hashes.lists import (
    HashList,
    ListHeader,
    TrustPolicy,
    build_list,
    load_list,
    sign_list,
    trusted_state,
)
from hashes.matching import Match, Matcher
from hashes.values import Algorithm, HashValue
from hashes.variants import Variants
from report_service.errors import BankError
from report_service.keys import CuratorKey
from report_service.storage.models import HashListVersion

SERVICE_LIST_ID = "frankly-service-bank"
DECODE_LIMITS = DecodeLimits(max_bytes=25 * 1024 * 1024, max_pixels=1 << 26, max_frames=100)
DEFAULT_PDQ_THRESHOLD = 31

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


def hash_media(data: bytes, mime: str) -> tuple[MediaFacts, list[HashValue]]:
    """SHA-256 of any attachment; PDQ and pHash of pictures that decode safely.

    Every attachment is tried as a picture whatever its declared type (the type comes
    from the sender). Bytes that do not decode are not an error: the facts say why
    (``decode_error``) and only the SHA-256 is matched.
    """
    from hashes.compute import hash_image

    digest = hashlib.sha256(data).hexdigest()
    values = [HashValue(Algorithm.SHA256, bytes.fromhex(digest))]
    try:
        result = hash_image(
            data, (Algorithm.PDQ, Algorithm.PHASH), limits=DECODE_LIMITS, variants=True
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

    Thread-safe: matching reads an immutable snapshot; updates swap it under a lock.
    """

    def __init__(
        self,
        session_factory: Callable[[], Session],
        curator: CuratorKey,
        extra_curator_keys: Mapping[str, bytes] | None = None,
    ) -> None:
        self._sessions = session_factory
        self._curator = curator
        keys = {curator.kid: curator.public_key, **dict(extra_curator_keys or {})}
        self.policy = TrustPolicy(curator_keys=keys)
        self._lock = threading.Lock()
        self._lists: dict[str, HashList] = {}
        self._matchers: tuple[Matcher, ...] = ()

    def load(self) -> HashBanks:
        """Load the newest stored version of every list (call once at start).

        Raises:
            BankError: a stored list no longer passes the trust policy.
        """
        with self._sessions() as session:
            rows = session.execute(
                select(HashListVersion.list_id, HashListVersion.data).order_by(
                    HashListVersion.list_id, HashListVersion.version.desc()
                )
            ).all()
        newest: dict[str, bytes] = {}
        for list_id, data in rows:
            newest.setdefault(list_id, data)
        lists = {}
        for list_id, data in newest.items():
            try:
                lists[list_id] = load_list(data, self.policy)
            except HashesError as exc:
                raise BankError(f"stored list {list_id!r} is not trusted: {exc}") from exc
        with self._lock:
            self._lists = lists
            self._matchers = tuple(Matcher(h) for h in lists.values())
        return self

    @property
    def lists(self) -> Mapping[str, HashList]:
        """The lists in use, by id."""
        return dict(self._lists)

    def match(self, values: Iterable[HashValue], variants: Variants | None = None) -> list[BankHit]:
        """Every bank entry within its list's threshold of one of ``values``, or of one of
        their ``variants`` (mirrors, rotations, border trimmed: ``MediaFacts.variants``)."""
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
        facts, values = hash_media(data, mime)
        return facts, self.match(values, facts.variants)

    def import_list(self, data: bytes, now_ms: int) -> ListHeader:
        """Store and start using a signed list file (a new list, or the next version of one
        already held).

        Raises:
            BankError: the list fails the trust policy, or rolls back or forks a held list.
        """
        with self._lock:
            try:
                probe = load_list(data, self.policy)
                held = self._lists.get(probe.header.list_id)
                accepted = load_list(
                    data, self.policy, trusted_state(held) if held is not None else None
                )
            except HashesError as exc:
                raise BankError(f"list refused: {exc}") from exc
            self._store(accepted, data, now_ms)
            return accepted.header

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
        the service's list for ``value``'s algorithm, and match against it from now on.

        Idempotent: when the list already holds ``value`` under ``category``, nothing is
        built and the held version's header is returned (see :meth:`holds`).

        Raises:
            BankError: the value's algorithm differs from the list's, or the list cannot
                be built (bad category or entry id).
        """
        with self._lock:
            held = self._lists.get(list_id)
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
            self._store(accepted, data, now_ms)
            return accepted.header

    def holds(self, value: HashValue, category: str, list_id: str = SERVICE_LIST_ID) -> bool:
        """Whether ``list_id`` already holds exactly ``value`` under ``category``."""
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

    def _store(self, accepted: HashList, data: bytes, now_ms: int) -> None:
        header = accepted.header
        with self._sessions() as session:
            session.add(
                HashListVersion(
                    list_id=header.list_id,
                    version=header.version,
                    digest=accepted.digest.hex(),
                    data=data,
                    created_at=now_ms,
                )
            )
            session.commit()
        lists = {**self._lists, header.list_id: accepted}
        self._lists = lists
        self._matchers = tuple(Matcher(h) for h in lists.values())


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
