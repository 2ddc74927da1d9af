"""Request and response bodies of ``/v1/review/holds`` (:mod:`.router`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from report_service.escalation.preservation.policy import MAX_DAYS, MAX_REFERENCE_CHARS
from report_service.escalation.preservation.service import HoldPlacement, HoldView
from report_service.review.decisions.taxonomy import MAX_REASON_CHARS, MIN_REASON_CHARS
from report_service.review.http import MAX_ITEM_ID
from report_service.review.schemas import REASON_PATTERN

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
REFERENCE_PATTERN = r"^[^\x00-\x1f\x7f]+$"
"""What :func:`report_service.escalation.preservation.policy.check_reference` accepts."""

_EXAMPLE: dict[str, Any] = {
    "hold_id": 4,
    "report_id": "0b9d7c52-3c1e-4f0a-9a55-0c6f1f6f2b10",
    "item_id": 12,
    "source": "ncmec",
    "reference": "CT-1234567",
    "reason": "CyberTipline report filed",
    "placed_by": "system",
    "placed_at": 1796305280000,
    "expires_at": 1827841280000,
    "minimum_until": 1827841280000,
    "released_at": None,
    "released_by": None,
    "release_reason": None,
    "release_forced": None,
    "status": "active",
}


class HoldOut(BaseModel):
    """A preservation hold on one report's evidence (times in ms since the epoch)."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [_EXAMPLE]})

    hold_id: int
    report_id: str
    item_id: int | None = Field(description="The review item the hold was placed through.")
    source: str = Field(description="`manual`, `ncmec`, ...")
    reference: str | None = Field(description="Outside reference, e.g. a CyberTipline id.")
    reason: str
    placed_by: str
    placed_at: int
    expires_at: int | None = Field(description="null: until released")
    minimum_until: int | None = Field(
        description="End of the statutory minimum period (NCMEC: one year); a release "
        "before it needs `force_before_expiry`. null: none."
    )
    released_at: int | None
    released_by: str | None
    release_reason: str | None
    release_forced: bool | None
    status: Literal["active", "expired", "released"]

    @classmethod
    def of(cls, h: HoldView) -> HoldOut:
        """The body of one hold."""
        return cls.model_validate(h.to_json())


class HoldsOut(BaseModel):
    """Holds by id."""

    model_config = ConfigDict(frozen=True)

    holds: list[HoldOut]


class PlacementOut(BaseModel):
    """The holds now covering the requested reports (new, or earlier ones with the same
    reference), the ids this call created, and reports with nothing left to hold."""

    model_config = ConfigDict(frozen=True)

    holds: list[HoldOut]
    placed: list[int]
    already_destroyed: list[str]

    @classmethod
    def of(cls, p: HoldPlacement) -> PlacementOut:
        """The body of a placement."""
        return cls(
            holds=[HoldOut.of(h) for h in p.holds],
            placed=list(p.placed),
            already_destroyed=list(p.already_destroyed),
        )


class _HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=MIN_REASON_CHARS,
        max_length=MAX_REASON_CHARS,
        pattern=REASON_PATTERN,
        description="Why (10 to 1000 characters); written to the audit log.",
    )
    days: Annotated[int, Field(ge=1, le=MAX_DAYS)] | Literal["indefinite"] | None = Field(
        default=None,
        description='Days the hold lasts, or "indefinite" (until released); '
        "default FRANKLY_PRESERVATION_DAYS.",
    )
    reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REFERENCE_CHARS,
        pattern=REFERENCE_PATTERN,
        description="Outside reference; the same report and reference is held once.",
    )


class ReportHoldIn(_HoldIn):
    """A manual hold on one report."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "report_id": "0b9d7c52-3c1e-4f0a-9a55-0c6f1f6f2b10",
                    "reason": "law-enforcement preservation request PR-88",
                    "days": "indefinite",
                    "reference": "PR-88",
                }
            ]
        },
    )

    report_id: str = Field(min_length=1, max_length=64, pattern=NO_CONTROL)


class ItemHoldIn(_HoldIn):
    """A manual hold on every report of a review item."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"item_id": 12, "reason": "litigation hold LH-2026-4", "days": 180}]
        },
    )

    item_id: int = Field(ge=1, le=MAX_ITEM_ID)


class ReleaseIn(BaseModel):
    """Why a hold is released; `force_before_expiry` overrides an NCMEC hold's year."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "LH-4 settled, counsel's note 2026-12-03"}]},
    )

    reason: str = Field(
        min_length=MIN_REASON_CHARS, max_length=MAX_REASON_CHARS, pattern=REASON_PATTERN
    )
    force_before_expiry: bool = False
