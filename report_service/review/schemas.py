"""Request and response models of the review API (input and output kept apart)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from report_service.review.decisions.taxonomy import (
    MAX_NOTE_CHARS,
    MAX_REASON_CHARS,
    MIN_REASON_CHARS,
    POLICY_PATTERN,
)
from report_service.review.queue.leases import MAX_LEASE_MS, MIN_LEASE_MS

DecisionName = Literal[
    "no_violation",
    "warn_sender",
    "restrict_sender",
    "suspend_sender",
    "escalate_child_safety",
    "escalate_legal",
]
RoleName = Literal["moderator", "child_safety", "safety_lead", "lead", "auditor", "admin"]
QueueName = Literal["child_safety", "general"]
NO_NUL = r"^[^\x00]*$"
# At least MIN_REASON_CHARS characters from the first to the last non-blank one, no NUL:
# what review.decisions.check_reason accepts, so that the schema promises no more.
REASON_PATTERN = rf"^\s*[^\s\x00][^\x00]{{{MIN_REASON_CHARS - 2},}}[^\s\x00]\s*$"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------- inputs


class ClaimIn(_In):
    """Optional lease length for a claim."""

    lease_ms: int | None = Field(
        default=None,
        ge=MIN_LEASE_MS,
        le=MAX_LEASE_MS,
        description="Lease length in ms (30 s to 1 h; default 10 minutes).",
    )


class ReasonIn(_In):
    """A stated reason, required to reveal an original or reopen a decision."""

    reason: str = Field(
        min_length=MIN_REASON_CHARS,
        max_length=MAX_REASON_CHARS,
        pattern=REASON_PATTERN,
        description="Why this is needed; written to the audit log (at least "
        f"{MIN_REASON_CHARS} characters once leading and trailing blanks are stripped).",
        examples=["blurred view is ambiguous; need to confirm nudity"],
    )


class BankIn(_In):
    """Optional body of ``POST /items/{id}/bank``: a lead's override needs a reason."""

    reason: str | None = Field(
        default=None,
        min_length=MIN_REASON_CHARS,
        max_length=MAX_REASON_CHARS,
        description="Required for a lead's override (banking a decision that did not ask "
        "for it, or someone else's); written to the audit log.",
        examples=["known NCII series; the decider missed the second image"],
    )


class DecisionIn(_In):
    """A decision about the held item."""

    decision: DecisionName = Field(description="One of the fixed taxonomy.")
    policy: str = Field(
        pattern=f"^{POLICY_PATTERN.pattern}$",
        description="Policy identifier the decision applies (a-z 0-9 _ . - /, at most 64).",
        examples=["harassment/1.2"],
    )
    note: str = Field(
        default="", max_length=MAX_NOTE_CHARS, pattern=NO_NUL, description="Moderator's note."
    )
    bank_media: bool = Field(
        default=False,
        description="For a violation: add the PDQ hashes of the item's images to the "
        "service's hash bank (a new signed list version).",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "decision": "suspend_sender",
                    "policy": "ncii/2.0",
                    "note": "matches known NCII; sender has prior warnings",
                    "bank_media": True,
                }
            ]
        },
    )


class ModeratorIn(_In):
    """A new moderator account."""

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$",
        description="Letters, digits, `_ . @ -`, starting with a letter or digit.",
        examples=["alice"],
    )
    role: RoleName


# ---------------------------------------------------------------------------- outputs


class MeOut(_Out):
    """The authenticated moderator."""

    name: str
    role: RoleName
    queues: list[QueueName] = Field(description="Queues this role may see and claim from.")


class QueueOut(_Out):
    """One queue's state."""

    queue: QueueName
    depth: int = Field(description="Items waiting to be claimed (open, or lease expired).")
    claimed: int = Field(description="Items under a live lease.")
    oldest_age_ms: int | None = Field(description="Age of the oldest waiting item.")
    top_priority: int | None = Field(description="Highest stored priority waiting.")


class QueuesOut(_Out):
    """Every queue the caller may see."""

    queues: list[QueueOut]

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "queues": [
                        {
                            "queue": "general",
                            "depth": 3,
                            "claimed": 1,
                            "oldest_age_ms": 5_400_000,
                            "top_priority": 90,
                        }
                    ]
                }
            ]
        },
    )


class LeaseOut(_Out):
    """An exclusive lease on an item."""

    item_id: int
    moderator: str
    claimed_at: int
    expires_at: int


class ItemSummaryOut(_Out):
    """An item's state, without its content."""

    id: int
    queue: QueueName
    status: Literal["open", "claimed", "decided"]
    outcome: str | None
    reason: str
    reporter_count: int
    max_bank_severity: int
    priority: int
    effective_priority: float = Field(description="priority plus ageing (see docs/review.md).")
    created_at: int
    updated_at: int
    lead_flag: str | None = Field(
        default=None,
        description="Why a lead should look at the item, or null: `decided_on_merged_reports`,"
        " `split_from_merged_item` or `unattributed_reports` (set by migration 0004, see"
        ' docs/review.md, "What makes an item").',
    )


class ClaimOut(_Out):
    """A claimed item and its lease."""

    item: ItemSummaryOut
    lease: LeaseOut
    taken_over_from: str | None = Field(
        default=None, description="Whose expired lease this claim replaced."
    )

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "item": {
                        "id": 1,
                        "queue": "general",
                        "status": "claimed",
                        "outcome": None,
                        "reason": "ncii",
                        "reporter_count": 1,
                        "max_bank_severity": 0,
                        "priority": 85,
                        "effective_priority": 85.012,
                        "created_at": 1795385992732,
                        "updated_at": 1795385994179,
                    },
                    "lease": {
                        "item_id": 1,
                        "moderator": "mia",
                        "claimed_at": 1795385994179,
                        "expires_at": 1795386594179,
                    },
                    "taken_over_from": None,
                }
            ]
        },
    )


_SHA = "3721f1a5c4a0e5d3b0a7f3a1c5e2d4b6a8c0e2f4a6b8d0c2e4f6a8b0c2d4e6f8"
_PDQ = "f8f0e0c0c0e0f0f8f8f0e0c0c0e0f0f8f8f0e0c0c0e0f0f8f8f0e0c0c0e0f0f8"
_COMMITMENT = "9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d"
_ITEM_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "queue": "general",
    "status": "claimed",
    "outcome": None,
    "reason": "ncii",
    "reporter_count": 1,
    "max_bank_severity": 80,
    "priority": 85,
    "effective_priority": 85.012,
    "created_at": 1795385992732,
    "updated_at": 1795385994179,
}
_LEASE_EXAMPLE: dict[str, Any] = {
    "item_id": 1,
    "moderator": "mia",
    "claimed_at": 1795385994179,
    "expires_at": 1795386594179,
}
_ATTACHMENT_EXAMPLE: dict[str, Any] = {
    "sha256": _SHA,
    "size": 48213,
    "mime": "image/jpeg",
    "pdq": _PDQ,
    "pdq_quality": 100,
    "decode_error": None,
    "bank_matches": [
        {
            "list_id": "service-bank",
            "list_version": 3,
            "algorithm": "pdq",
            "category": "ncii",
            "severity": 80,
            "distance": 6,
            "entry_id": "review-7-3721f1a5c4a0e5d3",
            "variant": "flipy",
        }
    ],
    "thumbnail_url": f"/v1/review/items/1/media/{_SHA}",
    "reveal_url": f"/v1/review/items/1/media/{_SHA}/reveal",
    "evidence_destroyed": False,
    "kind": "image",
    "keyframes": 0,
    "duration_s": None,
    "keyframe_urls": [],
    "play_url": None,
}
_MESSAGE_EXAMPLE: dict[str, Any] = {
    "commitment": _COMMITMENT,
    "sender_id": "mallory",
    "recipient_ids": ["bob"],
    "conversation_id": "bob-mallory",
    "timestamp_ms": 1795385900000,
    "subject": True,
    "reported": True,
    "text": "you will regret this",
    "attachments": [{"id": "a0", "sha256": _SHA, "size": 48213, "mime": "image/jpeg"}],
}
_DECISION_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "item_id": 1,
    "moderator": "mia",
    "decision": "suspend_sender",
    "policy": "ncii/2.0",
    "note": "matches known NCII; sender has prior warnings",
    "banked": 1,
    "decided_at": 1795386100000,
    "reopened_at": None,
    "reopened_by": None,
    "reopen_reason": None,
}


class BankMatchOut(_Out):
    """A match of an attachment against a hash bank (computed by the service)."""

    list_id: str
    list_version: int
    algorithm: str
    category: str
    severity: int
    distance: int
    entry_id: str | None
    variant: str = Field(
        description="The query variant of the attachment that matched (hashes.variants): "
        "`original`, a rotation or mirror (`rotate90`, `rotate180`, `rotate270`, `flipx` "
        "top-bottom, `flipy` left-right, `flip_plus1`, `flip_minus1`), `trimmed` (a flat "
        "border cut off) or `trimmed+<rotation or mirror>`. Matches stored before "
        "migration 0010 show `original`."
    )
    match_percent: float | None = Field(
        default=None,
        description="Videos: the share of the attachment's frames that found a frame of the "
        "banked video (vPDQ; 100 for the same file, `algorithm` `sha256`). Null for pictures.",
    )


class AttachmentOut(_Out):
    """Verified attachment metadata (hashes computed by the service from the bytes)."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [_ATTACHMENT_EXAMPLE]})

    sha256: str
    size: int
    mime: str
    pdq: str | None
    pdq_quality: int | None
    decode_error: str | None
    bank_matches: list[BankMatchOut]
    thumbnail_url: str = Field(description="Blurred grayscale thumbnail (audited view).")
    reveal_url: str = Field(description="POST with a reason to see the original (audited).")
    evidence_destroyed: bool = Field(
        description="The original was destroyed: both URLs answer 410 `evidence_destroyed`; "
        "the hashes and bank matches stay."
    )
    kind: Literal["image", "video"] = Field(
        default="image",
        description="`video` for a video attachment (recognised by its bytes): its "
        "thumbnail_url is its first keyframe, blurred.",
    )
    keyframes: int = Field(
        default=0, description="How many keyframes of a video were kept (0 for pictures)."
    )
    duration_s: float | None = Field(default=None, description="A video's duration.")
    keyframe_urls: list[str] = Field(
        default_factory=list,
        description="A video's keyframes, each a blurred grayscale PNG (audited view).",
    )
    play_url: str | None = Field(
        default=None,
        description="A video's original for a `<video muted>` player: 403 "
        "`reveal_required` until the caller revealed it (reveal_url) in the last 15 minutes.",
    )


class MessageOut(_Out):
    """A franked message whose metadata and text the service verified."""

    commitment: str
    sender_id: str
    recipient_ids: list[str]
    conversation_id: str
    timestamp_ms: int
    subject: bool = Field(description="Whether this is the message the item is about.")
    reported: bool = Field(description="Whether a reporter marked it as reported.")
    text: str | None = Field(description="Decrypted body; null if the evidence was destroyed.")
    attachments: list[dict[str, Any]] = Field(
        description="Attachment descriptors committed in the payload (id, sha256, size, mime)."
    )


class VerifiedOut(_Out):
    """Facts the service verified cryptographically (franking commitment and stamp)."""

    message: MessageOut
    attachments: list[AttachmentOut]


class ReporterClaimOut(_Out):
    """What one reporter says; none of it is verified."""

    report_id: str
    reporter_id: str
    reason: str
    received_at: int
    comment: str | None
    device_matches: list[dict[str, str | int | float | bool | None]] | None = Field(
        description="On-device match hints (unverified): flat objects of short values."
    )


class OtherItemOut(_Out):
    """Another item about the same sender."""

    id: int
    reason: str
    status: str
    outcome: str | None
    reporter_count: int
    created_at: int


class DecisionOut(_Out):
    """A recorded decision."""

    id: int
    item_id: int
    moderator: str
    decision: DecisionName
    policy: str
    note: str
    banked: int = Field(description="How many hashes were banked from this decision.")
    decided_at: int
    reopened_at: int | None
    reopened_by: str | None
    reopen_reason: str | None


class ItemDetailOut(_Out):
    """Everything a moderator needs to decide, verified facts apart from claims."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "item": _ITEM_EXAMPLE,
                    "lease": _LEASE_EXAMPLE,
                    "verified": {
                        "message": _MESSAGE_EXAMPLE,
                        "attachments": [_ATTACHMENT_EXAMPLE],
                    },
                    "transcript": [
                        {
                            **_MESSAGE_EXAMPLE,
                            "commitment": "0" * 63 + "1",
                            "sender_id": "bob",
                            "recipient_ids": ["mallory"],
                            "timestamp_ms": 1795385800000,
                            "subject": False,
                            "reported": False,
                            "text": "who is this?",
                            "attachments": [],
                        },
                        _MESSAGE_EXAMPLE,
                    ],
                    "reporter_claims": [
                        {
                            "report_id": "5b0f8e0a-9c4e-4b8e-8f3e-2d6f1c1b7a10",
                            "reporter_id": "bob",
                            "reason": "ncii",
                            "received_at": 1795385992732,
                            "comment": "he keeps sending these",
                            "device_matches": [{"category": "ncii"}],
                        }
                    ],
                    "other_items_about_sender": [
                        {
                            "id": 4,
                            "reason": "harassment",
                            "status": "decided",
                            "outcome": "warn_sender",
                            "reporter_count": 2,
                            "created_at": 1795300000000,
                        }
                    ],
                    "decisions_about_sender": [
                        {**_DECISION_EXAMPLE, "id": 9, "item_id": 4, "decision": "warn_sender"}
                    ],
                    "decisions": [],
                    "evidence_destroyed": False,
                }
            ]
        },
    )

    item: ItemSummaryOut
    lease: LeaseOut | None
    verified: VerifiedOut
    transcript: list[MessageOut] = Field(description="Context messages in time order.")
    reporter_claims: list[ReporterClaimOut] = Field(
        description="What reporters say (comments, device hints): unverified."
    )
    other_items_about_sender: list[OtherItemOut]
    decisions_about_sender: list[DecisionOut]
    decisions: list[DecisionOut] = Field(description="Decisions about this item, oldest first.")
    evidence_destroyed: bool
    notes: list[str] = Field(
        default_factory=list,
        description="Stored fields left out of this view because they are malformed "
        "(kept in the evidence as received).",
    )


class DecideOut(_Out):
    """The outcome of a decision."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "item": {
                        **_ITEM_EXAMPLE,
                        "status": "decided",
                        "outcome": "suspend_sender",
                        "updated_at": 1795386100000,
                    },
                    "decision": _DECISION_EXAMPLE,
                    "banked": {"list_id": "service-bank", "list_version": 4, "hashes": [_PDQ]},
                }
            ]
        },
    )

    item: ItemSummaryOut
    decision: DecisionOut
    banked: BankOut | None


class BankOut(_Out):
    """Hashes added to the service's bank."""

    list_id: str
    list_version: int
    hashes: list[str] = Field(description="PDQ hashes added (hex).")
    videos: list[str] = Field(
        default_factory=list,
        description="SHA-256 of the videos banked (their vPDQ frames and file digests, as "
        "video entries of the service's video list `frankly-service-video-bank`; then "
        "`list_id` and `list_version` name that list).",
    )


class ReleasedOut(_Out):
    """An item handed back to its queue."""

    item: ItemSummaryOut


class FlaggedOut(_Out):
    """Items flagged for a lead, oldest first."""

    items: list[ItemSummaryOut]


class ClaimsOut(_Out):
    """The caller's live claims, soonest expiry first."""

    claims: list[ClaimOut]


class AuditEntryOut(_Out):
    """One audit entry, with the fields its hash covers (see docs/review.md)."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "seq": 6,
                    "at_ms": 1795385998000,
                    "actor": "mia",
                    "action": "media_reveal",
                    "item_id": 1,
                    "detail": {"reason": "confirm this is the reporter", "sha256": "3721..."},
                    "prev_hash": "9c1f...",
                    "entry_hash": "0b7e...",
                }
            ]
        },
    )

    seq: int
    at_ms: int
    actor: str
    action: str
    item_id: int | None
    detail: dict[str, Any]
    prev_hash: str
    entry_hash: str


class AuditPageOut(_Out):
    """A page of audit entries; pass ``next_after`` as ``after`` for the next page."""

    entries: list[AuditEntryOut]
    next_after: int | None


class AuditVerifyOut(_Out):
    """The result of verifying the whole chain."""

    ok: bool
    entries: int = Field(description="Entries stored.")
    head_seq: int = Field(description="The recorded chain head's position.")
    head_hash: str = Field(description="The recorded head hash: publish it, check it later.")
    first_broken: int | None = Field(description="First broken 1-based position, if any.")
    problem: str | None

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "ok": False,
                    "entries": 8,
                    "head_seq": 8,
                    "head_hash": "5616421492c50beef359510077ee6354962a0df5bc09760857d6dc013652dda9",
                    "first_broken": 6,
                    "problem": "entry hash does not match its contents",
                }
            ]
        },
    )


class ModeratorOut(_Out):
    """A moderator account (never its token)."""

    name: str
    role: RoleName
    created_at: int
    revoked_at: int | None


class ModeratorCreatedOut(_Out):
    """A new account and its bearer token, shown once."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "mia",
                    "role": "moderator",
                    "token": "Q2hhbmdlTWUtdGhpcy1pcy1hbi1leGFtcGxlLXRva2Vu",
                }
            ]
        },
    )

    name: str
    role: RoleName
    token: str


class ModeratorsOut(_Out):
    """Every moderator account."""

    moderators: list[ModeratorOut]


DecideOut.model_rebuild()
