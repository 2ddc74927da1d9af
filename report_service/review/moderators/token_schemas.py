"""Response models of the token lifecycle calls (:mod:`report_service.review.moderators.tokens`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UserOut(BaseModel):
    """A reporter / relay user (never its token)."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [{"id": "alice", "created_at": 1795385992732, "revoked_at": None}]
        },
    )

    id: str
    created_at: int = Field(description="ms since the epoch")
    revoked_at: int | None = Field(description="ms since the epoch; null while active")


class UsersOut(BaseModel):
    """Every reporter / relay user."""

    model_config = ConfigDict(frozen=True)

    users: list[UserOut]
    next: str | None = Field(
        default=None, description="Pass as `after` for the next page; null at the end."
    )


class TokenIssuedOut(BaseModel):
    """A user's new bearer token, shown once."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "alice",
                    "token": "kq3V0b8G5o1nHh2mCkq2jv0m8N1yTz5s3o9TqYl7xQw",
                    "reactivated": False,
                }
            ]
        },
    )

    name: str
    token: str = Field(description="The new bearer token; the old one no longer works.")
    reactivated: bool = Field(description="The user had been revoked and is active again.")
