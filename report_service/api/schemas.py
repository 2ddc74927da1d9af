"""Request and response models of the HTTP contract (DESIGN.md, "HTTP contract")."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[^\x00-\x1f]{1,128}$"
EXAMPLE_B64_32 = "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


class ErrorDetail(BaseModel):
    code: str = Field(examples=["stamp_invalid"])
    message: str = Field(examples=["stamp does not verify over (c, s, r, conv, t, kid)"])
    message_index: int | None = Field(default=None, examples=[0])


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "stamp_invalid",
                        "message": "stamp does not verify over (c, s, r, conv, t, kid)",
                        "message_index": 0,
                    }
                }
            ]
        }
    )

    error: ErrorDetail


class RelaySendRequest(BaseModel):
    """A message handed to the relay: the ciphertext and its commitment (base64)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "recipient_id": "bob",
                    "conversation_id": "alice-bob",
                    "ciphertext": "AQIDBAUGBwg=",
                    "commitment": EXAMPLE_B64_32,
                }
            ]
        },
    )

    recipient_id: str = Field(pattern=ID_PATTERN)
    conversation_id: str = Field(pattern=ID_PATTERN)
    ciphertext: str = Field(min_length=1, description="E2EE ciphertext, standard base64")
    commitment: str = Field(min_length=1, description="32-byte commitment c, standard base64")
    client_message_id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="Optional idempotency key chosen by the sender (a UUID is best): a repeat "
        "of the same request under it returns the first answer; another request under it "
        "is refused with 409 client_message_id_reused.",
    )


class RelaySendResponse(BaseModel):
    """The sender's copy of the stamp."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message_id": "0b7e4c1e-1f43-4a52-9a53-64c1f6d3c0aa",
                    "stamp": EXAMPLE_B64_32,
                    "key_id": "fk-3a9c0e11d2f4",
                    "timestamp_ms": 1767225600000,
                }
            ]
        }
    )

    message_id: str
    stamp: str
    key_id: str
    timestamp_ms: int


class Delivery(BaseModel):
    """A stamped message delivered to its recipient."""

    message_id: str
    ciphertext: str
    commitment: str
    stamp: str
    key_id: str
    sender_id: str
    recipient_id: str
    conversation_id: str
    timestamp_ms: int


class InboxResponse(BaseModel):
    """One page of queued deliveries; they stay until acknowledged or their TTL passes.
    ``next_cursor`` is present only when later deliveries exist (pass it as ``after``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "deliveries": [
                        {
                            "message_id": "0b7e4c1e-1f43-4a52-9a53-64c1f6d3c0aa",
                            "ciphertext": "AQIDBAUGBwg=",
                            "commitment": EXAMPLE_B64_32,
                            "stamp": EXAMPLE_B64_32,
                            "key_id": "fk-3a9c0e11d2f4",
                            "sender_id": "alice",
                            "recipient_id": "bob",
                            "conversation_id": "alice-bob",
                            "timestamp_ms": 1767225600000,
                        }
                    ]
                }
            ]
        }
    )

    deliveries: list[Delivery]
    next_cursor: str | None = None


class InboxAckRequest(BaseModel):
    """Deliveries the recipient has stored and no longer needs the relay to keep."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"message_ids": ["0b7e4c1e-1f43-4a52-9a53-64c1f6d3c0aa"]}]},
    )

    message_ids: list[Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]] = Field(
        max_length=1000
    )


class InboxAckResponse(BaseModel):
    """How many of the caller's deliveries were removed by this call."""

    acknowledged: int


class ReportKeyResponse(BaseModel):
    """The service's active report-sealing key."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"key_id": "seal-5d2a7b9e01c3", "public_key": EXAMPLE_B64_32}]
        }
    )

    key_id: str
    public_key: str = Field(description="X25519 public key, standard base64")


class ReportAccepted(BaseModel):
    """The answer to a stored report (201 the first time, 200 on a repeat)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"report_id": "5b0f8e0a-9c4e-4b8e-8f3e-2d6f1c1b7a10", "status": "received"}
            ]
        }
    )

    report_id: str
    status: str


class ReportStatus(BaseModel):
    """Where a report stands; ``outcome`` and a plain-words ``notice`` once decided."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "report_id": "5b0f8e0a-9c4e-4b8e-8f3e-2d6f1c1b7a10",
                    "status": "decided",
                    "outcome": "suspend_sender",
                    "notice": "We reviewed the message you reported and found that it "
                    "breaks our rules on harassment (policy harassment/1.2). ...",
                }
            ]
        }
    )

    report_id: str
    status: str
    outcome: str | None = None
    notice: str | None = None


class Health(BaseModel):
    status: str = Field(examples=["ok"])


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses."""
    text = {
        400: "Malformed input (bad seal, bad JSON, bad base64)",
        401: "Missing or unknown bearer token",
        404: "Not found (also for reports of other users)",
        409: "Conflict",
        413: "Body too large (enforced while streaming)",
        415: "Wrong content type",
        422: "Verification failed (code and message_index) or invalid request",
        429: "Rate limited; see Retry-After",
        503: "Database unreachable",
    }
    return {s: {"model": ErrorResponse, "description": text.get(s, "Error")} for s in statuses}
