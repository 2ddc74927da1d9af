"""The event hook that lower layers are given to announce a change (webhooks).

An :class:`EventHook` is called ``(session, event_type, data)`` inside the transaction of
the change, so that the event exists exactly when the change commits. Storage and review
sit below :mod:`report_service.escalation` and never import it; the app passes
:func:`report_service.escalation.webhooks.emit_event` in when it builds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from sqlalchemy.orm import Session


class EventHook(Protocol):
    """Record ``event_type`` with ``data`` (identifiers and outcomes only) in ``session``'s
    transaction."""

    def __call__(self, session: Session, event_type: str, data: Mapping[str, object]) -> None:
        """Queue the event; the caller commits."""
        ...


def no_events(session: Session, event_type: str, data: Mapping[str, object]) -> None:
    """The hook that records nothing (a service built without webhooks)."""
