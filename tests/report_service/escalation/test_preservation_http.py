"""``/v1/review/holds`` through the whole app (SQLite and PostgreSQL): leads and admins
place, list and release holds, other roles get 403, bad bodies 422, and a statutory
hold's year is only overridden on purpose."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from report_service.errors import EvidenceHeld
from report_service.escalation.preservation.service import place_preservation_hold
from report_service.review.lifecycle.destruction import EvidenceDestroyer
from tests.report_service.conftest import Service

DAY = 86_400_000


def _tokens(service: Service) -> dict[str, dict[str, str]]:
    review = service.app.state.review
    out = {}
    for role in ("moderator", "lead", "admin", "auditor", "child_safety"):
        token = review.add_moderator("cli", f"{role}-h", role).token
        out[role] = {"Authorization": f"Bearer {token}"}
    return out


def _report(service: Service) -> str:
    report = service.report("bob", [service.frank("alice", "bob", "threat")])
    assert service.submit("bob", report).status_code == 201
    return report.report_id


def test_leads_and_admins_manage_holds_over_http(service: Service) -> None:
    who = _tokens(service)
    report_id = _report(service)
    client = service.client
    body: dict[str, Any] = {"report_id": report_id, "reason": "litigation hold LH-2026-4"}

    for role in ("moderator", "auditor", "child_safety"):
        assert client.get("/v1/review/holds", headers=who[role]).status_code == 403
        r = client.post("/v1/review/holds", headers=who[role], json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    assert client.get("/v1/review/holds").status_code == 401

    r = client.post("/v1/review/holds", headers=who["lead"], json={**body, "days": 30})
    assert r.status_code == 200, r.text
    placed = r.json()
    [hold] = placed["holds"]
    assert placed["placed"] == [hold["hold_id"]]
    assert (hold["report_id"], hold["source"], hold["placed_by"], hold["status"]) == (
        report_id,
        "manual",
        "lead-h",
        "active",
    )
    assert hold["expires_at"] == service.clock() + 30 * DAY

    # Default length: FRANKLY_PRESERVATION_DAYS; a review item holds its reports.
    item = client.post("/v1/review/queues/general/claim", headers=who["lead"]).json()["item"]
    r = client.post(
        "/v1/review/holds",
        headers=who["admin"],
        json={"item_id": item["id"], "reason": "preservation request PR-88", "reference": "PR-88"},
    )
    assert r.status_code == 200, r.text
    [by_item] = r.json()["holds"]
    assert (by_item["item_id"], by_item["reference"]) == (item["id"], "PR-88")
    assert by_item["expires_at"] == service.clock() + 365 * DAY

    listed = client.get("/v1/review/holds", headers=who["admin"]).json()["holds"]
    assert [h["hold_id"] for h in listed] == [hold["hold_id"], by_item["hold_id"]]
    one = client.get("/v1/review/holds", headers=who["lead"], params={"report_id": "nope"}).json()
    assert one == {"holds": []}

    destroyer = EvidenceDestroyer(service.app.state.session_factory, service.clock)
    with pytest.raises(EvidenceHeld) as refused:
        destroyer.destroy(report_id, actor="cli", reason="erasure request DP-2026-9")
    assert refused.value.hold_id == by_item["hold_id"]  # the longer-lasting of the two

    release = {"reason": "litigation settled, LH-4 closed"}
    for hold_id in (hold["hold_id"], by_item["hold_id"]):
        r = client.post(f"/v1/review/holds/{hold_id}/release", headers=who["lead"], json=release)
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["released_by"]) == ("released", "lead-h")
    r = client.post(
        f"/v1/review/holds/{hold['hold_id']}/release", headers=who["lead"], json=release
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "hold_released")
    r = client.post("/v1/review/holds/999/release", headers=who["lead"], json=release)
    assert r.status_code == 404
    assert client.get("/v1/review/holds", headers=who["lead"]).json() == {"holds": []}
    everything = client.get("/v1/review/holds", headers=who["lead"], params={"all": True})
    assert len(everything.json()["holds"]) == 2
    destroyer.destroy(report_id, actor="cli", reason="erasure request DP-2026-9")
    assert client.get("/v1/audit/verify", headers=who["auditor"]).json()["ok"] is True


def test_bad_bodies_are_422_and_change_nothing(service: Service) -> None:
    who = _tokens(service)
    report_id = _report(service)
    reason = "litigation hold LH-2026-4"
    for body in (
        {"reason": reason},
        {"report_id": report_id, "item_id": 1, "reason": reason},
        {"report_id": report_id, "reason": reason, "days": "forever"},
        {"report_id": report_id, "reason": "          "},
        {"report_id": report_id, "reason": reason, "days": 0},
        {"report_id": report_id, "reason": "short"},
        {"report_id": report_id, "reason": reason, "reference": "a\nb"},
        {"report_id": report_id, "reason": reason, "colour": "red"},
    ):
        r = service.client.post("/v1/review/holds", headers=who["lead"], json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == "invalid_request"
    r = service.client.post(
        "/v1/review/holds", headers=who["lead"], json={"item_id": 424242, "reason": reason}
    )
    assert r.status_code == 404
    assert service.client.get(
        "/v1/review/holds", headers=who["lead"], params={"all": True}
    ).json() == {"holds": []}


def test_an_ncmec_hold_needs_the_override_in_its_year(service: Service) -> None:
    who = _tokens(service)
    report_id = _report(service)
    with service.app.state.session_factory.begin() as s:
        placed = place_preservation_hold(
            s, [report_id], "CyberTipline report filed", reference="CT-99", now_ms=service.clock()
        )
    [hold_id] = placed.placed
    url = f"/v1/review/holds/{hold_id}/release"
    body = {"reason": "NCMEC case closed, ticket T-8"}
    r = service.client.post(url, headers=who["lead"], json=body)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "hold_minimum_period")
    r = service.client.post(url, headers=who["lead"], json={**body, "force_before_expiry": True})
    assert r.status_code == 200, r.text
    assert r.json()["release_forced"] is True


def test_held_evidence_survives_a_rewrap_and_the_old_master_keys_retirement(
    service: Service,
) -> None:
    """Rotating the master key, re-wrapping and retiring the old key never touches what a
    hold keeps: held data keys are re-wrapped like any other and stay readable."""
    import os

    from report_service.keys import rotate_key
    from report_service.review.lifecycle.rewrap import retire_master, rewrap
    from report_service.storage.evidence import read_evidence

    sessions = service.app.state.session_factory
    report_id = _report(service)
    with sessions.begin() as s:
        place_preservation_hold(
            s, [report_id], "CyberTipline report filed", reference="CT-7", now_ms=service.clock()
        )
    old_kid = service.keys.master_active
    new_keys = rotate_key(service.keys, "master", os.urandom, service.clock())
    done = rewrap(sessions, new_keys, actor="cli", clock=service.clock, random=os.urandom)
    assert (done.rewrapped, done.remaining) == (1, 0)
    saved: list[Any] = []
    retire_master(sessions, new_keys, old_kid, actor="cli", clock=service.clock, save=saved.append)
    [retired] = saved
    with sessions() as s:
        payload = read_evidence(s, retired, report_id, "message", "0")
    message = json.loads(payload)
    assert message["sender_id"] == "alice"
    assert json.loads(base64.b64decode(message["payload"]))["body"] == "threat"
