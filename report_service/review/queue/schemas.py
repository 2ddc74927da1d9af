"""Request and response models of queues and claims."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from report_service.review.queue.leases import MAX_LEASE_MS, MIN_LEASE_MS
from report_service.review.schemas import InModel, ItemSummaryOut, LeaseOut, OutModel, QueueName


class ClaimIn(InModel):
    """Optional lease length for a claim."""

    lease_ms: int | None = Field(
        default=None,
        ge=MIN_LEASE_MS,
        le=MAX_LEASE_MS,
        description="Lease length in ms (30 s to 1 h; default 10 minutes).",
    )


class QueueOut(OutModel):
    """One queue's state."""

    queue: QueueName
    depth: int = Field(description="Items waiting to be claimed (open, or lease expired).")
    claimed: int = Field(description="Items under a live lease.")
    oldest_age_ms: int | None = Field(description="Age of the oldest waiting item.")
    top_priority: int | None = Field(description="Highest stored priority waiting.")


class QueuesOut(OutModel):
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


class ClaimOut(OutModel):
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


class ClaimsOut(OutModel):
    """The caller's live claims, soonest expiry first."""

    claims: list[ClaimOut]
