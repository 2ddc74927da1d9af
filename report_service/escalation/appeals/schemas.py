"""Request and response models of statements and appeals (``/v1/statements``,
``/v1/appeals``, ``/v1/review/appeals``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_APPEAL_REASON_CHARS = 2000
NO_NUL = r"^[^\x00]*$"


class StatementOut(BaseModel):
    """A statement of reasons as its subject sees it (Art. 17): the decision in plain
    words, which of their messages it concerns, and the exact copy for the EU database."""

    statement_id: int
    kind: Literal["decision", "correction"]
    decision: str
    policy: str
    summary: str
    message_id: str | None
    message_at: int | None
    decided_at: int
    standing: bool
    appealable_until: int | None
    appeal_id: int | None
    how_to_appeal: str
    transparency_database: dict[str, Any]


class StatementsOut(BaseModel):
    """The caller's statements, newest first."""

    statements: list[StatementOut]


class AppealIn(BaseModel):
    """``{statement_id, reason}``."""

    model_config = ConfigDict(extra="forbid")

    statement_id: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field(min_length=1, max_length=MAX_APPEAL_REASON_CHARS, pattern=NO_NUL)


class AppealOut(BaseModel):
    """An appeal as its appellant sees it."""

    appeal_id: int
    statement_id: int
    status: Literal["open", "claimed", "decided"]
    created_at: int
    outcome: Literal["uphold", "reverse"] | None = None
    outcome_reason: str | None = None
    decided_at: int | None = None


class AppealReviewOut(BaseModel):
    """An appeal as a reviewer sees it."""

    appeal_id: int
    statement_id: int
    item_id: int
    decision: str
    policy: str
    decided_by: str
    reason: str
    status: str
    created_at: int
    claimed_by: str | None
    lease_until: int | None
    outcome: str | None
    outcome_reason: str | None


class AppealsReviewOut(BaseModel):
    """Appeals waiting or held, oldest first."""

    appeals: list[AppealReviewOut]


class AppealClaimIn(BaseModel):
    """An optional lease length (ms)."""

    model_config = ConfigDict(extra="forbid")

    lease_ms: int | None = Field(default=None, ge=30_000, le=3_600_000)


class AppealDecisionIn(BaseModel):
    """``{outcome: uphold|reverse, reason}``."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["uphold", "reverse"]
    reason: str = Field(min_length=1, max_length=1000, pattern=NO_NUL)
