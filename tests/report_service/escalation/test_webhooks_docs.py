"""The two verification examples of docs/escalation.md ("Verifying a webhook") run as
written and accept a real delivery from Frankly, and refuse it altered."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from report_service.escalation.webhooks.deliverer import Deliverer, wall_clock_ms
from report_service.escalation.webhooks.store import add_endpoint
from report_service.keys import KeyMaterial
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database
from tests.report_service.escalation.webhook_receiver import Receiver

DOC = Path(__file__).parents[3] / "docs" / "escalation.md"


def _examples() -> list[str]:
    section = DOC.read_text("utf-8").split("\n## Webhooks\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_documented_verifiers_accept_a_real_delivery(
    sqlite_url: str, keys: KeyMaterial, receiver: Receiver
) -> None:
    upgrade_database(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        sessions = make_session_factory(engine)
        with sessions() as session:
            new = add_endpoint(
                session, keys, receiver.url, ["*"], now_ms=wall_clock_ms(), random=os.urandom
            )
        receiver.secret = new.secret
        result = Deliverer(sessions, lambda: keys, clock=wall_clock_ms).send_test(new.id)
        assert result.ok
    finally:
        engine.dispose()
    [got] = receiver.received
    examples = _examples()
    assert len(examples) == 2
    scope: dict[str, Any] = {}
    for code in examples:
        exec(compile(code, str(DOC), "exec"), scope)  # noqa: S102  (our own docs)
    headers = {k: v for k, v in got.headers.items() if k.startswith("webhook-")}
    assert scope["handle"](new.secret, got.body, headers)["type"] == "webhook.test"
    assert scope["verify"](new.secret, got.body, headers) is True
    altered = got.body.replace(b"webhook.test", b"webhook.tesT")
    assert scope["handle"](new.secret, altered, headers) is None
    assert scope["verify"](new.secret, altered, headers) is False
