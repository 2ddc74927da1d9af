"""Response models of the audit log."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from report_service.review.schemas import OutModel


class AuditEntryOut(OutModel):
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


class AuditPageOut(OutModel):
    """A page of audit entries; pass ``next_after`` as ``after`` for the next page."""

    entries: list[AuditEntryOut]
    next_after: int | None


class AuditVerifyOut(OutModel):
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
