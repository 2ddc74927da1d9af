"""What the appeal, complaint and statement-ending tests share: moderators' headers, a
reported message, and a claimed-and-decided item over the service's real HTTP API."""

from __future__ import annotations

from typing import Any

import httpx

from client_scan.report_format import Reason

SENDER = "alice"
REPORTER = "bob"


def mod(service: Any, name: str, role: str = "moderator") -> dict[str, str]:
    """The bearer header of a new moderator ``name`` with ``role``."""
    token = service.app.state.review.add_moderator("test", name, role).token
    return {"Authorization": f"Bearer {token}"}


def reported(service: Any) -> str:
    """Report a franked harassing message from SENDER to REPORTER; its report id."""
    msg = service.frank(SENDER, REPORTER, "a very distinctive abusive sentence")
    report = service.report(REPORTER, [msg], reason=Reason.HARASSMENT, comment="she hurt me")
    assert service.submit(REPORTER, report).status_code == 201
    return str(report.report_id)


def claim_and_decide(http: httpx.Client, headers: dict[str, str], decision: str) -> int:
    """Claim the next general item and decide it under harassment/1.2; its id."""
    claimed = http.post("/v1/review/queues/general/claim", headers=headers)
    assert claimed.status_code == 200, claimed.text
    item = int(claimed.json()["item"]["id"])
    r = http.post(
        f"/v1/review/items/{item}/decision",
        headers=headers,
        json={"decision": decision, "policy": "harassment/1.2", "note": "alice again"},
    )
    assert r.status_code == 200, r.text
    return item
