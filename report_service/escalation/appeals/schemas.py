"""Request and response models of statements and appeals (``/v1/statements``,
``/v1/appeals``, ``/v1/review/appeals``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from report_service.review.decisions.taxonomy import MAX_REASON_CHARS, MIN_REASON_CHARS
from report_service.review.schemas import REASON_PATTERN

MAX_APPEAL_REASON_CHARS = 2000
NON_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"  # what AppealsService.file_appeal accepts


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
    ended_at: int | None = Field(
        default=None,
        description="When the restriction ended (its correction's time); null while it stands.",
    )
    ended_because: Literal["appeal", "reopened"] | None = Field(
        default=None,
        description="appeal: reversed on the user's appeal; reopened: the decision was "
        "re-opened for a fresh review (a new violation decision gets its own statement).",
    )
    how_to_appeal: str
    transparency_database: dict[str, Any]


class StatementsOut(BaseModel):
    """The caller's statements, newest first."""

    statements: list[StatementOut]


def _exactly_one_in_schema(schema: dict[str, Any]) -> None:
    """``AppealIn``'s JSON schema: exactly one of ``statement_id`` and ``report_id``, and
    no ``null`` default (``null`` is not a value either field accepts)."""
    for name in ("statement_id", "report_id"):
        schema["properties"][name].pop("default", None)
    schema["oneOf"] = [{"required": ["statement_id"]}, {"required": ["report_id"]}]


class AppealIn(BaseModel):
    """``{statement_id, reason}`` (the reported user's appeal against a statement) or
    ``{report_id, reason}`` (the reporter's complaint against the decision on their
    report); exactly one of ``statement_id`` and ``report_id``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one_in_schema)

    statement_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | SkipJsonSchema[None] = Field(
        default=None, description="The reported user's statement whose decision they appeal."
    )
    report_id: Annotated[str, Field(min_length=1, max_length=64)] | SkipJsonSchema[None] = Field(
        default=None,
        description="The id of the caller's own decided report (as sent in the report).",
    )
    reason: str = Field(
        min_length=1,
        max_length=MAX_APPEAL_REASON_CHARS,
        pattern=NON_BLANK,
        description="Why the decision is wrong, in the appellant's words (at most 2000 "
        "characters); shown to the reviewing moderator.",
    )

    @model_validator(mode="after")
    def _exactly_one_target(self) -> AppealIn:
        if (self.statement_id is None) == (self.report_id is None):
            raise ValueError("give exactly one of statement_id and report_id")
        return self


class AppealOut(BaseModel):
    """An appeal as its appellant sees it: ``statement_id`` for a reported user's
    appeal, ``report_id`` for a reporter's complaint."""

    appeal_id: int
    statement_id: int | None = None
    report_id: str | None = None
    status: Literal["open", "claimed", "decided"]
    created_at: int
    outcome: Literal["uphold", "reverse", "superseded"] | None = Field(
        default=None,
        description="superseded: another appeal about the same decision, reviewed "
        "together with this one, was reversed, so the decision it contested no longer "
        "stands (outcome_reason says so).",
    )
    outcome_reason: str | None = None
    decided_at: int | None = None


class AppealReviewOut(BaseModel):
    """An appeal as a reviewer sees it (``by``: the reported ``sender`` or a
    ``reporter``; a reporter's complaint has no statement)."""

    appeal_id: int
    by: Literal["sender", "reporter"]
    statement_id: int | None
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
    joint_with: list[int] = Field(
        default_factory=list,
        description="The other undecided appeals about the same decision (the other "
        "party's): claimed, held and answered together with this one.",
    )


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
    reason: str = Field(
        min_length=MIN_REASON_CHARS,
        max_length=MAX_REASON_CHARS,
        pattern=REASON_PATTERN,
        description="Why; shown to the appellant and written to the audit log (at least "
        f"{MIN_REASON_CHARS} characters once blanks are stripped).",
    )
