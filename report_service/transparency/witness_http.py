"""A witness's HTTP endpoint: ``POST /add-checkpoint`` (c2sp.org/tlog-witness).

Status codes as the spec says: 404 unknown log, 403 bad or missing log signature, 400
malformed request or old size above the checkpoint's, 409 (``text/x.tlog.size``, the
latest cosigned size) when the old size is not the latest, 422 when the consistency
proof fails or the tree forked; 200 with the cosignature line otherwise. The state file
is checked and written under a file lock, before the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from hashes.errors import (
    CheckpointFork,
    ConsistencyProofInvalid,
    NoteSignatureError,
    TransparencyError,
    UnknownLogOrigin,
    WitnessSizeMismatch,
)
from hashes.transparency.note import NoteSigner
from hashes.transparency.witness import add_checkpoint, parse_add_checkpoint
from report_service.transparency.witness_state import locked_state, save_state

MAX_BODY = 128 * 1024


def _status(exc: TransparencyError) -> int:
    if isinstance(exc, UnknownLogOrigin):
        return 404
    if isinstance(exc, NoteSignatureError):
        return 403
    if isinstance(exc, WitnessSizeMismatch):
        return 409
    if isinstance(exc, ConsistencyProofInvalid | CheckpointFork):
        return 422
    return 400


def create_witness_app(state: Path, signer: NoteSigner, clock_s: Callable[[], int]) -> FastAPI:
    """The witness app over a state file and a witness key."""
    app = FastAPI(title="Frankly witness", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/add-checkpoint")
    async def add(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return PlainTextResponse("request too large\n", status_code=413)
        try:
            parsed = parse_add_checkpoint(body)
            with locked_state(state) as logs:
                new, line, _ = add_checkpoint(parsed, logs, signer, clock_s())
                logs[new.origin] = new
                save_state(state, logs)
        except WitnessSizeMismatch as exc:
            # Exactly this content type (tlog-witness), without a charset parameter.
            return Response(
                f"{exc.latest_size}\n".encode(),
                status_code=409,
                headers={"Content-Type": "text/x.tlog.size"},
            )
        except TransparencyError as exc:
            return PlainTextResponse(f"{exc}\n", status_code=_status(exc))
        return PlainTextResponse(line.line())

    return app
