"""Dependencies shared by the routers: the app's services and the authenticated user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from report_service.errors import AuthError
from report_service.storage.users import user_by_token_hash
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
    if credentials is None or not credentials.credentials:
        raise AuthError("missing bearer token")
    token_hash = hash_token(credentials.credentials)
    state = request.app.state
    sessions = getattr(state, "read_session_factory", None) or state.session_factory
    with sessions() as session:  # a lookup: no SQLite write lock
        user = user_by_token_hash(session, token_hash)
        if user is None:
            raise AuthError("unknown bearer token")
        return user.id


CurrentUser = Annotated[str, Depends(current_user)]
