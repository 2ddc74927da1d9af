"""The demos' webhook subscriber: a :class:`.receiver.VerifyingReceiver` that the demo
runs on 127.0.0.1, subscribed to every event, and one delivery pass on demand (``frankly
demo`` and ``frankly ncmec demo`` share it; docs/escalation.md, "Webhooks")."""

from __future__ import annotations

import os
from typing import Any

from report_service.escalation.webhooks.receiver import VerifyingReceiver

DEMO_WEBHOOK_DESCRIPTION = "frankly demo receiver"


class DemoWebhooks:
    """The receiver of a demo on the service ``app`` (a :func:`create_app` result)."""

    def __init__(self, app: Any) -> None:
        from report_service.app import wall_clock_ms

        self.app = app
        self.receiver = VerifyingReceiver(b"", lambda: wall_clock_ms() // 1000)

    def add_endpoint(self, url: str) -> None:
        """Subscribe ``url`` to every event (replacing an earlier demo run's receiver)."""
        from report_service.app import wall_clock_ms
        from report_service.escalation.webhooks.signing import parse_secret
        from report_service.escalation.webhooks.store import (
            add_endpoint,
            list_endpoints,
            remove_endpoint,
        )

        with self.app.state.session_factory() as session:
            for old in list_endpoints(session):
                if old.description == DEMO_WEBHOOK_DESCRIPTION:
                    remove_endpoint(session, old.id)
            new = add_endpoint(
                session,
                self.app.state.keys,
                url + "/frankly",
                ["*"],
                description=DEMO_WEBHOOK_DESCRIPTION,
                now_ms=wall_clock_ms(),
                random=os.urandom,
            )
        self.receiver.key = parse_secret(new.secret)

    def deliver(self) -> list[dict[str, Any]]:
        """One delivery pass (what ``frankly serve``'s webhook task does in a loop); every
        event the receiver has verified so far."""
        from report_service.app import wall_clock_ms
        from report_service.escalation.webhooks.deliverer import Deliverer

        state = self.app.state
        Deliverer(state.session_factory, lambda: state.keys, clock=wall_clock_ms).run_once()
        return list(self.receiver.events)

    @property
    def refused(self) -> int:
        """Requests whose signature did not verify (0 in a sound run)."""
        return self.receiver.refused
