"""The moderator's path from an empty queue to a decided, audited item, over HTTP, on
SQLite and PostgreSQL; leases, ordering, media, decisions, reopening."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import update

from report_service.review.queue.leases import DEFAULT_LEASE_MS
from report_service.storage.models import EvidenceKey, ReviewItem
from report_service.storage.reports import report_status
from tests.report_service.review.review_support import (
    T0,
    Attachment,
    Env,
    SyncClient,
    auth,
    png_bytes,
)

DECISION = {"decision": "suspend_sender", "policy": "harassment/1.2", "note": "repeat offender"}


def test_from_empty_queue_to_decided_audited_item(env: Env, client: SyncClient) -> None:
    mod = auth(env.tokens["moderator"])
    r = client.post("/v1/review/queues/general/claim", headers=mod)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "queue_empty"

    image = Attachment(png_bytes(7, (300, 200)), pdq="a" * 64, bank=("harassment", 40))
    seed = env.seed(attachments=[image], reporters=["alice", "bob"])
    older = env.seed(sender="eve", text="other", created_at=T0 - 3_600_000)
    queues = client.get("/v1/review/queues", headers=mod).json()["queues"]
    assert queues == [
        {
            "queue": "general",
            "depth": 2,
            "claimed": 0,
            "oldest_age_ms": 3_600_000,
            "top_priority": 50,
        }
    ]

    # Same stored priority: the older item is served first (ageing).
    claim = client.post("/v1/review/queues/general/claim", headers=mod).json()
    assert claim["item"]["id"] == older.item_id
    assert claim["lease"]["expires_at"] == T0 + DEFAULT_LEASE_MS
    r = client.post(f"/v1/review/items/{older.item_id}/release", headers=mod)
    assert r.json()["item"]["status"] == "open"
    env.clock.advance(1)
    with env.sf.begin() as s:  # raise the other item's priority above the ageing bonus
        s.execute(update(ReviewItem).where(ReviewItem.id == seed.item_id).values(priority=90))
    claim = client.post("/v1/review/queues/general/claim", headers=mod).json()
    assert claim["item"]["id"] == seed.item_id
    assert claim["item"]["status"] == "claimed"

    detail = client.get(f"/v1/review/items/{seed.item_id}", headers=mod).json()
    verified = detail["verified"]
    assert verified["message"]["text"] == "you will regret this"
    assert verified["message"]["sender_id"] == "mallory"
    assert verified["message"]["recipient_ids"] == ["alice", "bob"]
    assert verified["message"]["subject"] is True
    [att] = verified["attachments"]
    assert att["sha256"] == image.sha256
    assert att["bank_matches"][0]["category"] == "harassment"
    assert [m["text"] for m in detail["transcript"]] == ["hi, who is this?", "you will regret this"]
    assert [c["comment"] for c in detail["reporter_claims"]] == ["he keeps sending these"] * 2
    assert detail["reporter_claims"][0]["device_matches"] == [{"category": "harassment"}]
    assert [o["id"] for o in detail["other_items_about_sender"]] == []
    assert detail["evidence_destroyed"] is False

    thumb = client.get(att["thumbnail_url"], headers=mod)
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/png"
    assert thumb.headers["cache-control"] == "no-store"
    img = Image.open(io.BytesIO(thumb.content))
    assert img.mode == "L"
    assert max(img.size) <= 256

    r = client.post(att["reveal_url"], headers=mod, json={"reason": "short"})
    assert r.status_code == 422
    r = client.post(att["reveal_url"], headers=mod, json={"reason": "need to confirm the threat"})
    assert r.status_code == 200
    assert r.content == image.data

    r = client.post(f"/v1/review/items/{seed.item_id}/decision", headers=mod, json=DECISION)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["item"]["status"] == "decided"
    assert out["item"]["outcome"] == "suspend_sender"
    assert out["decision"]["policy"] == "harassment/1.2"

    # The reporter sees the outcome through the service's report status.
    with env.sf() as s:
        status = report_status(s, seed.report_ids[0], "alice")
    assert status == {
        "report_id": seed.report_ids[0],
        "status": "decided",
        "outcome": "suspend_sender",
    }

    audit = client.get(
        "/v1/audit", params={"item": seed.item_id}, headers=auth(env.tokens["auditor"])
    ).json()
    actions = [(e["actor"], e["action"]) for e in audit["entries"]]
    assert actions == [
        ("moderator-1", "claim"),
        ("moderator-1", "item_view"),
        ("moderator-1", "media_view"),
        ("moderator-1", "media_reveal"),
        ("moderator-1", "decide"),
    ]
    assert audit["entries"][3]["detail"]["reason"] == "need to confirm the threat"
    verify = client.get("/v1/audit/verify", headers=auth(env.tokens["auditor"])).json()
    assert verify["ok"] is True
    assert verify["first_broken"] is None


def test_leases_exclusive_expire_and_heartbeat(env: Env, client: SyncClient) -> None:
    a, b = auth(env.tokens["moderator"]), auth(env.tokens["child_safety"])
    lead = auth(env.tokens["lead"])
    item = env.seed().item_id
    assert client.post("/v1/review/queues/general/claim", headers=a).status_code == 200
    assert client.post("/v1/review/queues/general/claim", headers=b).status_code == 404
    # Without the lease: no view, no decision; a lead may look.
    r = client.get(f"/v1/review/items/{item}", headers=b)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "lease_required")
    r = client.post(f"/v1/review/items/{item}/decision", headers=b, json=DECISION)
    assert r.status_code == 409
    assert client.get(f"/v1/review/items/{item}", headers=lead).status_code == 200
    r = client.post(f"/v1/review/items/{item}/decision", headers=lead, json=DECISION)
    assert r.status_code == 409  # a lead still needs the lease to decide

    held = client.get("/v1/review/claims", headers=a).json()["claims"]
    assert [c["item"]["id"] for c in held] == [item]
    assert client.get("/v1/review/claims", headers=b).json() == {"claims": []}
    env.clock.advance(DEFAULT_LEASE_MS - 1)
    r = client.post(f"/v1/review/items/{item}/heartbeat", headers=a)
    assert r.json()["expires_at"] == env.clock.now + DEFAULT_LEASE_MS
    env.clock.advance(DEFAULT_LEASE_MS - 1)
    assert client.post("/v1/review/queues/general/claim", headers=b).status_code == 404
    env.clock.advance(1)  # expired: back in the queue
    queues = client.get("/v1/review/queues", headers=b).json()["queues"]
    assert {q["queue"]: q["depth"] for q in queues} == {"child_safety": 0, "general": 1}
    r = client.post(f"/v1/review/items/{item}/heartbeat", headers=a)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "lease_lost")
    assert client.get("/v1/review/claims", headers=a).json() == {"claims": []}
    r = client.post("/v1/review/queues/general/claim", headers=b)
    assert r.json()["taken_over_from"] == "moderator-1"
    assert client.get(f"/v1/review/items/{item}", headers=a).status_code == 409
    r = client.post(f"/v1/review/items/{item}/release", headers=a)
    assert r.status_code == 409
    assert client.post(f"/v1/review/items/{item}/release", headers=b).status_code == 200
    r = client.post("/v1/review/queues/general/claim", headers=a, json={"lease_ms": 5})
    assert r.status_code == 422
    r = client.post("/v1/review/queues/general/claim", headers=a, json={"lease_ms": 60_000})
    assert r.json()["lease"]["expires_at"] == env.clock.now + 60_000


def test_escalation_reopen_and_sender_history(env: Env, client: SyncClient) -> None:
    mod, cs, lead = (auth(env.tokens[r]) for r in ("moderator", "child_safety", "lead"))
    first = env.seed(text="first").item_id
    second = env.seed(text="second", created_at=T0 + 1).item_id
    client.post("/v1/review/queues/general/claim", headers=mod)
    r = client.post(
        f"/v1/review/items/{first}/decision",
        headers=mod,
        json={"decision": "warn_sender", "policy": "harassment/1.2"},
    )
    assert r.json()["item"]["outcome"] == "warn_sender"
    claim = client.post("/v1/review/queues/general/claim", headers=mod).json()
    assert claim["item"]["id"] == second
    detail = client.get(f"/v1/review/items/{second}", headers=mod).json()
    assert [o["id"] for o in detail["other_items_about_sender"]] == [first]
    assert [d["decision"] for d in detail["decisions_about_sender"]] == ["warn_sender"]

    r = client.post(
        f"/v1/review/items/{second}/decision",
        headers=mod,
        json={"decision": "escalate_child_safety", "policy": "csam/1"},
    )
    assert r.json()["item"]["queue"] == "child_safety"
    assert r.json()["item"]["status"] == "open"
    assert client.get(f"/v1/review/items/{second}", headers=lead).status_code == 404
    claim = client.post("/v1/review/queues/child_safety/claim", headers=cs).json()
    assert claim["item"]["id"] == second
    r = client.post(
        f"/v1/review/items/{second}/decision",
        headers=cs,
        json={"decision": "escalate_child_safety", "policy": "csam/1"},
    )
    assert r.status_code == 422
    r = client.post(
        f"/v1/review/items/{second}/decision",
        headers=cs,
        json={"decision": "suspend_sender", "policy": "csam/1"},
    )
    assert r.json()["item"]["outcome"] == "suspend_sender"
    why = {"reason": "second opinion requested"}
    r = client.post(f"/v1/review/items/{second}/reopen", headers=lead, json=why)
    assert r.status_code == 404  # leads never see child-safety items
    r = client.post(f"/v1/review/items/{second}/reopen", headers=cs, json=why)
    assert r.json()["item"]["status"] == "open"
    r = client.post(f"/v1/review/items/{first}/reopen", headers=cs, json=why)
    assert r.status_code == 403  # general items are reopened by leads

    r = client.post(f"/v1/review/items/{first}/reopen", headers=lead, json={"reason": "x"})
    assert r.status_code == 422
    r = client.post(
        f"/v1/review/items/{first}/reopen", headers=lead, json={"reason": "policy misapplied"}
    )
    assert r.json()["item"]["status"] == "open"
    assert r.json()["item"]["outcome"] is None
    r = client.post(
        f"/v1/review/items/{first}/reopen", headers=lead, json={"reason": "policy misapplied"}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "invalid_state")
    detail = client.get(f"/v1/review/items/{first}", headers=lead).json()
    assert detail["decisions"][0]["reopened_by"] == "lead-1"


def test_destroyed_evidence_still_shows_the_verified_facts(env: Env, client: SyncClient) -> None:
    mod = auth(env.tokens["moderator"])
    seed = env.seed()
    with env.sf.begin() as s:
        s.execute(update(EvidenceKey).values(wrapped_key=None))
    client.post("/v1/review/queues/general/claim", headers=mod)
    detail = client.get(f"/v1/review/items/{seed.item_id}", headers=mod).json()
    assert detail["evidence_destroyed"] is True
    assert detail["verified"]["message"]["text"] is None
    assert detail["verified"]["message"]["sender_id"] == "mallory"


def test_undecodable_media_and_unknown_media(env: Env, client: SyncClient) -> None:
    mod = auth(env.tokens["moderator"])
    bad = Attachment(b"GIF89a not really", mime="image/gif")
    seed = env.seed(attachments=[bad])
    client.post("/v1/review/queues/general/claim", headers=mod)
    r = client.get(f"/v1/review/items/{seed.item_id}/media/{bad.sha256}", headers=mod)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "media_undecodable")
    r = client.get(f"/v1/review/items/{seed.item_id}/media/{'1' * 64}", headers=mod)
    assert r.status_code == 404


def test_admin_manages_accounts_over_http(env: Env, client: SyncClient) -> None:
    admin = auth(env.tokens["admin"])
    r = client.post("/v1/review/moderators", headers=admin, json={"name": "zoe", "role": "lead"})
    assert r.status_code == 201
    token = r.json()["token"]
    me = client.get("/v1/review/me", headers=auth(token)).json()
    assert me == {"name": "zoe", "role": "lead", "queues": ["general"]}
    r = client.post("/v1/review/moderators", headers=admin, json={"name": "zoe", "role": "lead"})
    assert r.status_code == 409
    listed = client.get("/v1/review/moderators", headers=admin).json()["moderators"]
    assert "token" not in str(listed)
    assert client.request("DELETE", "/v1/review/moderators/zoe", headers=admin).status_code == 200
    assert client.get("/v1/review/me", headers=auth(token)).status_code == 401


def test_openapi_documents_the_review_api(client: SyncClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for p in (
        "/v1/review/queues",
        "/v1/review/queues/{queue}/claim",
        "/v1/review/items/{item_id}",
        "/v1/review/items/{item_id}/media/{sha256}/reveal",
        "/v1/review/items/{item_id}/decision",
        "/v1/audit",
        "/v1/audit/verify",
    ):
        assert p in paths
    decision = paths["/v1/review/items/{item_id}/decision"]["post"]
    assert {"401", "403", "404", "409"} <= set(decision["responses"])
    assert spec["components"]["schemas"]["DecisionIn"]["examples"][0]["decision"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_originals_are_never_served_as_active_content(env: Env, client: SyncClient) -> None:
    mod = auth(env.tokens["moderator"])
    html = Attachment(b"<script>alert(1)</script>", mime="text/html")
    seed = env.seed(attachments=[html])
    client.post("/v1/review/queues/general/claim", headers=mod)
    r = client.post(
        f"/v1/review/items/{seed.item_id}/media/{html.sha256}/reveal",
        headers=mod,
        json={"reason": "what is this attachment"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment")
    assert r.headers["x-content-type-options"] == "nosniff"


def test_audit_filters_and_paging(env: Env, client: SyncClient) -> None:
    aud = auth(env.tokens["auditor"])
    mod = auth(env.tokens["moderator"])
    for i in range(3):
        env.seed(created_at=T0 + i)
    for _ in range(3):
        env.clock.advance(1000)
        client.post("/v1/review/queues/general/claim", headers=mod)
    everything = client.get("/v1/audit", headers=aud).json()
    assert [e["seq"] for e in everything["entries"]] == list(range(1, 9))
    assert everything["next_after"] is None
    claims = client.get("/v1/audit", params={"action": "claim"}, headers=aud).json()["entries"]
    assert [e["at_ms"] for e in claims] == [T0 + 1000, T0 + 2000, T0 + 3000]
    by_actor = client.get("/v1/audit", params={"actor": "cli"}, headers=aud).json()["entries"]
    assert {e["action"] for e in by_actor} == {"moderator_add"}
    window = client.get(
        "/v1/audit", params={"since": T0 + 2000, "until": T0 + 3000}, headers=aud
    ).json()["entries"]
    assert [e["at_ms"] for e in window] == [T0 + 2000]
    page = client.get("/v1/audit", params={"limit": 3}, headers=aud).json()
    assert [e["seq"] for e in page["entries"]] == [1, 2, 3]
    page = client.get(
        "/v1/audit", params={"limit": 3, "after": page["next_after"]}, headers=aud
    ).json()
    assert [e["seq"] for e in page["entries"]] == [4, 5, 6]
    # Each entry links to the one before.
    assert page["entries"][1]["prev_hash"] == page["entries"][0]["entry_hash"]
    assert client.get("/v1/audit", params={"limit": 0}, headers=aud).status_code == 422
