"""Dependencies shared by the routers: the app's services and the authenticated user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from report_service.errors import AuthError
from report_service.ratelimit import SharedRateLimiter
from report_service.storage.users import user_id_by_token_hash, user_id_by_token_hash_with
from report_service.tokens import hash_token

_bearer = HTTPBearer(auto_error=False, description="The user's bearer token")


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The id of the user whose bearer token came with the request.

    Raises:
        AuthError: no bearer token, or an unknown one.
    """
    token_hash = _token_hash(credentials)
    with _read_engine(request).connect() as conn:  # a lookup: no SQLite write lock
        user_id = user_id_by_token_hash(conn, token_hash)
    if user_id is None:
        raise AuthError("unknown bearer token")
    return user_id


CurrentUser = Annotated[str, Depends(current_user)]


def _token_hash(credentials: HTTPAuthorizationCredentials | None) -> bytes:
    """The stored hash of the bearer token.

    Raises:
        AuthError: no bearer token.
    """
    if credentials is None or not credentials.credentials:
        raise AuthError("missing bearer token")
    return hash_token(credentials.credentials)


def _read_engine(request: Request) -> Engine:
    """The app's engine for lookups that never write
    (:func:`report_service.storage.engine.read_engine`)."""
    engine: Engine = request.app.state.read_engine
    return engine


@dataclass(frozen=True, slots=True)
class Reporter:
    """The authenticated caller of ``POST /v1/reports`` and its rate limiter's stored
    state (``tat_us``, ``None`` for a caller never counted), read with the token."""

    user_id: str
    tat_us: int | None


def current_reporter(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Reporter:
    """Like :func:`current_user`, reading the caller's rate-limit state in the same
    statement (a read, no SQLite write lock), for the router's cheap pre-check.

    Raises:
        AuthError: no bearer token, or an unknown one.
    """
    token_hash = _token_hash(credentials)
    limiter: SharedRateLimiter = request.app.state.rate_limiter
    with _read_engine(request).connect() as conn:
        found = user_id_by_token_hash_with(conn, token_hash, limiter.stored_tat)
    if found is None:
        raise AuthError("unknown bearer token")
    user_id, tat_us = found
    return Reporter(user_id, None if tat_us is None else int(tat_us))


CurrentReporter = Annotated[Reporter, Depends(current_reporter)]
