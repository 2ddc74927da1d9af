"""Response models of the item view and the flagged list."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from report_service.review.schemas import (
    DECISION_EXAMPLE,
    ITEM_EXAMPLE,
    PDQ_EXAMPLE,
    DecisionOut,
    ItemSummaryOut,
    LeaseOut,
    OutModel,
)

_SHA = "3721f1a5c4a0e5d3b0a7f3a1c5e2d4b6a8c0e2f4a6b8d0c2e4f6a8b0c2d4e6f8"

_COMMITMENT = "9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d"

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
    "pdq": PDQ_EXAMPLE,
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


class BankMatchOut(OutModel):
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


class AttachmentOut(OutModel):
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


class MessageOut(OutModel):
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


class VerifiedOut(OutModel):
    """Facts the service verified cryptographically (franking commitment and stamp)."""

    message: MessageOut
    attachments: list[AttachmentOut]


class ReporterClaimOut(OutModel):
    """What one reporter says; none of it is verified."""

    report_id: str
    reporter_id: str
    reason: str
    received_at: int
    comment: str | None
    device_matches: list[dict[str, str | int | float | bool | None]] | None = Field(
        description="On-device match hints (unverified): flat objects of short values."
    )


class OtherItemOut(OutModel):
    """Another item about the same sender."""

    id: int
    reason: str
    status: str
    outcome: str | None
    reporter_count: int
    created_at: int


class ItemDetailOut(OutModel):
    """Everything a moderator needs to decide, verified facts apart from claims."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "item": ITEM_EXAMPLE,
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
                        {**DECISION_EXAMPLE, "id": 9, "item_id": 4, "decision": "warn_sender"}
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


class FlaggedOut(OutModel):
    """Items flagged for a lead, oldest first."""

    items: list[ItemSummaryOut]
