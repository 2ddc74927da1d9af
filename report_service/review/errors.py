"""Exceptions raised by :mod:`report_service.review`.

They derive from :mod:`report_service.errors`, so the service's single error mapper turns
them into HTTP answers (``RequestRejected`` carries its own ``code`` and ``status``)::

    ServiceError
    ├── AuthError                   401: no, unknown or revoked moderator token
    ├── NotFound                    404: no such item / medium, or not visible to this role
    ├── Conflict                    409
    │   └── ModeratorExists         a moderator of that name already exists
    ├── RequestRejected
    │   ├── Forbidden               403 forbidden: the role may not do this
    │   ├── QueueEmpty              404 queue_empty: nothing to claim right now
    │   ├── LeaseRequired           409 lease_required: claim the item first
    │   ├── LeaseLost               409 lease_lost: the lease expired or was taken over
    │   ├── InvalidState            409 invalid_state: e.g. deciding a decided item
    │   ├── LastAdmin               409 last_admin: it would leave no active admin
    │   ├── InvalidInput            422 invalid_input: a bad role, reason, decision, policy
    │   └── MediaUndecodable        422 media_undecodable: no thumbnail can be made
    └── AuditChainBroken            the audit chain does not verify (``position``)
"""

from __future__ import annotations

from report_service.errors import (
    AuthError,
    Conflict,
    NotFound,
    RequestRejected,
    ServiceError,
)

__all__ = [
    "AuditChainBroken",
    "AuthError",
    "Forbidden",
    "InvalidInput",
    "InvalidState",
    "LastAdmin",
    "LeaseLost",
    "LeaseRequired",
    "MediaUndecodable",
    "ModeratorExists",
    "NotFound",
    "QueueEmpty",
]


class ModeratorExists(Conflict):
    """A moderator account of that name already exists."""


class Forbidden(RequestRejected):
    """The caller's role does not allow this call."""

    code = "forbidden"
    status = 403


class QueueEmpty(RequestRejected):
    """The queue holds no claimable item."""

    code = "queue_empty"
    status = 404


class LeaseRequired(RequestRejected):
    """The call needs the caller to hold the item's lease."""

    code = "lease_required"
    status = 409


class LeaseLost(RequestRejected):
    """The caller's lease on the item has expired or was taken over."""

    code = "lease_lost"
    status = 409


class InvalidState(RequestRejected):
    """The item is in a state that does not allow this call."""

    code = "invalid_state"
    status = 409


class LastAdmin(RequestRejected):
    """Revoking this account would leave no active admin (nobody could manage accounts
    over HTTP again); only the command line may force it."""

    code = "last_admin"
    status = 409


class InvalidInput(RequestRejected):
    """A value (role, decision, policy, reason text, name) is not acceptable."""

    code = "invalid_input"
    status = 422


class MediaUndecodable(RequestRejected):
    """The medium cannot be decoded safely, so no thumbnail is made."""

    code = "media_undecodable"
    status = 422


class RevealRequired(RequestRejected):
    """Playing a video's original needs an audited reveal (with a reason) first."""

    code = "reveal_required"
    status = 403


class AuditChainBroken(ServiceError):
    """The audit chain fails verification at 1-based ``position``."""

    def __init__(self, position: int, problem: str) -> None:
        super().__init__(f"audit chain broken at position {position}: {problem}")
        self.position = position
        self.problem = problem
