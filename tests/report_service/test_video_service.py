"""Video attachments through the whole service (issue 16), on SQLite and PostgreSQL:
intake over real HTTP re-hashes a video in the sandbox (vPDQ, file digests, keyframes kept
encrypted), matches the banks' video entries (a clip of a banked video, a re-encoded copy
banked by another process), hostile video is stored with a typed ``decode_error`` and
never answers 5xx, and review shows blurred grayscale keyframes until an audited reveal,
after which (only) the original plays."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from client_scan.report_format import Reason
from hashes.video import hash_video, keyframes
from report_service.banks import SERVICE_VIDEO_LIST_ID, category_severity
from report_service.keys import KeyMaterial
from report_service.storage.models import BankMatch, EvidenceBlob, MediaVideo, ReviewItem
from tests.hashes import video_hostile
from tests.hashes import video_support as vs

from .conftest import FakeClock, Service, loopback_client, make_service

MP4 = "video/mp4"


@pytest.fixture(scope="module")
def scene() -> list[Any]:
    """Frames of a 6 s slide show of three photographs (10 fps, 160x120)."""
    return vs.scene_frames()


@pytest.fixture(scope="module")
def video(scene: list[Any]) -> bytes:
    return vs.encode(scene)


def _report(service: Service, reporter: str, data: bytes, *, to: str = "bob") -> Any:
    sha = hashlib.sha256(data).hexdigest()
    context = service.frank(to, "alice", "hi")
    abusive = service.frank("alice", to, "watch this", attachments=[(data, MP4)])
    return service.report(reporter, [context, abusive], reason=Reason.NCII, attachments={sha: data})


def _moderator(service: Service, name: str = "mo", role: str = "moderator") -> dict[str, str]:
    token = service.app.state.review.add_moderator("test", name, role).token
    return {"Authorization": f"Bearer {token}"}


def _sharpness(image: Image.Image) -> float:
    """Mean absolute difference of horizontally neighbouring pixels (detail left)."""
    pixels = np.asarray(image.convert("L"), dtype=float)
    return float(np.abs(np.diff(pixels, axis=1)).mean())


def test_intake_over_http_stores_vpdq_digests_and_encrypted_keyframes(
    service: Service, live_url: str, video: bytes
) -> None:
    report = _report(service, "bob", video)
    with loopback_client(live_url) as http:
        answer = http.post(
            "/v1/reports",
            content=service.seal(report),
            headers={**service.auth("bob"), "Content-Type": "application/octet-stream"},
        )
    assert answer.status_code == 201, answer.text
    sha = hashlib.sha256(video).hexdigest()
    with service.app.state.session_factory() as session:
        [row] = session.scalars(select(MediaVideo)).all()
        blobs = session.scalars(select(EvidenceBlob).where(EvidenceBlob.kind == "keyframe")).all()
    assert row.sha256 == sha
    assert row.decode_error is None
    stored = json.loads(row.hash_json or "")
    expected = hash_video(video)
    assert stored["vpdq"] == expected.to_vpdq()  # the same frames as hashing in-process
    assert stored["md5"] == "md5:" + hashlib.md5(video, usedforsecurity=False).hexdigest()
    assert stored["sha256"] == f"sha256:{sha}"
    assert row.duration_s == pytest.approx(6.0, abs=0.2)
    assert row.keyframe_count == 4
    assert sorted(b.ref for b in blobs) == [f"{sha}:{i}" for i in range(4)]
    for b in blobs:  # encrypted: no PNG signature, no plaintext IHDR
        assert b"\x89PNG" not in bytes(b.ciphertext)
        assert b"IHDR" not in bytes(b.ciphertext)


def test_a_clip_of_a_banked_video_matches_and_raises_priority(
    service: Service, scene: list[Any], video: bytes
) -> None:
    banks = service.app.state.banks
    banks.add_video(hash_video(video), "ncii", "known-1", service.clock())
    clip = vs.encode(scene[20:50])  # 3 s from the middle, re-encoded
    unrelated = vs.encode(vs.pattern_frames(40))
    assert service.submit("bob", _report(service, "bob", clip)).status_code == 201
    assert (
        service.submit("carol", _report(service, "carol", unrelated, to="carol")).status_code == 201
    )
    clip_sha = hashlib.sha256(clip).hexdigest()
    with service.app.state.session_factory() as session:
        matches = session.scalars(select(BankMatch)).all()
        items = list(session.scalars(select(ReviewItem)))
    assert [(m.sha256, m.list_id, m.algorithm, m.entry_id) for m in matches] == [
        (clip_sha, SERVICE_VIDEO_LIST_ID, "vpdq", "known-1")
    ]
    assert matches[0].match_percent is not None
    assert matches[0].match_percent >= 80.0
    matched, other = sorted(items, key=lambda i: -i.max_bank_severity)
    assert matched.max_bank_severity == category_severity("ncii")
    assert other.max_bank_severity == 0
    assert matched.priority > other.priority


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (video_hostile.huge_declared_mpeg2, "TooManyPixels"),
        (lambda: video_hostile.many_streams(20), "TooManyStreams"),
        (lambda: b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4000, None),
    ],
    ids=["huge-declared", "many-streams", "truncated-mp4"],
)
def test_hostile_video_is_stored_with_a_typed_error_and_review_answers_4xx(
    sqlite_service: Service, make: Any, error: str | None
) -> None:
    service = sqlite_service
    data = make()
    answer = service.submit("bob", _report(service, "bob", data))
    assert answer.status_code == 201, answer.text
    with service.app.state.session_factory() as session:
        [row] = session.scalars(select(MediaVideo)).all()
    assert row.decode_error is not None
    assert row.keyframe_count == 0
    if error is not None:
        assert row.decode_error == error
    mod = _moderator(service)
    claim = service.client.post("/v1/review/queues/general/claim", headers=mod).json()
    detail = service.client.get(f"/v1/review/items/{claim['item']['id']}", headers=mod).json()
    [att] = detail["verified"]["attachments"]
    assert (att["kind"], att["decode_error"], att["keyframes"]) == ("video", row.decode_error, 0)
    thumb = service.client.get(att["thumbnail_url"], headers=mod)
    assert thumb.status_code == 422, thumb.text
    assert thumb.json()["error"]["code"] == "media_undecodable"
    frame = service.client.get(att["thumbnail_url"] + "/keyframes/0", headers=mod)
    assert frame.status_code == 422


def test_review_blurs_keyframes_and_plays_only_after_an_audited_reveal(
    service: Service,
    video: bytes,
    database_url: str,
    tmp_path: Path,
    keys: KeyMaterial,
    clock: FakeClock,
) -> None:
    mod = _moderator(service)
    aud = _moderator(service, "au", "auditor")
    sha = hashlib.sha256(video).hexdigest()
    assert service.submit("bob", _report(service, "bob", video)).status_code == 201
    claim = service.client.post("/v1/review/queues/general/claim", headers=mod).json()
    item = claim["item"]["id"]
    detail = service.client.get(f"/v1/review/items/{item}", headers=mod).json()
    [att] = detail["verified"]["attachments"]
    assert att["kind"] == "video"
    assert att["keyframes"] == 4
    assert att["duration_s"] == pytest.approx(6.0, abs=0.2)
    assert len(att["keyframe_urls"]) == 4

    originals = keyframes(video, count=4)
    for url, original in zip(att["keyframe_urls"], originals, strict=True):
        served = service.client.get(url, headers=mod)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        thumb = Image.open(io.BytesIO(served.content))
        assert thumb.mode == "L"
        assert max(thumb.size) <= 256
        plain = original.convert("L")
        plain.thumbnail(thumb.size)
        # The photographs' detail is gone: a fifth of the unblurred sharpness at most.
        assert _sharpness(thumb) < 0.2 * _sharpness(plain)
    assert service.client.get(att["keyframe_urls"][0][:-1] + "4", headers=mod).status_code == 404

    # No playback before a reveal; the reveal needs a reason and is audited.
    early = service.client.get(att["play_url"], headers=mod)
    assert early.status_code == 403
    assert early.json()["error"]["code"] == "reveal_required"
    assert service.client.post(att["reveal_url"], headers=mod, json={}).status_code == 422
    revealed = service.client.post(
        att["reveal_url"], headers=mod, json={"reason": "check what the clip shows"}
    )
    assert revealed.status_code == 200
    assert revealed.content == video
    played = service.client.get(att["play_url"], headers=mod)
    assert played.status_code == 200
    assert played.headers["content-type"] == "video/mp4"
    assert played.headers["cache-control"] == "no-store"
    assert played.content == video
    # The reveal is the caller's own: another moderator (a lead) still needs one.
    lead = _moderator(service, "le", "lead")
    assert service.client.get(att["play_url"], headers=lead).status_code == 403
    # ... and it expires.
    clock.now_ms += 16 * 60 * 1000
    assert service.client.get(att["play_url"], headers=mod).status_code in (403, 409)
    clock.now_ms -= 16 * 60 * 1000

    decided = service.client.post(
        f"/v1/review/items/{item}/decision",
        headers=mod,
        json={"decision": "suspend_sender", "policy": "ncii/2.0", "bank_media": True},
    )
    assert decided.status_code == 200, decided.text
    banked = decided.json()["banked"]
    assert banked["videos"] == [sha]
    assert banked["list_id"] == SERVICE_VIDEO_LIST_ID
    assert decided.json()["decision"]["banked"] == 1

    log = service.client.get("/v1/audit", params={"item": item}, headers=aud).json()
    actions = [e["action"] for e in log["entries"]]
    assert actions[:8] == ["claim", "item_view"] + ["media_view"] * 4 + [
        "media_reveal",
        "media_play",
    ]
    assert log["entries"][6]["detail"]["reason"] == "check what the clip shows"
    assert actions[-1] == "bank_media"
    assert log["entries"][-1]["detail"]["videos"] == [sha]

    # Another process (its own engine, banks and sandbox use) on the same database
    # matches a re-encoded, resized copy against the video banked here.
    copy = vs.encode(
        [np.asarray(Image.fromarray(f).resize((240, 180))) for f in vs.scene_frames()], crf=35
    )
    for other in _another_process(database_url, tmp_path, keys, clock):
        other.add_user("dave")
        answer = other.submit("dave", _report(other, "dave", copy, to="dave"))
        assert answer.status_code == 201, answer.text
        with other.app.state.session_factory() as session:
            rows = session.scalars(
                select(BankMatch).where(BankMatch.sha256 == hashlib.sha256(copy).hexdigest())
            ).all()
        assert [(r.list_id, r.algorithm, r.entry_id) for r in rows] == [
            (SERVICE_VIDEO_LIST_ID, "vpdq", f"review-{item}-{sha[:16]}")
        ]


def _another_process(
    database_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock
) -> Iterator[Service]:
    return make_service(database_url, tmp_path / "other", keys, clock)


def test_destroyed_evidence_takes_the_keyframes_and_the_video_with_it(
    service: Service, video: bytes
) -> None:
    from report_service.review.lifecycle.destruction import EvidenceDestroyer

    mod = _moderator(service)
    report = _report(service, "bob", video)
    assert service.submit("bob", report).status_code == 201
    claim = service.client.post("/v1/review/queues/general/claim", headers=mod).json()
    detail = service.client.get(f"/v1/review/items/{claim['item']['id']}", headers=mod).json()
    [att] = detail["verified"]["attachments"]
    assert service.client.get(att["keyframe_urls"][1], headers=mod).status_code == 200
    reason = "erasure request from the reporter"
    assert (
        service.client.post(att["reveal_url"], headers=mod, json={"reason": reason}).status_code
        == 200
    )
    EvidenceDestroyer(service.app.state.session_factory, service.clock).destroy(
        report.report_id, actor="dpo", reason=reason
    )
    for url in (att["keyframe_urls"][1], att["thumbnail_url"], att["play_url"]):
        gone = service.client.get(url, headers=mod)
        assert gone.status_code == 410, (url, gone.text)
        assert gone.json()["error"]["code"] == "evidence_destroyed"
    after = service.client.get(f"/v1/review/items/{claim['item']['id']}", headers=mod).json()
    [kept] = after["verified"]["attachments"]
    assert kept["evidence_destroyed"] is True
    assert kept["kind"] == "video"  # the hashes stay


def test_video_settings_bound_duration_and_keyframes(
    sqlite_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock, video: bytes
) -> None:
    short = vs.encode(vs.pattern_frames(15))  # 1.5 s
    for service in make_service(
        sqlite_url, tmp_path, keys, clock, video_max_duration_s=3.0, video_keyframes=2
    ):
        service.add_user("bob")
        assert service.submit("bob", _report(service, "bob", video)).status_code == 201
        assert service.submit("bob", _report(service, "bob", short)).status_code == 201
        with service.app.state.session_factory() as session:
            rows = {r.sha256: r for r in session.scalars(select(MediaVideo))}
        long_row = rows[hashlib.sha256(video).hexdigest()]
        short_row = rows[hashlib.sha256(short).hexdigest()]
        assert (long_row.decode_error, long_row.keyframe_count) == ("VideoTooLong", 0)
        assert (short_row.decode_error, short_row.keyframe_count) == (None, 2)


def test_a_reports_videos_share_one_time_budget_and_the_rest_match_by_digest(
    sqlite_service: Service, video: bytes
) -> None:
    service = sqlite_service
    other = vs.encode(vs.pattern_frames(30))
    for data in (video, other):
        service.app.state.banks.add_video(hash_video(data), "ncii", None, service.clock())
    ticks = iter([0.0, 0.0, 500.0])  # the deadline, the first video, then past the budget
    service.app.state.intake.monotonic = lambda: next(ticks)
    shas = {hashlib.sha256(d).hexdigest(): d for d in (video, other)}
    context = service.frank("bob", "alice", "hi")
    message = service.frank("alice", "bob", "two", attachments=[(d, MP4) for d in shas.values()])
    report = service.report("bob", [context, message], reason=Reason.NCII, attachments=shas)
    assert service.submit("bob", report).status_code == 201
    with service.app.state.session_factory() as session:
        rows = session.scalars(select(MediaVideo)).all()
        matches = session.scalars(select(BankMatch)).all()
    assert sorted((r.decode_error or "", r.keyframe_count) for r in rows) == [
        ("", 4),
        ("VideoBudgetExhausted", 0),
    ]
    # The unhashed one still matches its banked twin exactly, by its file digest.
    assert sorted((m.sha256, m.algorithm) for m in matches) == sorted(
        (sha, "sha256") for sha in shas
    )


@pytest.mark.parametrize(("variants", "found"), [("service", True), ("none", False)])
def test_a_mirrored_letterboxed_copy_of_a_banked_video_matches_through_a_query_variant(
    sqlite_url: str,
    tmp_path: Path,
    keys: KeyMaterial,
    clock: FakeClock,
    variants: str,
    found: bool,
) -> None:
    big = vs.scene_frames(size=(320, 240), seconds_each=3.0)
    copy = vs.encode(vs.letterbox([np.ascontiguousarray(f[:, ::-1]) for f in big], 60))
    for service in make_service(sqlite_url, tmp_path, keys, clock, video_query_variants=variants):
        service.add_user("bob")
        service.app.state.banks.add_video(hash_video(vs.encode(big)), "ncii", "known-2", 1)
        assert service.submit("bob", _report(service, "bob", copy)).status_code == 201
        with service.app.state.session_factory() as session:
            matches = session.scalars(select(BankMatch)).all()
            [row] = session.scalars(select(MediaVideo)).all()
        # What is stored is the copy's own vPDQ, as vpdq would make it, whatever matched.
        assert json.loads(row.hash_json or "")["vpdq"] == hash_video(copy).to_vpdq()
        if not found:
            assert matches == []
            continue
        [match] = matches
        assert (match.algorithm, match.entry_id) == ("vpdq", "known-2")
        assert match.variant in ("trimmed+flipy", "trimmed+mirrored")
