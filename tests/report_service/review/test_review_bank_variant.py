"""A bank match shows which query variant of the picture matched (issue 15 follow-up):
through the whole service (``create_app``: real intake, real review API over HTTP), on
SQLite and PostgreSQL.

A mirrored copy of a banked picture matches through the ``flipy`` variant
(:mod:`hashes.variants`); the moderator sees ``"variant": "flipy"`` on the item, and
``"original"`` on the item of the picture as banked. Rows stored before migration
``0010`` (``variant`` NULL) read as ``original``.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

from PIL import Image, ImageOps
from sqlalchemy import update

from client_scan.report_format import Reason
from hashes.values import Algorithm, HashValue
from report_service.banks import hash_media
from report_service.demo import demo_image
from report_service.storage.models import BankMatch


def _mirrored(data: bytes) -> bytes:
    out = io.BytesIO()
    ImageOps.mirror(Image.open(io.BytesIO(data))).save(out, "JPEG", quality=80)
    return out.getvalue()


def _report_picture(service: Any, sender: str, reporter: str, picture: bytes) -> str:
    message = service.frank(sender, reporter, "look", attachments=[(picture, "image/jpeg")])
    sha = hashlib.sha256(picture).hexdigest()
    report = service.report(reporter, [message], reason=Reason.NCII, attachments={sha: picture})
    r = service.submit(reporter, report)
    assert r.status_code == 201, r.text
    return str(report.report_id)


def _matches(service: Any, headers: dict[str, str]) -> tuple[int, list[dict[str, Any]]]:
    claim = service.client.post("/v1/review/queues/general/claim", headers=headers)
    assert claim.status_code == 200, claim.text
    item: int = claim.json()["item"]["id"]
    detail = service.client.get(f"/v1/review/items/{item}", headers=headers)
    assert detail.status_code == 200, detail.text
    [att] = detail.json()["verified"]["attachments"]
    matches: list[dict[str, Any]] = att["bank_matches"]
    return item, matches


def test_the_item_names_the_variant_that_matched(service: Any) -> None:
    review = service.app.state.review
    mod = {"Authorization": f"Bearer {review.add_moderator('test', 'mo', 'moderator').token}"}
    original = demo_image()
    facts, _ = hash_media(original, "image/jpeg")
    assert facts.pdq is not None
    service.app.state.banks.add_entry(
        HashValue.from_hex(Algorithm.PDQ, facts.pdq), "ncii", "e1", service.clock()
    )
    mirrored = _mirrored(original)
    # Not a match as sent: only its mirror image is.
    mirrored_facts, _ = hash_media(mirrored, "image/jpeg")
    assert mirrored_facts.pdq is not None
    as_sent = HashValue.from_hex(Algorithm.PDQ, mirrored_facts.pdq)
    assert service.app.state.banks.match([as_sent]) == []

    mirror_report = _report_picture(service, "alice", "bob", mirrored)
    _, matches = _matches(service, mod)
    assert [(m["entry_id"], m["category"], m["variant"]) for m in matches] == [
        ("e1", "ncii", "flipy")
    ]
    service.clock.now_ms += 1000

    _report_picture(service, "alice", "carol", original)
    original_item, matches = _matches(service, mod)
    assert [(m["entry_id"], m["variant"]) for m in matches] == [("e1", "original")]

    # The variant is stored with the match, per report.
    with service.app.state.session_factory() as session:
        rows = session.query(BankMatch.report_id, BankMatch.variant).all()
    assert dict(rows)[mirror_report] == "flipy"
    assert sorted(v for _, v in rows) == ["flipy", "original"]

    # A match stored before migration 0010 (variant NULL) reads as "original".
    with service.app.state.session_factory.begin() as session:
        session.execute(update(BankMatch).values(variant=None))
    detail = service.client.get(f"/v1/review/items/{original_item}", headers=mod).json()
    [att] = detail["verified"]["attachments"]
    assert [m["variant"] for m in att["bank_matches"]] == ["original"]
