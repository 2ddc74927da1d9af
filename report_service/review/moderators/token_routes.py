"""Token lifecycle over HTTP, for admins: rotate a moderator's or a user's token, list and
revoke users (moderators are revoked with ``DELETE /v1/review/moderators/{name}``).

Routes call one :class:`~report_service.review.moderators.tokens.AccountService` method each;
errors are mapped by :mod:`report_service.http_errors`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from report_service.review.http import AUTH_ERRORS, NO_CONTROL, Caller, _err
from report_service.review.moderators.schemas import ModeratorCreatedOut
from report_service.review.moderators.token_schemas import TokenIssuedOut, UserOut, UsersOut
from report_service.review.moderators.tokens import AccountService

router = APIRouter(prefix="/v1/review", tags=["accounts"])

Name = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_CONTROL)]
UserName = Annotated[str, Path(min_length=1, max_length=128, pattern=NO_CONTROL)]


def get_accounts(request: Request) -> AccountService:
    """An account service on the running app's database and clock."""
    return AccountService(request.app.state.session_factory, request.app.state.clock)


Accounts = Annotated[AccountService, Depends(get_accounts)]


@router.post(
    "/moderators/{name}/token",
    response_model=ModeratorCreatedOut,
    responses={**AUTH_ERRORS, 404: _err("No active account of that name.", "not_found")},
)
def rotate_moderator(accounts: Accounts, actor: Caller, name: Name) -> ModeratorCreatedOut:
    """Issue a new token for an active moderator (admin), shown once; the old token gets
    401 at once. Audited (`moderator_rotate`)."""
    return accounts.admin_rotate_moderator(actor, name)


@router.get("/users", response_model=UsersOut, responses=AUTH_ERRORS)
def list_users(
    accounts: Accounts,
    actor: Caller,
    after: Annotated[
        str | None,
        Query(max_length=128, pattern=NO_CONTROL, description="`next` of the previous page."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> UsersOut:
    """Reporter / relay users by id and whether each is revoked (admin; never tokens);
    page with `after=<next>`."""
    return accounts.admin_list_users(actor, after, limit)


@router.post(
    "/users/{name}/token",
    response_model=TokenIssuedOut,
    responses={**AUTH_ERRORS, 404: _err("No user of that name.", "not_found")},
)
def rotate_user(accounts: Accounts, actor: Caller, name: UserName) -> TokenIssuedOut:
    """Issue a new token for a reporter / relay user (admin), shown once; the old token
    gets 401 at once, and a revoked user is active again. Audited (`user_rotate`)."""
    return accounts.admin_rotate_user(actor, name)


@router.delete(
    "/users/{name}",
    response_model=UserOut,
    responses={**AUTH_ERRORS, 404: _err("No active user of that name.", "not_found")},
)
def revoke_user(accounts: Accounts, actor: Caller, name: UserName) -> UserOut:
    """Revoke a reporter / relay user (admin): its token gets 401 at once; its reports and
    review items stay. `POST /v1/review/users/{name}/token` reissues it. Audited
    (`user_revoke`)."""
    return accounts.admin_revoke_user(actor, name)
