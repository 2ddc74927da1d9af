"""``/log/...``: the transparency log as c2sp.org/tlog-tiles resources.

``GET /log/proof/{list_id}/{version}?from_size=N`` answers the proof document of
:class:`hashes.transparency.ListProof` (JSON) for one logged list version in the current
checkpoint, with a consistency proof from the device's trusted size: what
:func:`hashes.transparency.verify_list_proof` checks. ``GET /log/checkpoint``
(``text/plain; charset=utf-8``, cached a few seconds at most),
``GET /log/tile/<L>/<N>[.p/<W>]`` and ``GET /log/tile/entries/<N>[.p/<W>]``
(``application/octet-stream``; full tiles and bundles are immutable and cached for a
year, partial ones briefly). No authentication: the log is public by design. A path that
is not a canonical tile path, like a tile not (yet) in the log, answers 404: as from a
static file server, there is no such resource.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hashes.errors import TileFormatError
from hashes.transparency import parse_tile_path
from report_service.errors import NotFound
from report_service.transparency.service import TransparencyLog

router = APIRouter(tags=["transparency"])
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=5"


def _log(request: Request) -> TransparencyLog:
    log = getattr(request.app.state, "transparency_log", None)
    if log is None:
        raise NotFound("no transparency log")
    return log  # type: ignore[no-any-return]


@router.get(
    "/log/checkpoint",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 404: {}},
    summary="The log's latest checkpoint (a signed note)",
)
async def checkpoint(request: Request) -> Response:
    note = await run_in_threadpool(_log(request).checkpoint)
    return Response(note, media_type="text/plain; charset=utf-8", headers={"Cache-Control": SHORT})


@router.get(
    "/log/tile/{path:path}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, 404: {}},
    summary="A tile or entry bundle (c2sp.org/tlog-tiles)",
)
async def tile(request: Request, path: str) -> Response:
    try:
        parsed = parse_tile_path(f"tile/{path}")
    except TileFormatError:
        raise NotFound("not a tile path") from None
    data = await run_in_threadpool(_log(request).read_tile, parsed)
    cache = IMMUTABLE if parsed.is_full else SHORT
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": cache})


@router.get(
    "/log/proof/{list_id}/{version}",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}, 404: {}, 422: {}},
    summary="The inclusion (and consistency) proof of one logged list version",
)
async def proof(
    request: Request,
    list_id: Annotated[str, Path(min_length=1, max_length=255)],
    version: Annotated[int, Path(ge=1, le=2**63 - 1)],
    from_size: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
) -> Response:
    document = await run_in_threadpool(_log(request).list_proof, list_id, version, from_size)
    return Response(
        document.to_json(), media_type="application/json", headers={"Cache-Control": SHORT}
    )
