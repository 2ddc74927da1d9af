"""Tables of the report service (migration ``0001``; ``media_messages``: ``0003``; the
review item key and ``lead_flag``: ``0004``; ``relay_sends`` and the relay queue's
``size``: ``0005``; ``review_items.claim_key`` and its index: ``0007``).

Times are integer milliseconds since the epoch (the service clock). Digests and
commitments are lowercase hex. Message text, attachments and the reporter's comment are
never stored in the clear: they live in :class:`EvidenceBlob` rows encrypted under a
per-report data key, itself wrapped by the master key in :class:`EvidenceKey`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from report_service.storage.base import Base

ID = String(128)
HEX64 = String(64)

#: The queue's sort key, computed by the database (a stored generated column; on SQLite
#: databases upgraded by migration ``0007``, a virtual one, materialised in the index). 120000 is
#: :data:`report_service.review.queue.priority.MS_PER_POINT`; a test keeps the two equal.
CLAIM_KEY_SQL = "CAST(priority AS BIGINT) * 120000 - created_at"


class User(Base):
    """A reporter / relay user. Only the SHA-256 of the bearer token is stored."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    # Migration 0008: a revoked user's token is refused (401); NULL = active.
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RelayMessage(Base):
    """A ciphertext waiting for its recipient; deleted on delivery or after its TTL."""

    __tablename__ = "relay_queue"

    message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recipient_id: Mapped[str] = mapped_column(ID, index=True)
    sender_id: Mapped[str] = mapped_column(ID)
    conversation_id: Mapped[str] = mapped_column(ID)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    commitment: Mapped[bytes] = mapped_column(LargeBinary(32))
    stamp: Mapped[bytes] = mapped_column(LargeBinary(32))
    key_id: Mapped[str] = mapped_column(String(64))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    size: Mapped[int] = mapped_column(Integer, server_default="0")

    __table_args__ = (
        Index("ix_relay_queue_inbox_order", "recipient_id", "timestamp_ms", "message_id"),
    )


class RelaySend(Base):
    """One accepted send, kept until the relay's TTL (migration ``0005``).

    It answers a repeated send with the first stamp (``(sender_id, client_message_id)`` is
    the idempotency key; ``request_digest`` is the SHA-256 of the first request, so a
    different body under the same id is refused) and counts the sender's sends per window
    for the quota. It holds no ciphertext, commitment, recipient or conversation.
    """

    __tablename__ = "relay_sends"

    message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sender_id: Mapped[str] = mapped_column(ID)
    client_message_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    request_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    size: Mapped[int] = mapped_column(Integer)
    stamp: Mapped[bytes] = mapped_column(LargeBinary(32))
    key_id: Mapped[str] = mapped_column(String(64))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)

    __table_args__ = (
        UniqueConstraint("sender_id", "client_message_id"),
        Index("ix_relay_sends_sender_time", "sender_id", "timestamp_ms"),
    )


class Report(Base):
    """A verified report. The primary key on ``report_id`` is the idempotency guarantee."""

    __tablename__ = "reports"

    report_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reporter_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str] = mapped_column(ID)
    status: Mapped[str] = mapped_column(String(16))
    first_response: Mapped[str] = mapped_column(Text)
    message_count: Mapped[int] = mapped_column(Integer)
    attachment_count: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[int] = mapped_column(BigInteger)


class EvidenceKey(Base):
    """A report's data key wrapped by the master key; ``wrapped_key`` NULL = destroyed."""

    __tablename__ = "evidence_keys"

    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.report_id", ondelete="CASCADE"), primary_key=True
    )
    master_key_id: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    destroyed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class EvidenceBlob(Base):
    """One encrypted piece of evidence: ``kind`` is payload | attachment | comment |
    device_matches; ``ref`` the payload id or attachment sha256 ("" for the others)."""

    __tablename__ = "evidence_blobs"
    __table_args__ = (UniqueConstraint("report_id", "kind", "ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.report_id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(128))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class ReportMessage(Base):
    """The verified facts about one message of a report (its text is evidence)."""

    __tablename__ = "report_messages"
    __table_args__ = (UniqueConstraint("report_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.report_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    sender_id: Mapped[str] = mapped_column(ID)
    recipient_id: Mapped[str] = mapped_column(ID)
    conversation_id: Mapped[str] = mapped_column(ID)
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    commitment: Mapped[str] = mapped_column(HEX64, index=True)
    key_id: Mapped[str] = mapped_column(String(64))
    payload_id: Mapped[str] = mapped_column(ID)
    reported: Mapped[bool] = mapped_column(Boolean)


class Media(Base):
    """An attachment of a reported message as hashed by the service from verified bytes."""

    __tablename__ = "media"
    __table_args__ = (UniqueConstraint("report_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.report_id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(HEX64, index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(127))
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decode_error: Mapped[str | None] = mapped_column(String(64), nullable=True)


class MediaMessage(Base):
    """Which reported message (by commitment) committed a stored medium (migration ``0003``).

    Written at intake from the verified payloads: a medium is linked to every reported
    message of its report whose payload commits to its digest (the same bytes may be
    attached to two reported messages). A review item shows, serves and banks only the
    media linked to its own commitment, never the other reported messages' media of the
    same report.
    """

    __tablename__ = "media_messages"

    media_id: Mapped[int] = mapped_column(
        ForeignKey("media.id", ondelete="CASCADE"), primary_key=True
    )
    commitment: Mapped[str] = mapped_column(HEX64, primary_key=True, index=True)


class BankMatch(Base):
    """A match of a report's media against one of the service's hash banks.

    ``variant`` names the query variant that matched (:mod:`hashes.variants`: ``flipy``,
    ``rotate90``, ``trimmed``, ...); NULL means ``original`` (every row written before
    migration ``0010``).
    """

    __tablename__ = "bank_matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.report_id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(HEX64)
    list_id: Mapped[str] = mapped_column(String(128))
    list_version: Mapped[int] = mapped_column(Integer)
    algorithm: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[int] = mapped_column(Integer)
    distance: Mapped[int] = mapped_column(Integer)
    entry_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    variant: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Video matches (migration ``0015``): the share of the query's frames that found a
    # listed frame (vPDQ), 100 for an exact file match; NULL for pictures.
    match_percent: Mapped[float | None] = mapped_column(Float, nullable=True)


class MediaVideo(Base):
    """What the service computed from a video attachment's verified bytes (migration
    ``0015``): its vPDQ and file digests (``VideoHash.to_dict`` JSON, ``hash_json``), its
    duration, and how many keyframes were stored (encrypted evidence blobs of kind
    ``keyframe``, ref ``<sha256>:<n>``); or why it could not be decoded safely."""

    __tablename__ = "media_videos"
    __table_args__ = (UniqueConstraint("report_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.report_id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(HEX64, index=True)
    hash_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    keyframe_count: Mapped[int] = mapped_column(Integer, default=0)
    decode_error: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ReviewItem(Base):
    """One item per *stamped* message: reports merge into it only when they cite the same
    ``(commitment, sender_id, conversation_id)`` (docs/protocol.md, "What makes a review
    item"; the key since migration ``0004``, by commitment alone before).

    ``status``: open | claimed | decided. ``queue``: child_safety | general. ``outcome`` is
    written by :mod:`report_service.review` when decided. ``lead_flag`` is set by migration
    ``0004`` on items a lead should look at (see :data:`FLAG_DECIDED_ON_MERGED`). A
    ``claimed`` item always has a lease row (possibly expired);
    :mod:`report_service.review.queue.store` keeps that so.

    ``claim_key`` is the queue order as a column the database computes itself
    (``priority * MS_PER_POINT - created_at``, see :mod:`report_service.review.queue.priority`):
    claim-next reads the first entry of ``ix_review_items_claim`` instead of sorting the
    queue, whatever code writes ``priority``.
    """

    __tablename__ = "review_items"
    __table_args__ = (
        Index("ix_review_items_queue_status_priority", "queue", "status", "priority"),
        UniqueConstraint("commitment", "sender_id", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    commitment: Mapped[str] = mapped_column(HEX64)
    conversation_id: Mapped[str] = mapped_column(ID)
    sender_id: Mapped[str] = mapped_column(ID, index=True)  # index: migration 0008
    reason: Mapped[str] = mapped_column(String(32))
    reporter_count: Mapped[int] = mapped_column(Integer)
    max_bank_severity: Mapped[int] = mapped_column(Integer)
    child_safety: Mapped[bool] = mapped_column(Boolean)
    queue: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # index: migration 0008
    outcome: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    lead_flag: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)

    # Never NULL (both operands are NOT NULL); declared nullable because SQLite cannot add
    # a NOT NULL generated column to an existing table.
    claim_key: Mapped[int] = mapped_column(
        BigInteger, Computed(CLAIM_KEY_SQL, persisted=True), nullable=True
    )


Index(
    "ix_review_items_claim",
    ReviewItem.queue,
    ReviewItem.status,
    ReviewItem.claim_key.desc(),
    ReviewItem.id,
)


FLAG_DECIDED_ON_MERGED = "decided_on_merged_reports"
"""``lead_flag`` of an item that was decided while reports about other stamped copies of
its commitment (another sender or conversation) were merged into it; migration ``0004``
moved those reports to items of their own."""
FLAG_SPLIT_FROM_MERGED = "split_from_merged_item"
"""``lead_flag`` of an item that migration ``0004`` split off a merged item."""
FLAG_UNATTRIBUTED = "unattributed_reports"
"""``lead_flag`` of an item holding a report that cites none of its stamped messages
(never written by intake; found by migration ``0004``)."""


class ReportItem(Base):
    """Which reports are about which review item."""

    __tablename__ = "report_items"

    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.report_id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("review_items.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class HashListVersion(Base):
    """A signed hash-list version held by the service's banks (the exact signed bytes)."""

    __tablename__ = "hash_lists"
    __table_args__ = (UniqueConstraint("list_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(HEX64)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)


class PreservationHold(Base):
    """A preservation hold on one report's evidence (migration ``0012``).

    While a hold is *active* (``released_at`` NULL and ``expires_at`` NULL or later than
    now) the report's wrapped data key is never deleted: not by a retention purge, not by
    ``frankly evidence destroy`` (:func:`report_service.storage.evidence.shred_data_key`
    refuses). Holds overlap freely; the rules live in
    :mod:`report_service.escalation.preservation.policy`.

    ``source`` says who placed it (``manual``, ``ncmec``, ...), ``reference`` an outside
    reference (a CyberTipline report id, a court order number); the same
    ``(report_id, source, reference)`` is one hold (placing it again is a no-op, which is
    what makes the NCMEC flow's retries safe). ``item_id`` is the review item the hold was
    placed through, when it was placed on an item. ``minimum_until`` is the end of a
    statutory minimum period (REPORT Act: one year for an NCMEC report) before which a
    release needs an explicit, audited override; NULL for holds without one.
    """

    __tablename__ = "preservation_holds"
    __table_args__ = (UniqueConstraint("report_id", "source", "reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.report_id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_items.id", ondelete="SET NULL"), nullable=True
    )
    source: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(64))
    placed_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    minimum_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    released_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    release_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    release_forced: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
