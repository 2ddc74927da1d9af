"""``/v1/banks``: the service's published hash lists, for clients' on-device scanners.

``GET /v1/banks`` lists every list the service holds (newest version, digest, size,
signers) and the curator keys it trusts; ``GET /v1/banks/{list_id}`` answers the exact
signed bytes of the newest version, which a client loads with
:func:`hashes.lists.load_list` under its own trust policy. Both need a user's bearer
token. The list file carries an ``ETag`` (its digest): ``If-None-Match`` answers 304.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from hashes.lists.format import parse_list
from report_service.api.deps import CurrentUser
from report_service.api.schemas import EXAMPLE_B64_32, error_responses
from report_service.banks import HashBanks
from report_service.errors import BankError, NotFound

router = APIRouter(tags=["banks"])
LIST_CONTENT_TYPE = "application/octet-stream"
EXAMPLE_DIGEST = "9f2c" + "0" * 60


class PublishedList(BaseModel):
    """The newest version of one list the service holds."""

    list_id: str = Field(examples=["frankly-service-bank"])
    version: int = Field(examples=[7])
    digest: str = Field(description="SHA-256 digest the signatures cover (hex).")
    algorithm: str = Field(examples=["pdq"])
    threshold: int = Field(examples=[31])
    entries: int = Field(examples=[1204])
    issued_at_ms: int = Field(examples=[1767225600000])
    signed_by: list[str] = Field(description="Ids of the trusted curators that signed it.")


class CuratorOut(BaseModel):
    """A curator key the service trusts."""

    kid: str = Field(examples=["curator-1a2b3c4d"])
    public_key: str = Field(description="Ed25519 public key, standard base64.")
    origin: str = Field(
        description="`key file` (the service's own key), `trusted` (added by an operator) "
        "or `rotated` (kept across a curator key rotation)."
    )


class PublishedLists(BaseModel):
    """Every list the service holds, and the curator keys it trusts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lists": [
                        {
                            "list_id": "frankly-service-bank",
                            "version": 7,
                            "digest": EXAMPLE_DIGEST,
                            "algorithm": "pdq",
                            "threshold": 31,
                            "entries": 1204,
                            "issued_at_ms": 1767225600000,
                            "signed_by": ["curator-1a2b3c4d"],
                        }
                    ],
                    "curators": [
                        {
                            "kid": "curator-1a2b3c4d",
                            "public_key": EXAMPLE_B64_32,
                            "origin": "key file",
                        }
                    ],
                }
            ]
        }
    )

    lists: list[PublishedList]
    curators: list[CuratorOut]


@router.get(
    "/v1/banks",
    response_model=PublishedLists,
    summary="The hash lists the service publishes",
    description="Newest version, digest, size and signers of every list the service "
    "holds, and the curator public keys it trusts. Needs a user's bearer token.",
    responses=error_responses(401, 503),
)
async def list_banks(request: Request, user: CurrentUser) -> PublishedLists:
    banks: HashBanks = request.app.state.banks

    def collect() -> PublishedLists:
        held = banks.lists
        lists = [
            PublishedList(
                list_id=h.header.list_id,
                version=h.header.version,
                digest=h.digest.hex(),
                algorithm=h.header.algorithm.value,
                threshold=h.header.threshold,
                entries=len(h),
                issued_at_ms=h.header.issued_at_ms,
                signed_by=banks.signers(h),
            )
            for _, h in sorted(held.items())
        ]
        curators = [
            CuratorOut(
                kid=c.kid,
                public_key=base64.b64encode(c.public_key).decode("ascii"),
                origin=c.origin,
            )
            for c in banks.curators()
        ]
        return PublishedLists(lists=lists, curators=curators)

    return await run_in_threadpool(collect)


@router.get(
    "/v1/banks/{list_id}",
    summary="The signed bytes of a published hash list",
    description="The newest version of the list, exactly as signed (the binary list "
    "format; load it with `hashes.lists.load_list` under your own trust policy). "
    "`ETag` is the list digest; `If-None-Match` with it answers 304. Needs a user's "
    "bearer token.",
    response_class=Response,
    responses={
        200: {"content": {LIST_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
        304: {"description": "Not modified: the client holds this version already."},
        **error_responses(401, 404, 503),
    },
)
async def get_bank(
    request: Request,
    user: CurrentUser,
    list_id: Annotated[str, Path(max_length=128, pattern=r"^[^\x00-\x1f/]{1,128}$")],
) -> Response:
    banks: HashBanks = request.app.state.banks

    def read() -> bytes:
        try:
            return banks.export(list_id)
        except BankError:
            raise NotFound("no such list") from None

    data = await run_in_threadpool(read)
    parsed, digest = parse_list(data)
    etag = f'"{digest.hex()}"'
    headers = {
        "ETag": etag,
        "X-List-Version": str(parsed.header.version),
        "Cache-Control": "no-cache",
    }
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=LIST_CONTENT_TYPE, headers=headers)
