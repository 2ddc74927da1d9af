"""Exceptions of :mod:`report_service.escalation.preservation`.

They derive from the service's tree, so the one error mapper (and the CLI's ``error:``
line) handles them::

    ServiceError
    ├── NotFound                      404: no such hold, report or item
    └── RequestRejected
        ├── EvidenceHeld              409 evidence_held (report_service.errors): destroying
        │                             held evidence
        ├── InvalidInput              422 invalid_input (review.errors): a bad reason,
        │                             source, reference or period
        ├── HoldAlreadyReleased       409 hold_released: the hold was released before
        ├── MinimumPeriodNotOver      409 hold_minimum_period: a statutory hold released
        │                             early without the override
        └── NothingToHold             409 evidence_destroyed: every report's evidence is
                                      already destroyed
"""

from __future__ import annotations

from report_service.errors import EvidenceHeld, NotFound, RequestRejected
from report_service.review.errors import InvalidInput

__all__ = [
    "EvidenceHeld",
    "HoldAlreadyReleased",
    "InvalidInput",
    "MinimumPeriodNotOver",
    "NotFound",
    "NothingToHold",
]


class HoldAlreadyReleased(RequestRejected):
    """The hold was already released (releasing is done once; place a new hold instead)."""

    code = "hold_released"
    status = 409


class MinimumPeriodNotOver(RequestRejected):
    """A hold with a statutory minimum period (an NCMEC report's year) cannot be released
    before it ends without the explicit override (``--force-before-expiry``)."""

    code = "hold_minimum_period"
    status = 409


class NothingToHold(RequestRejected):
    """Every report the hold would cover has had its evidence destroyed already."""

    code = "evidence_destroyed"
    status = 409
