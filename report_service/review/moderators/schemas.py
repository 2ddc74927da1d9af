"""Request and response models of moderator accounts."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from report_service.review.schemas import InModel, OutModel, QueueName

RoleName = Literal["moderator", "child_safety", "safety_lead", "lead", "auditor", "admin"]


class ModeratorIn(InModel):
    """A new moderator account."""

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$",
        description="Letters, digits, `_ . @ -`, starting with a letter or digit.",
        examples=["alice"],
    )
    role: RoleName


class MeOut(OutModel):
    """The authenticated moderator."""

    name: str
    role: RoleName
    queues: list[QueueName] = Field(description="Queues this role may see and claim from.")


class ModeratorOut(OutModel):
    """A moderator account (never its token)."""

    name: str
    role: RoleName
    created_at: int
    revoked_at: int | None


class ModeratorCreatedOut(OutModel):
    """A new account and its bearer token, shown once."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "mia",
                    "role": "moderator",
                    "token": "Q2hhbmdlTWUtdGhpcy1pcy1hbi1leGFtcGxlLXRva2Vu",
                }
            ]
        },
    )

    name: str
    role: RoleName
    token: str


class ModeratorsOut(OutModel):
    """Every moderator account."""

    moderators: list[ModeratorOut]
