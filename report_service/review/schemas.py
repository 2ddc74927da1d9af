"""Request and response models that several review features share (input and output kept
apart): the base models, names and patterns, the item summary, lease, decision and
release answers, and the examples they show.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from report_service.review.decisions.taxonomy import MAX_REASON_CHARS, MIN_REASON_CHARS

DecisionName = Literal[
    "no_violation",
    "warn_sender",
    "restrict_sender",
    "suspend_sender",
    "escalate_child_safety",
    "escalate_legal",
]

QueueName = Literal["child_safety", "general"]

# At least MIN_REASON_CHARS characters from the first to the last non-blank one, no NUL:
# what review.decisions.check_reason accepts, so that the schema promises no more.
REASON_PATTERN = rf"^\s*[^\s\x00][^\x00]{{{MIN_REASON_CHARS - 2},}}[^\s\x00]\s*$"


class OutModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class InModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReasonIn(InModel):
    """A stated reason, required to reveal an original or reopen a decision."""

    reason: str = Field(
        min_length=MIN_REASON_CHARS,
        max_length=MAX_REASON_CHARS,
        pattern=REASON_PATTERN,
        description="Why this is needed; written to the audit log (at least "
        f"{MIN_REASON_CHARS} characters once leading and trailing blanks are stripped).",
        examples=["blurred view is ambiguous; need to confirm nudity"],
    )


class LeaseOut(OutModel):
    """An exclusive lease on an item."""

    item_id: int
    moderator: str
    claimed_at: int
    expires_at: int


class ItemSummaryOut(OutModel):
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

PDQ_EXAMPLE = "f8f0e0c0c0e0f0f8f8f0e0c0c0e0f0f8f8f0e0c0c0e0f0f8f8f0e0c0c0e0f0f8"

ITEM_EXAMPLE: dict[str, Any] = {
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

DECISION_EXAMPLE: dict[str, Any] = {
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


class DecisionOut(OutModel):
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


class ReleasedOut(OutModel):
    """An item handed back to its queue."""

    item: ItemSummaryOut
