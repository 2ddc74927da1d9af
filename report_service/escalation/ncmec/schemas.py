"""Request and response models of the CyberTipline API (``/v1/review/ncmec``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NcmecFileOut(BaseModel):
    """One file of a report: facts and progress, never bytes."""

    position: int
    sha256: str
    size: int
    mime: str
    file_name: str
    classification: str | None
    viewed_by_esp: bool
    publicly_available: bool
    ncmec_file_id: str | None
    uploaded_at: int | None
    details_sent_at: int | None


class NcmecReportOut(BaseModel):
    """A CyberTipline report and where its submission stands."""

    id: int
    item_id: int
    decision_id: int
    status: str
    incident_type: str
    incident_at: int
    sender_id: str
    screen_name: str | None
    escalate_to_high_priority: str | None
    prepared_by: str
    prepared_at: int
    approved_by: str | None
    approved_at: int | None
    ncmec_report_id: int | None
    attempts: int
    next_attempt_at: int
    last_error: str | None
    ambiguous_submits: int
    retracted_ids: list[int]
    finished_at: int | None
    files: list[NcmecFileOut]


class NcmecReportsOut(BaseModel):
    """A list of reports, newest first."""

    reports: list[NcmecReportOut]


class ApproveIn(BaseModel):
    """What the approving lead confirms or adds before the report may leave."""

    model_config = ConfigDict(extra="forbid")

    classification: Literal["A1", "A2", "B1", "B2"] | None = Field(
        default=None, description="industry classification of every file (A1, A2, B1, B2)"
    )
    file_classifications: dict[str, Literal["A1", "A2", "B1", "B2"]] = Field(
        default_factory=dict,
        max_length=100,
        description="per-file classification by SHA-256 (hex), over `classification`",
    )
    screen_name: str | None = Field(default=None, min_length=1, max_length=128)
    escalate_to_high_priority: str | None = Field(
        default=None,
        min_length=1,
        max_length=3000,
        description="why NCMEC should treat this as urgent (a child in imminent danger)",
    )
    publicly_available: bool = Field(
        default=False, description="whether the files were publicly available on the service"
    )
