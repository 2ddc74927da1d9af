"""Attack: hostile pictures inside valid reports (issue 10, section 3).

Written as an attacker would: mallory sends bob small pictures that are cheap to send and
costly to decode, bob (or mallory's accomplice) reports them, through the public client
library and a real HTTP server on loopback. Each report must still be answered, stored and
verified (its text is evidence), quickly, while the picture gets a typed ``decode_error``
instead of the server's memory or time.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from client_scan.client import FranklyClient
from client_scan.messaging import Attachment
from client_scan.outbox import OutboxEntry, OutboxStatus
from client_scan.report_format import Reason
from report_service.app import create_app
from report_service.keys import generate_key_material
from report_service.server import BackgroundServer
from report_service.settings import Settings
from report_service.storage.models import Media
from report_service.storage.users import add_user
from report_service.tokens import hash_token, new_token
from tests.hashes.hostile_media import (
    gif_with_logical_screen,
    png_rgba16,
    progressive_jpeg_with_scans,
    slow_jpeg_under_every_limit,
)
from tests.hashes.imaging_support import encode, photo

SESSION_KEY = bytes(range(100, 132))
# Generous: a bound, not a benchmark (the 5 s target is measured by
# benchmarks/hostile_media.py); the old code took about 1.5 minutes for the JPEG.
ANSWER_WITHIN_S = 20.0


@dataclass
class Deployment:
    url: str
    tokens: dict[str, str]
    app: object

    def media_rows(self, report_id: str) -> list[Media]:
        sessions = self.app.state.session_factory  # type: ignore[attr-defined]
        with sessions() as session:
            return list(session.scalars(select(Media).where(Media.report_id == report_id)))


def deploy(database_url: str, tmp_path: Path, **settings: object) -> Iterator[Deployment]:
    cfg = Settings(
        environment="development",
        data_dir=tmp_path / "service",
        database_url=database_url,
        **settings,  # type: ignore[arg-type]
    )
    now = time.time_ns() // 1_000_000
    app = create_app(cfg, keys=generate_key_material(os.urandom, now - 60_000))
    tokens: dict[str, str] = {}
    for name in ("mallory", "bob", *(f"bob-{i}" for i in range(4))):
        tokens[name] = new_token()
        with app.state.session_factory() as session:
            add_user(session, name, hash_token(tokens[name]), now)
    try:
        with BackgroundServer(app) as url:
            yield Deployment(url, tokens, app)
    finally:
        app.state.engine.dispose()


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    yield from deploy(database_url, tmp_path)


def client(d: Deployment, user: str, folder: Path) -> FranklyClient:
    return FranklyClient(user_id=user, base_url=d.url, token=d.tokens[user], data_dir=folder / user)


def send_and_report(
    d: Deployment,
    folder: Path,
    picture: bytes,
    mime: str,
    body: str = "look at this",
    reporter: str = "bob",
) -> tuple[OutboxEntry, float]:
    """mallory sends ``picture`` to the reporter, who reports it. Returns the reporter's
    outbox entry and the seconds the report took to be answered."""
    with client(d, "mallory", folder) as mallory, client(d, reporter, folder) as bob:
        attachment = Attachment(picture, mime, id="x")
        sent = mallory.send(SESSION_KEY, reporter, f"conv-{reporter}", body, [attachment])
        received = bob.receive(lambda _d: SESSION_KEY)
        assert [r.id for r in received.accepted] == [sent.id]
        bob.accept_attachment(sent.id, "x", picture)
        digest = hashlib.sha256(picture).hexdigest()
        bob.report_key()  # fetched and pinned outside the timed part
        start = time.perf_counter()
        entry = bob.report([sent.id], Reason.HARASSMENT, include_attachments=[digest])
        return entry, time.perf_counter() - start


HOSTILE: dict[str, tuple[Callable[[], bytes], str, str]] = {
    # 35 bytes: a 1x1 frame on an 8000x8000 logical screen (used to cost 1.08 GB).
    "gif-8000x8000-logical-screen": (gif_with_logical_screen, "image/gif", "DecodeMemoryExceeded"),
    # 522 KB: 8192x8192 16-bit RGBA, exactly at the pixel limit (used to cost 1.65 GB).
    "png-8192x8192-rgba16": (png_rgba16, "image/png", "DecodeMemoryExceeded"),
    # ~400 KB: a progressive JPEG with 10,000 scans (used to take minutes of CPU).
    "jpeg-10000-scans": (
        lambda: progressive_jpeg_with_scans(10_000, side=4096),
        "image/jpeg",
        "TooManyScans",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_picture_is_refused_but_the_report_is_stored(
    service: Deployment, tmp_path: Path, name: str
) -> None:
    make, mime, expected = HOSTILE[name]
    picture = make()
    entry, elapsed = send_and_report(service, tmp_path, picture, mime)
    assert entry.status is OutboxStatus.SENT, entry
    assert elapsed < ANSWER_WITHIN_S
    (row,) = service.media_rows(entry.report_id)
    assert row.sha256 == hashlib.sha256(picture).hexdigest()
    assert row.size == len(picture)
    assert row.decode_error == expected
    assert row.pdq is None


def test_a_slow_picture_under_every_header_limit_is_stopped_by_the_worker_deadline(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 100 scans over 1638x1638 pixels: at every header limit but under it, yet libjpeg
    # needs about half a second (more under load). The worker is killed at the deadline
    # (0.1 s here) and the report is still stored.
    slow = slow_jpeg_under_every_limit()
    for d in deploy(database_url, tmp_path, media_timeout_s=0.1):
        sandbox = d.app.state.media_sandbox  # type: ignore[attr-defined]
        before = set(sandbox.start().worker_pids())
        entry, elapsed = send_and_report(d, tmp_path, slow, "image/jpeg")
        assert entry.status is OutboxStatus.SENT, entry
        assert elapsed < ANSWER_WITHIN_S
        (row,) = d.media_rows(entry.report_id)
        assert row.decode_error == "DecodeTimeout"
        assert set(sandbox.worker_pids()) != before  # the stuck worker was replaced
        # The pool has replaced the killed worker: an honest picture is hashed as before.
        # Its deadline is lifted first: at 0.1 s even a 16x16 PNG could miss it on a
        # loaded machine, and this part tests the replacement, not the deadline.
        monkeypatch.setattr(sandbox, "timeout_s", 60.0)
        honest = encode(photo(16, 16), "PNG")
        entry, _ = send_and_report(d, tmp_path / "again", honest, "image/png", body="hi")
        (row,) = d.media_rows(entry.report_id)
        assert row.decode_error is None
        assert row.pdq is not None


def test_hostile_reports_in_flight_leave_honest_ones_hashed(
    service: Deployment, tmp_path: Path
) -> None:
    gif = gif_with_logical_screen()
    outcomes: list[tuple[OutboxEntry, float]] = []

    def attack(i: int) -> None:
        folder = tmp_path / f"attack-{i}"
        outcomes.append(send_and_report(service, folder, gif, "image/gif", reporter=f"bob-{i}"))

    threads = [threading.Thread(target=attack, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    honest = encode(photo(320, 240), "JPEG")
    entry, _ = send_and_report(service, tmp_path / "honest", honest, "image/jpeg", body="hi")
    for t in threads:
        t.join()
    (row,) = service.media_rows(entry.report_id)
    assert row.decode_error is None
    assert row.pdq is not None
    assert len(outcomes) == 4
    for hostile, elapsed in outcomes:
        assert hostile.status is OutboxStatus.SENT
        assert elapsed < ANSWER_WITHIN_S
        (row,) = service.media_rows(hostile.report_id)
        assert row.decode_error == "DecodeMemoryExceeded"


def test_the_moderator_thumbnail_refuses_the_scan_bomb_from_its_header() -> None:
    # The review API renders a blurred thumbnail with Pillow in the server process; the
    # 10,000-scan JPEG (16.7 Mpx: under its own 40 Mpx check) used to hold that request
    # for minutes. It now goes through the same header checks as hashing.
    from report_service.review.errors import MediaUndecodable
    from report_service.review.media.thumbnails import blurred_thumbnail

    start = time.perf_counter()
    with pytest.raises(MediaUndecodable, match="TooManyScans"):
        blurred_thumbnail(progressive_jpeg_with_scans(10_000, side=4096))
    assert time.perf_counter() - start < ANSWER_WITHIN_S
    honest = encode(photo(320, 240), "JPEG")
    assert blurred_thumbnail(honest).startswith(b"\x89PNG")


def test_the_operators_budget_reaches_the_workers(database_url: str, tmp_path: Path) -> None:
    # FRANKLY_MEDIA_MEMORY_MB is the budget every picture is checked against: at 1 MiB an
    # ordinary 640x480 PNG (about 5 MiB to decode and hash) is refused, its report kept.
    for d in deploy(database_url, tmp_path, media_memory_mb=1):
        sandbox = d.app.state.media_sandbox  # type: ignore[attr-defined]
        assert sandbox.workers == 2
        picture = encode(photo(640, 480), "PNG")
        entry, _ = send_and_report(d, tmp_path, picture, "image/png")
        assert entry.status is OutboxStatus.SENT, entry
        (row,) = d.media_rows(entry.report_id)
        assert row.decode_error == "DecodeMemoryExceeded"


def test_apps_share_one_pool_and_a_closed_one_is_replaced(tmp_path: Path) -> None:
    from report_service.app import media_sandbox

    first = Settings(environment="development", data_dir=tmp_path, media_timeout_s=3.25)
    second = Settings(environment="development", data_dir=tmp_path / "b", media_timeout_s=3.25)
    pool, limits = media_sandbox(first)
    assert media_sandbox(second)[0] is pool  # same limits: one pool per process
    assert limits.max_memory == first.media_memory_mb * 1024 * 1024
    assert pool.timeout_s == 3.25
    pool.close()
    fresh, _ = media_sandbox(first)
    assert fresh is not pool
    assert not fresh.closed
