"""Media belong to the reported message that committed them, not to every item of the
report: one report about two messages, each with its own image, through the whole
service (``create_app``: real intake, real banks), on SQLite and PostgreSQL.

Before migration ``0003`` an item served every medium of every report about it, so item Y
showed, revealed and banked message X's image, including a child-safety-routed one to a
general moderator.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import select

from client_scan.franking.payload import parse_payload
from client_scan.report_format import Reason
from hashes.values import Algorithm, HashValue
from report_service.storage.models import Media, MediaMessage, ReviewItem

WHY = {"reason": "need to compare with the report"}


def _image(kind: int) -> bytes:
    """Structured images that PDQ hashes with good quality and far apart by ``kind``."""
    y, x = np.mgrid[0:256, 0:256]
    if kind == 0:
        arr = np.stack([(x + y) % 256, (x * 3) % 256, ((x // 32 + y // 32) % 2) * 255], -1)
    else:
        arr = np.stack([(y * 5) % 256, ((x // 16) % 2) * 255, (255 - x) % 256], -1)
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8), "RGB").save(buf, format="PNG")
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _moderator(service: Any, name: str, role: str) -> dict[str, str]:
    token = service.app.state.review.add_moderator("test", name, role).token
    return {"Authorization": f"Bearer {token}"}


def _two_message_report(service: Any, reason: Reason = Reason.HARASSMENT) -> dict[str, Any]:
    """bob reports two of alice's messages, X and Y, each with its own image."""
    image_x, image_y = _image(0), _image(1)
    x = service.frank("alice", "bob", "message x", attachments=[(image_x, "image/png")])
    y = service.frank("alice", "bob", "message y", attachments=[(image_y, "image/png")])
    report = service.report(
        "bob",
        [x, y],
        reported=[parse_payload(x.payload).id, parse_payload(y.payload).id],
        reason=reason,
        attachments={_sha(image_x): image_x, _sha(image_y): image_y},
    )
    return {
        "report": report,
        "x": x.commitment.hex(),
        "y": y.commitment.hex(),
        "image_x": image_x,
        "image_y": image_y,
    }


def _items(service: Any) -> dict[str, ReviewItem]:
    with service.app.state.session_factory() as session:
        rows = session.scalars(select(ReviewItem)).all()
        session.expunge_all()
    return {r.commitment: r for r in rows}


def test_intake_links_each_medium_to_the_message_that_committed_it(service: Any) -> None:
    shared = _image(0)
    own = _image(1)
    x = service.frank("alice", "bob", "x", attachments=[(shared, "image/png")])
    y = service.frank("alice", "bob", "y", attachments=[(shared, "image/png"), (own, "image/png")])
    context = service.frank("bob", "alice", "what?")
    report = service.report(
        "bob",
        [x, context, y],
        reported=[parse_payload(x.payload).id, parse_payload(y.payload).id],
        attachments={_sha(shared): shared, _sha(own): own},
    )
    assert service.submit("bob", report).status_code == 201
    with service.app.state.session_factory() as session:
        links = session.execute(
            select(Media.sha256, MediaMessage.commitment).join(
                MediaMessage, MediaMessage.media_id == Media.id
            )
        ).all()
    # The same bytes attached to both reported messages are linked to both.
    assert sorted(links) == sorted(
        [
            (_sha(shared), x.commitment.hex()),
            (_sha(shared), y.commitment.hex()),
            (_sha(own), y.commitment.hex()),
        ]
    )


def test_an_item_shows_serves_and_banks_only_its_own_message_media(service: Any) -> None:
    mod = _moderator(service, "mo", "moderator")
    lead = _moderator(service, "le", "lead")  # sees any general item without a lease
    sent = _two_message_report(service)
    assert service.submit("bob", sent["report"]).status_code == 201
    items = _items(service)
    assert {i.queue for i in items.values()} == {"general"}
    sha_x, sha_y = _sha(sent["image_x"]), _sha(sent["image_y"])

    for mine, theirs, image in (
        (sent["x"], sha_y, sent["image_x"]),
        (sent["y"], sha_x, sent["image_y"]),
    ):
        item = items[mine].id
        detail = service.client.get(f"/v1/review/items/{item}", headers=lead)
        assert detail.status_code == 200, detail.text
        [att] = detail.json()["verified"]["attachments"]
        assert att["sha256"] == _sha(image)
        base = f"/v1/review/items/{item}/media"
        assert service.client.get(f"{base}/{_sha(image)}", headers=lead).status_code == 200
        thumb = service.client.get(f"{base}/{theirs}", headers=lead)
        assert (thumb.status_code, thumb.json()["error"]["code"]) == (404, "not_found")
        reveal = service.client.post(f"{base}/{theirs}/reveal", headers=lead, json=WHY)
        assert (reveal.status_code, reveal.json()["error"]["code"]) == (404, "not_found")
        original = service.client.post(f"{base}/{_sha(image)}/reveal", headers=lead, json=WHY)
        assert original.content == image

    # Deciding Y with bank_media banks Y's PDQ only.
    y_item = items[sent["y"]].id
    claim = service.client.post("/v1/review/queues/general/claim", headers=mod).json()
    if claim["item"]["id"] != y_item:
        other = claim["item"]["id"]
        claim = service.client.post("/v1/review/queues/general/claim", headers=mod).json()
        service.client.post(f"/v1/review/items/{other}/release", headers=mod)
    assert claim["item"]["id"] == y_item
    detail = service.client.get(f"/v1/review/items/{y_item}", headers=mod).json()
    [att_y] = detail["verified"]["attachments"]
    decided = service.client.post(
        f"/v1/review/items/{y_item}/decision",
        headers=mod,
        json={"decision": "warn_sender", "policy": "harassment/1", "bank_media": True},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["banked"]["hashes"] == [att_y["pdq"]]
    with service.app.state.session_factory() as session:
        pdq_x = session.scalars(select(Media.pdq).where(Media.sha256 == sha_x)).one()
    assert pdq_x is not None
    assert pdq_x != att_y["pdq"]


def test_a_child_safety_image_never_reaches_the_general_item_beside_it(service: Any) -> None:
    """X's image is in a child-safety bank, so X goes to the child-safety queue while Y,
    reported in the same report, goes to the general queue: a general moderator holding
    Y must not see, reveal or bank X's image."""
    mod = _moderator(service, "mo", "moderator")
    cs = _moderator(service, "cs", "child_safety")
    sent = _two_message_report(service)
    banks = service.app.state.banks
    facts, _ = banks.examine(sent["image_x"], "image/png")
    assert facts.pdq is not None
    banks.add_entry(HashValue.from_hex(Algorithm.PDQ, facts.pdq), "csam", "known-x", 0)
    assert service.submit("bob", sent["report"]).status_code == 201
    items = _items(service)
    assert (items[sent["x"]].queue, items[sent["x"]].child_safety) == ("child_safety", True)
    assert (items[sent["y"]].queue, items[sent["y"]].child_safety) == ("general", False)
    sha_x, sha_y = _sha(sent["image_x"]), _sha(sent["image_y"])

    claim = service.client.post("/v1/review/queues/general/claim", headers=mod).json()
    y_item = claim["item"]["id"]
    assert y_item == items[sent["y"]].id
    r = service.client.get(f"/v1/review/items/{y_item}", headers=mod)
    assert [a["sha256"] for a in r.json()["verified"]["attachments"]] == [sha_y]
    assert "csam" not in r.text
    assert "known-x" not in r.text
    base = f"/v1/review/items/{y_item}/media/{sha_x}"
    assert service.client.get(base, headers=mod).status_code == 404
    assert service.client.post(f"{base}/reveal", headers=mod, json=WHY).status_code == 404
    decided = service.client.post(
        f"/v1/review/items/{y_item}/decision",
        headers=mod,
        json={"decision": "warn_sender", "policy": "harassment/1", "bank_media": True},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["banked"]["hashes"] != [facts.pdq]
    assert len(decided.json()["banked"]["hashes"]) == 1

    # The child-safety moderator sees X with its own image and bank match only.
    claim = service.client.post("/v1/review/queues/child_safety/claim", headers=cs).json()
    x_item = claim["item"]["id"]
    detail = service.client.get(f"/v1/review/items/{x_item}", headers=cs).json()
    [att] = detail["verified"]["attachments"]
    assert att["sha256"] == sha_x
    assert [m["category"] for m in att["bank_matches"]] == ["csam"]
    r = service.client.get(f"/v1/review/items/{x_item}/media/{sha_y}", headers=cs)
    assert r.status_code == 404
