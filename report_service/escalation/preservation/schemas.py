"""Request and response bodies of ``/v1/review/holds`` (:mod:`.router`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from report_service.escalation.preservation.policy import MAX_DAYS, MAX_REFERENCE_CHARS
from report_service.escalation.preservation.service import HoldPlacement, HoldView

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"

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


class HoldIn(BaseModel):
    """A manual hold on one report, or on every report of a review item."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"item_id": 12, "reason": "litigation hold LH-2026-4", "days": 180},
                {
                    "report_id": "0b9d7c52-3c1e-4f0a-9a55-0c6f1f6f2b10",
                    "reason": "law-enforcement preservation request PR-88",
                    "indefinite": True,
                    "reference": "PR-88",
                },
            ]
        },
    )

    report_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=NO_CONTROL)
    item_id: int | None = Field(default=None, ge=1, le=2**62)
    reason: str = Field(min_length=10, max_length=1000)
    days: int | None = Field(
        default=None, ge=1, le=MAX_DAYS, description="Default: FRANKLY_PRESERVATION_DAYS."
    )
    indefinite: bool = Field(default=False, description="Until released; excludes `days`.")
    reference: str | None = Field(
        default=None, min_length=1, max_length=MAX_REFERENCE_CHARS, pattern=NO_CONTROL
    )

    @model_validator(mode="after")
    def _one_target(self) -> HoldIn:
        if (self.report_id is None) == (self.item_id is None):
            raise ValueError("give exactly one of report_id and item_id")
        if self.indefinite and self.days is not None:
            raise ValueError("give days or indefinite, not both")
        return self


class ReleaseIn(BaseModel):
    """Why a hold is released; `force_before_expiry` overrides an NCMEC hold's year."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "LH-4 settled, counsel's note 2026-12-03"}]},
    )

    reason: str = Field(min_length=10, max_length=1000)
    force_before_expiry: bool = False
