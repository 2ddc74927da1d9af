"""Report intake: open, parse, verify, re-hash media, encrypt evidence, store.

:func:`build_record` is pure (time, randomness and the hashing results are inputs);
:class:`Intake` is the thin service around it that the HTTP router calls. Order of the
checks (each failure is an exception mapped to HTTP in :mod:`report_service.http_errors`,
and nothing is stored):

1. the seal opens with a sealing key (active first, then retired ones for reports in
   flight) -> ``seal_invalid``;
2. the JSON parses within the format's and the service's limits -> ``report_invalid``,
   ``too_many_messages``...;
3. ``reporter_id`` is the authenticated user -> ``reporter_mismatch``;
4. a report id the same reporter already stored answers with the first outcome (200);
5. every message verifies (DESIGN.md error table) -> 422 with ``message_index``;
6. media is hashed from the verified bytes and matched against the banks (pictures by
   PDQ/pHash/SHA-256; videos, recognised by their magic bytes, by vPDQ and file digests
   in the sandbox, with a few keyframes kept as encrypted evidence for review);
7. one transaction stores the report, its encrypted evidence and facts, and merges it
   into review items; a concurrent duplicate loses on the primary key and gets the first
   outcome.

Report ids are the reporter's idempotency keys, and one reporter never learns about
another's: a verified report whose id another reporter already holds (no honest client
draws the same UUID4 twice) is stored under :func:`alias_report_id` of its reporter and
id, answered exactly like a fresh one, and found again under the reporter's own id by
``GET /v1/reports/{id}`` and by a repeat. Nothing is answered before verification that
depends on someone else's ids, so ids can be neither probed nor squatted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from client_scan.errors import ReportLimitExceeded, SealError
from client_scan.franking.verify_report import VerifiedReport, verify_report
from client_scan.report_format import Report, message_to_json, parse_report
from hashes.video import looks_like_video
from report_service.banks import BankHit, HashBanks, MediaFacts, VideoFacts
from report_service.errors import Conflict, DuplicateReport, ReporterMismatch
from report_service.events import EventHook
from report_service.evidence import seal_blob, wrap_data_key
from report_service.keys import KeyMaterial
from report_service.observability import Metrics
from report_service.storage.reports import (
    Admit,
    ItemFacts,
    ReportRecord,
    RequeuePolicy,
    alias_report_id,
    own_first_response,
    store_report,
)

RandomBytes = Callable[[int], bytes]
KIND_MESSAGE = "message"
KIND_PAYLOAD = "payload"
KIND_ATTACHMENT = "attachment"
KIND_COMMENT = "comment"
KIND_DEVICE_MATCHES = "device_matches"
KIND_KEYFRAME = "keyframe"


def keyframe_ref(sha256: str, index: int) -> str:
    """The evidence ref of a video attachment's ``index``-th keyframe (PNG)."""
    return f"{sha256}:{index}"


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP status and JSON body for the reporter."""

    status: int
    body: Mapping[str, Any]


def open_report(sealed: bytes, keys: KeyMaterial) -> bytes:
    """Open a sealed report with the active sealing key, then with retired ones.

    Raises:
        SealError: no sealing key opens it.
    """
    ordered = [keys.active_sealing, *(k for k in keys.sealing if k.kid != keys.sealing_active)]
    for key in ordered:
        try:
            return key.opener.open(sealed)
        except SealError:
            continue
    raise SealError("report is not sealed to this service's key, or was altered")


def check_limits(report: Report, max_messages: int, max_attachments: int) -> None:
    """Apply the service's own limits (at most the format's).

    Raises:
        ReportLimitExceeded: ``too_many_messages`` or ``too_many_attachments``.
    """
    if len(report.messages) > max_messages:
        raise ReportLimitExceeded(
            f"at most {max_messages} messages per report", code="too_many_messages"
        )
    if len(report.attachments) > max_attachments:
        raise ReportLimitExceeded(
            f"at most {max_attachments} attachments per report", code="too_many_attachments"
        )


def received_answer(report_id: str) -> dict[str, Any]:
    """The first answer to a stored report."""
    return {"report_id": report_id, "status": "received"}


def build_record(
    verified: VerifiedReport,
    media: Mapping[str, tuple[MediaFacts, list[BankHit]]],
    *,
    now_ms: int,
    master_kid: str,
    master_key: bytes,
    random: RandomBytes,
    child_safety_categories: frozenset[str],
    stored_id: str | None = None,
    videos: Mapping[str, VideoFacts] | None = None,
) -> ReportRecord:
    """Everything to store for a verified report, with its evidence encrypted under a
    fresh data key wrapped by the master key. Pure: ``random`` supplies keys and nonces.

    ``stored_id`` is the id to store the report under when it is not the reporter's own
    (:func:`alias_report_id`); the first answer always names the reporter's id.
    ``videos`` holds what was computed from the video attachments (by digest): their
    hashes go to ``media_videos``, their keyframes are encrypted like the rest of the
    evidence (kind ``keyframe``, :func:`keyframe_ref`)."""
    rid = verified.report_id if stored_id is None else stored_id
    data_key = random(32)

    def blob(kind: str, ref: str, plaintext: bytes) -> dict[str, Any]:
        sealed = seal_blob(data_key, rid, kind, ref, plaintext, random(24))
        return {"report_id": rid, "kind": kind, "ref": ref, "ciphertext": sealed}

    blobs = [
        blob(KIND_MESSAGE, str(v.index), json.dumps(message_to_json(v.message)).encode())
        for v in verified.messages
    ]
    blobs += [blob(KIND_PAYLOAD, v.payload.id, v.payload.raw) for v in verified.messages]
    blobs += [blob(KIND_ATTACHMENT, digest, data) for digest, data in verified.attachments.items()]
    video_rows = []
    for digest, video in (videos or {}).items():
        blobs += [
            blob(KIND_KEYFRAME, keyframe_ref(digest, i), png)
            for i, png in enumerate(video.keyframes)
        ]
        video_rows.append(
            {
                "report_id": rid,
                "sha256": digest,
                "hash_json": None if video.hash is None else json.dumps(video.hash.to_dict()),
                "duration_s": None if video.hash is None else video.hash.duration_s,
                "keyframe_count": len(video.keyframes),
                "decode_error": video.decode_error,
            }
        )
    if verified.comment:
        blobs.append(blob(KIND_COMMENT, "", verified.comment.encode("utf-8")))
    if verified.device_matches:
        hints = [dict(m) for m in verified.device_matches]
        blobs.append(blob(KIND_DEVICE_MATCHES, "", json.dumps(hints, default=str).encode()))

    messages = [
        {
            "report_id": rid,
            "position": v.index,
            "sender_id": v.message.sender_id,
            "recipient_id": v.message.recipient_id,
            "conversation_id": v.message.conversation_id,
            "timestamp_ms": v.message.timestamp_ms,
            "commitment": v.message.commitment.hex(),
            "key_id": v.message.key_id,
            "payload_id": v.payload.id,
            "reported": v.reported,
        }
        for v in verified.messages
    ]
    media_rows = []
    match_rows = []
    for digest, (facts, hits) in media.items():
        media_rows.append(
            {
                "report_id": rid,
                "sha256": digest,
                "size": facts.size,
                "mime": facts.mime,
                "pdq": facts.pdq,
                "pdq_quality": facts.pdq_quality,
                "phash": facts.phash,
                "decode_error": facts.decode_error,
            }
        )
        match_rows += [
            {
                "report_id": rid,
                "sha256": digest,
                "list_id": h.list_id,
                "list_version": h.list_version,
                "algorithm": h.algorithm,
                "category": h.category,
                "severity": h.severity,
                "distance": h.distance,
                "entry_id": h.entry_id,
                "variant": h.variant,
                "match_percent": h.match_percent,
            }
            for h in hits
        ]
    # Which reported message committed which medium: every included attachment hashes to a
    # digest committed in at least one reported message (``attachment_mismatch``
    # otherwise), and the same bytes may be attached to several of them.
    media_messages = tuple(
        sorted(
            {
                (ref.sha256, v.message.commitment.hex())
                for v in verified.reported_messages
                for ref in v.payload.attachments
                if ref.sha256 in media
            }
        )
    )
    items = []
    for v in verified.reported_messages:
        hits = [h for ref in v.payload.attachments for h in media.get(ref.sha256, (None, []))[1]]
        items.append(
            ItemFacts(
                commitment=v.message.commitment.hex(),
                conversation_id=v.message.conversation_id,
                sender_id=v.message.sender_id,
                max_bank_severity=max((h.severity for h in hits), default=0),
                bank_categories=frozenset(h.category for h in hits),
                child_safety_set=child_safety_categories,
            )
        )
    return ReportRecord(
        report={
            "report_id": rid,
            "reporter_id": verified.reporter_id,
            "reason": str(verified.reason),
            "conversation_id": verified.conversation_id,
            "status": "received",
            "first_response": json.dumps(received_answer(verified.report_id)),
            "message_count": len(verified.messages),
            "attachment_count": len(verified.attachments),
            "received_at": now_ms,
        },
        evidence_key={
            "report_id": rid,
            "master_key_id": master_kid,
            "wrapped_key": wrap_data_key(master_key, master_kid, rid, data_key, random(24)),
            "destroyed_at": None,
        },
        blobs=tuple(blobs),
        messages=tuple(messages),
        media=tuple(media_rows),
        media_messages=media_messages,
        matches=tuple(match_rows),
        items=tuple(items),
        videos=tuple(video_rows),
    )


class Intake:
    """The report intake service behind ``POST /v1/reports``."""

    def __init__(
        self,
        *,
        keys: KeyMaterial,
        banks: HashBanks,
        session_factory: Callable[[], Session],
        read_engine: Engine | None = None,
        metrics: Metrics,
        clock: Callable[[], int],
        random: RandomBytes,
        max_messages: int,
        max_attachments: int,
        child_safety_categories: frozenset[str],
        requeue: RequeuePolicy,
        events: EventHook | None = None,
        video_budget_s: float = 120.0,
        monotonic: Callable[[], float] = time.monotonic,
        store_turn: Callable[[], AbstractContextManager[None]] | None = None,
    ) -> None:
        self.keys = keys
        self.banks = banks
        self.sessions = session_factory
        # The repeat check before verification only reads: on a Core connection of the
        # read engine (storage.engine.read_engine: no SQLite write lock, autocommit on
        # PostgreSQL), in a session where there is none.
        self.reads: Callable[[], AbstractContextManager[Connection | Session]] = (
            session_factory if read_engine is None else read_engine.connect
        )
        self.metrics = metrics
        self.clock = clock
        self.random = random
        self.max_messages = max_messages
        self.max_attachments = max_attachments
        self.child_safety_categories = child_safety_categories
        self.requeue = requeue  # the review policy for reports about decided items
        self.events = events  # told report.created in the storing transaction (webhooks)
        # All of a report's videos share one wall-clock budget: a report of many slow
        # videos answers within it (the videos past it are stored unhashed, matched by
        # their digests only).
        self.video_budget_s = video_budget_s
        self.monotonic = monotonic
        # On SQLite (one writer at a time anyway) stores take turns on a lock that wakes
        # the next one as soon as the previous store commits, instead of letting it sleep
        # in SQLite's busy handler (1, 2, 5 .. 100 ms steps) while the database sits idle
        # (report_service.storage.write_turn). Only a scheduling aid.
        self._store_turn = store_turn or nullcontext

    def _repeat(self, conn: Connection | Session, report_id: str, user_id: str) -> Answer | None:
        """The first answer to ``user_id``'s own report ``report_id`` (stored under the id
        or its alias), or ``None``. Another reporter's report is never an answer."""
        stored = own_first_response(conn, user_id, report_id)
        if stored is None:
            return None
        self.metrics.reports_duplicate.inc()
        return Answer(200, stored)

    def _store(self, record: ReportRecord, now_ms: int, admit: Admit | None) -> bool:
        """Store ``record``; ``False`` when its id was taken meanwhile (nothing written)."""
        with self._store_turn():
            return self._store_now(record, now_ms, admit)

    def _store_now(self, record: ReportRecord, now_ms: int, admit: Admit | None) -> bool:
        with self.sessions() as session:
            try:
                store_report(session, record, now_ms, self.requeue, self.events, admit)
            except DuplicateReport:
                return False
        return True

    def submit(self, user_id: str, sealed: bytes, admit: Admit | None = None) -> Answer:
        """Verify and store a sealed report from ``user_id``. ``admit`` runs in the
        storing transaction, last before its commit (the router passes the rate limiter's
        exact count); whatever it raises propagates and nothing is stored.

        Raises:
            SealError, ReportFormatError, ReportLimitExceeded, ReporterMismatch,
            FrankingError (any code of the design's table), Conflict: see the module
            docstring; nothing is stored.
        """
        now_ms = self.clock()
        start = time.perf_counter()
        report = parse_report(open_report(sealed, self.keys))
        check_limits(report, self.max_messages, self.max_attachments)
        if report.reporter_id != user_id:
            raise ReporterMismatch("reporter_id is not the authenticated user")
        with self.reads() as conn:
            repeat = self._repeat(conn, report.report_id, user_id)
        if repeat is not None:
            return repeat
        # Verify before anything about the id is answered: an unverified report learns
        # nothing about other reporters' ids, and cannot hold one.
        verified = verify_report(report, user_id, self.keys.franking, now_ms)
        self.metrics.verification_seconds.observe(time.perf_counter() - start)
        refs = {
            ref.sha256: ref.mime
            for v in verified.reported_messages
            for ref in v.payload.attachments
        }
        media: dict[str, tuple[MediaFacts, list[BankHit]]] = {}
        videos: dict[str, VideoFacts] = {}
        video_deadline = self.monotonic() + self.video_budget_s
        for digest, data in verified.attachments.items():
            mime = refs.get(digest, "application/octet-stream")
            if looks_like_video(data):  # by magic bytes, whatever the declared type
                left = video_deadline - self.monotonic()
                facts, videos[digest], hits = self.banks.examine_video(data, mime, budget_s=left)
                media[digest] = (facts, hits)
            else:
                media[digest] = self.banks.examine(data, mime)
        master = self.keys.active_master
        # The reporter's own id first; if another reporter holds it (now, or by the time
        # this insert runs), the alias. Each try is one transaction that writes nothing
        # when its id is taken.
        for stored_id in (report.report_id, alias_report_id(user_id, report.report_id)):
            record = build_record(
                verified,
                media,
                now_ms=now_ms,
                master_kid=master.kid,
                master_key=master.key,
                random=self.random,
                child_safety_categories=self.child_safety_categories,
                stored_id=stored_id,
                videos=videos,
            )
            if self._store(record, now_ms, admit):
                self.metrics.reports_accepted.inc()
                return Answer(201, received_answer(report.report_id))
            with self.sessions() as session:
                repeat = self._repeat(session, report.report_id, user_id)
            if repeat is not None:  # a concurrent repeat of this reporter's own report
                return repeat
        # Both the id and this reporter's alias of it are held by others: only someone
        # who knew this reporter's next id and name in advance can cause that.
        raise Conflict("choose another report_id")
