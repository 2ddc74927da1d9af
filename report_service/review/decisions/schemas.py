"""Request and response models of decisions and banking."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from report_service.review.decisions.taxonomy import (
    MAX_NOTE_CHARS,
    MAX_REASON_CHARS,
    MIN_REASON_CHARS,
    POLICY_PATTERN,
)
from report_service.review.schemas import (
    DECISION_EXAMPLE,
    ITEM_EXAMPLE,
    PDQ_EXAMPLE,
    DecisionName,
    DecisionOut,
    InModel,
    ItemSummaryOut,
    OutModel,
)

NO_NUL = r"^[^\x00]*$"


class BankIn(InModel):
    """Optional body of ``POST /items/{id}/bank``: a lead's override needs a reason."""

    reason: str | None = Field(
        default=None,
        min_length=MIN_REASON_CHARS,
        max_length=MAX_REASON_CHARS,
        description="Required for a lead's override (banking a decision that did not ask "
        "for it, or someone else's); written to the audit log.",
        examples=["known NCII series; the decider missed the second image"],
    )


class DecisionIn(InModel):
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


class DecideOut(OutModel):
    """The outcome of a decision."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "item": {
                        **ITEM_EXAMPLE,
                        "status": "decided",
                        "outcome": "suspend_sender",
                        "updated_at": 1795386100000,
                    },
                    "decision": DECISION_EXAMPLE,
                    "banked": {
                        "list_id": "service-bank",
                        "list_version": 4,
                        "hashes": [PDQ_EXAMPLE],
                    },
                }
            ]
        },
    )

    item: ItemSummaryOut
    decision: DecisionOut
    banked: BankOut | None


class BankOut(OutModel):
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

DecideOut.model_rebuild()
