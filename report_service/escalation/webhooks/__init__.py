"""Signed, durable webhooks (Standard Webhooks 1.0) for the service's events.

Modules, one idea each:

=============  ==========================================================================
``signing``    the Standard Webhooks signature scheme (pure): secrets, sign, verify
``payload``    event types and the ``{"type", "timestamp", "data"}`` body (pure)
``schedule``   the retry schedule with jitter (pure)
``secret_box`` endpoint secrets encrypted at rest under the evidence master key
``models``     the ``webhook_endpoints`` and ``webhook_deliveries`` tables (migration 0014)
``outbox``     :func:`emit_event`: one delivery row per subscribed endpoint, in the
               caller's transaction (the transactional outbox)
``store``      endpoints and the delivery list (add, list, remove, replay)
``deliverer``  claims due deliveries under a database lease and POSTs them
``cli``        ``frankly webhooks add|list|remove|test|replay|deliveries|deliver``
=============  ==========================================================================

Other packages never import this one to emit: they are given ``emit_event`` as a hook
``(session, event_type, data)`` when the app is built (storage and review sit below
escalation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from report_service.escalation.webhooks.outbox import emit_event

__all__ = ["emit_event"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `frankly` registering the `webhooks` commands loads no database code.
    if name == "emit_event":
        from report_service.escalation.webhooks.outbox import emit_event

        return emit_event
    raise AttributeError(name)
