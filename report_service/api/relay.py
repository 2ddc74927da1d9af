"""``/v1/relay``: the reference relay (stamp and queue; deliver and delete)."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from report_service.api.deps import CurrentUser
from report_service.api.schemas import (
    Delivery,
    InboxResponse,
    RelaySendRequest,
    RelaySendResponse,
    error_responses,
)
from report_service.errors import InvalidRequest
from report_service.relay import Relay

router = APIRouter(prefix="/v1/relay", tags=["relay"])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(
            f"{what} is not standard padded base64", code="invalid_base64"
        ) from None


@router.post(
    "/messages",
    response_model=RelaySendResponse,
    summary="Stamp and queue a message",
    description="Stamps the commitment for the authenticated sender, the recipient, the "
    "conversation and the relay's clock, queues the ciphertext for the recipient and "
    "returns the sender's copy of the stamp.",
    responses=error_responses(400, 401, 413, 422),
)
async def send_message(
    body: RelaySendRequest, user: CurrentUser, request: Request
) -> RelaySendResponse:
    relay: Relay = request.app.state.relay
    ciphertext = _unb64(body.ciphertext, "ciphertext")
    commitment = _unb64(body.commitment, "commitment")
    stamped = await run_in_threadpool(
        relay.send, user, body.recipient_id, body.conversation_id, ciphertext, commitment
    )
    request.app.state.metrics.relay_messages.inc()
    return RelaySendResponse(
        message_id=stamped.message_id,
        stamp=_b64(stamped.stamp),
        key_id=stamped.key_id,
        timestamp_ms=stamped.timestamp_ms,
    )


@router.get(
    "/inbox",
    response_model=InboxResponse,
    summary="Fetch queued messages",
    description="Delivers the caller's queued messages, oldest first, and removes them.",
    responses=error_responses(401),
)
async def inbox(user: CurrentUser, request: Request) -> InboxResponse:
    relay: Relay = request.app.state.relay
    rows = await run_in_threadpool(relay.inbox, user)
    return InboxResponse(
        deliveries=[
            Delivery(
                message_id=r.message_id,
                ciphertext=_b64(r.ciphertext),
                commitment=_b64(r.commitment),
                stamp=_b64(r.stamp),
                key_id=r.key_id,
                sender_id=r.sender_id,
                recipient_id=r.recipient_id,
                conversation_id=r.conversation_id,
                timestamp_ms=r.timestamp_ms,
            )
            for r in rows
        ]
    )
