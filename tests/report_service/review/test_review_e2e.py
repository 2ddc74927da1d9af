"""End to end through the whole service (``create_app``): a real franked, sealed report
with an image is verified, queued, claimed, viewed blurred, revealed, decided and banked;
the reporter sees the outcome, and the banked hash matches the next report of the image.
SQLite and PostgreSQL."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from client_scan.report_format import Reason


def _photo() -> bytes:
    """A structured image (gradients and blocks) that PDQ hashes with good quality."""
    y, x = np.mgrid[0:256, 0:256]
    arr = np.stack([(x + y) % 256, (x * 3) % 256, ((x // 32 + y // 32) % 2) * 255], axis=-1)
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8), "RGB").save(buf, format="PNG")
    return buf.getvalue()


def test_report_to_banked_decision(service: Any) -> None:
    review = service.app.state.review
    mod = {"Authorization": f"Bearer {review.add_moderator('test', 'mo', 'moderator').token}"}
    aud = {"Authorization": f"Bearer {review.add_moderator('test', 'au', 'auditor').token}"}
    image = _photo()
    context = service.frank("bob", "alice", "hey")
    abusive = service.frank("alice", "bob", "look at this", attachments=[(image, "image/png")])
    import hashlib

    sha = hashlib.sha256(image).hexdigest()
    report = service.report(
        "bob",
        [context, abusive],
        reason=Reason.NCII,
        attachments={sha: image},
        comment="she posted my photo",
    )
    assert service.submit("bob", report).status_code == 201

    claim = service.client.post("/v1/review/queues/general/claim", headers=mod)
    assert claim.status_code == 200, claim.text
    item = claim.json()["item"]["id"]
    detail = service.client.get(f"/v1/review/items/{item}", headers=mod).json()
    assert detail["verified"]["message"]["text"] == "look at this"
    assert detail["verified"]["message"]["sender_id"] == "alice"
    assert detail["verified"]["message"]["recipient_ids"] == ["bob"]
    assert [m["text"] for m in detail["transcript"]] == ["hey", "look at this"]
    assert detail["reporter_claims"][0]["comment"] == "she posted my photo"
    [att] = detail["verified"]["attachments"]
    assert att["sha256"] == sha
    assert att["pdq"] is not None
    thumb = service.client.get(att["thumbnail_url"], headers=mod)
    assert Image.open(io.BytesIO(thumb.content)).mode == "L"
    original = service.client.post(
        att["reveal_url"], headers=mod, json={"reason": "confirm it is the reporter"}
    )
    assert original.content == image

    decided = service.client.post(
        f"/v1/review/items/{item}/decision",
        headers=mod,
        json={"decision": "suspend_sender", "policy": "ncii/2.0", "bank_media": True},
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["banked"]["hashes"] == [att["pdq"]]
    assert body["banked"]["list_version"] >= 1
    assert body["decision"]["banked"] == 1
    # Banking again (a retry) adds no copy and no new list version.
    again_banked = service.client.post(f"/v1/review/items/{item}/bank", headers=mod)
    assert again_banked.status_code == 200, again_banked.text
    assert again_banked.json()["list_version"] == body["banked"]["list_version"]
    assert len(service.app.state.banks.lists[body["banked"]["list_id"]]) == 1
    status = service.client.get(f"/v1/reports/{report.report_id}", headers=service.auth("bob"))
    assert {k: v for k, v in status.json().items() if k != "notice"} == {
        "report_id": report.report_id,
        "status": "decided",
        "outcome": "suspend_sender",
    }

    # The banked hash now matches a fresh report of the same image from someone else.
    again = service.frank("alice", "carol", "again", attachments=[(image, "image/png")])
    second = service.report("carol", [again], reason=Reason.OTHER, attachments={sha: image})
    assert service.submit("carol", second).status_code == 201
    claim = service.client.post("/v1/review/queues/general/claim", headers=mod).json()
    detail = service.client.get(f"/v1/review/items/{claim['item']['id']}", headers=mod).json()
    matches = detail["verified"]["attachments"][0]["bank_matches"]
    assert any(m["list_id"] == body["banked"]["list_id"] for m in matches)
    assert [d["decision"] for d in detail["decisions_about_sender"]] == ["suspend_sender"]

    log = service.client.get("/v1/audit", params={"item": item}, headers=aud).json()
    assert [e["action"] for e in log["entries"]] == [
        "claim",
        "item_view",
        "media_view",
        "media_reveal",
        "decide",
        "bank_media",
        "bank_media",
    ]
    assert [e["detail"]["added"] for e in log["entries"][-2:]] == [1, 0]
    assert service.client.get("/v1/audit/verify", headers=aud).json()["ok"] is True
