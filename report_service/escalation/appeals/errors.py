"""Errors of appeals, each a typed 4xx through the service's one error mapper::

    RequestRejected
    ├── AppealExists          409 appeal_exists: the decision already has an open appeal
    ├── AppealWindowClosed    409 appeal_window_closed: more than six months have passed
    ├── NotAppealable         409 not_appealable: the statement was reversed, corrects
    │                         another one, or its decision was already reviewed on appeal
    └── DeciderExcluded       409 decider_excluded: the moderator who made the decision
                              may not review the appeal against it

(``NotFound``, ``Forbidden``, ``QueueEmpty``, ``LeaseRequired``, ``InvalidState`` and
``InvalidInput`` are the review package's.)
"""

from __future__ import annotations

from report_service.errors import RequestRejected


class AppealExists(RequestRejected):
    """An appeal against this decision is already open."""

    code = "appeal_exists"
    status = 409


class AppealWindowClosed(RequestRejected):
    """The six months for an internal complaint (DSA Art. 20(1)) have passed."""

    code = "appeal_window_closed"
    status = 409


class NotAppealable(RequestRejected):
    """The statement no longer stands (reversed), is itself a correction, or its decision
    was already reviewed on appeal (one internal review per decision)."""

    code = "not_appealable"
    status = 409


class DeciderExcluded(RequestRejected):
    """The caller made the decision under appeal (DSA Art. 20(6): not solely the same
    person; Frankly: never the same moderator)."""

    code = "decider_excluded"
    status = 409
