"""``/v1/relay``: the reference relay (stamp and queue; deliver until acknowledged)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from report_service.api.deps import CurrentUser
from report_service.api.schemas import (
    Delivery,
    InboxAckRequest,
    InboxAckResponse,
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
    "returns the sender's copy of the stamp. With a client_message_id, a repeat of the "
    "same request returns the first answer (same message_id and stamp); another request "
    "under the same id is refused (409 client_message_id_reused). Quotas per sender and "
    "per recipient inbox answer 429 (relay_sender_quota, relay_inbox_full) with "
    "Retry-After.",
    responses=error_responses(400, 401, 409, 413, 422, 429),
)
async def send_message(
    body: RelaySendRequest, user: CurrentUser, request: Request
) -> RelaySendResponse:
    relay: Relay = request.app.state.relay
    ciphertext = _unb64(body.ciphertext, "ciphertext")
    commitment = _unb64(body.commitment, "commitment")
    stamped = await run_in_threadpool(
        relay.send,
        user,
        body.recipient_id,
        body.conversation_id,
        ciphertext,
        commitment,
        body.client_message_id,
    )
    if not stamped.repeated:
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
    response_model_exclude_none=True,
    summary="Fetch queued messages (one page)",
    description="Delivers the caller's queued messages, oldest first, without removing "
    "them: they stay until acknowledged (POST /v1/relay/inbox/ack) or until the relay's "
    "TTL. A page holds at most `limit` deliveries (capped by the relay) and a bounded "
    "number of bytes; `next_cursor` is present when more follow: pass it as `after`.",
    responses=error_responses(400, 401, 422),
)
async def inbox(
    user: CurrentUser,
    request: Request,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    after: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> InboxResponse:
    relay: Relay = request.app.state.relay
    page = await run_in_threadpool(lambda: relay.inbox(user, limit=limit, after=after))
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
            for r in page.messages
        ],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/inbox/ack",
    response_model=InboxAckResponse,
    summary="Acknowledge delivered messages",
    description="Removes the caller's own deliveries among `message_ids` from the relay. "
    "Ids of other users' deliveries, unknown ids and ids already acknowledged are "
    "ignored, so repeating the call is harmless.",
    responses=error_responses(401, 422),
)
async def acknowledge(
    body: InboxAckRequest, user: CurrentUser, request: Request
) -> InboxAckResponse:
    relay: Relay = request.app.state.relay
    count = await run_in_threadpool(relay.acknowledge, user, body.message_ids)
    return InboxAckResponse(acknowledged=count)
