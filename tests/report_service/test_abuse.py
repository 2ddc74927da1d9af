"""Bad input and abuse: body limits (while streaming), count limits, rate limits, fuzzing.

Every malformed input gets a 4xx JSON error with a code, never a 5xx, and nothing is
stored."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from client_scan.report_format import encode_report
from report_service.keys import KeyMaterial
from report_service.server import BackgroundServer
from report_service.storage.models import Report

from .conftest import FakeClock, Service, make_service


@pytest.fixture
def strict_service(
    sqlite_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock
) -> Iterator[Service]:
    for svc in make_service(
        sqlite_url,
        tmp_path,
        keys,
        clock,
        max_body_bytes=64 * 1024,
        max_messages=3,
        max_attachments=1,
        rate_limit_per_minute=6,
        rate_limit_burst=3,
    ):
        for name in ("alice", "bob"):
            svc.add_user(name)
        yield svc


@pytest.fixture
def fuzz_service(
    sqlite_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock
) -> Iterator[Service]:
    for svc in make_service(sqlite_url, tmp_path, keys, clock, rate_limit_burst=10**6):
        for name in ("alice", "bob"):
            svc.add_user(name)
        yield svc


def stored(service: Service) -> int:
    with service.app.state.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Report)) or 0)


def test_declared_oversize_body_is_413(strict_service: Service) -> None:
    s = strict_service
    headers = {**s.auth("bob"), "Content-Type": "application/octet-stream"}
    response = s.client.post("/v1/reports", content=b"x" * (64 * 1024 + 1), headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_streamed_body_is_cut_off_at_the_limit(strict_service: Service) -> None:
    """A chunked body that never ends: the server answers 413 once the limit is passed,
    without waiting for the rest (which never comes)."""
    s = strict_service
    with BackgroundServer(s.app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            head = (
                "POST /v1/reports HTTP/1.1\r\n"
                f"Host: {host}\r\n"
                f"Authorization: Bearer {s.tokens['bob']}\r\n"
                "Content-Type: application/octet-stream\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            )
            sock.sendall(head.encode())
            chunk = b"y" * 16 * 1024
            for _ in range(5):  # 80 KiB > 64 KiB, and no final chunk: the body never ends
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
    assert answer.startswith(b"HTTP/1.1 413")
    assert stored(s) == 0


def test_relay_body_limit(strict_service: Service) -> None:
    s = strict_service
    big = "A" * (s.app.state.settings.relay_max_ciphertext_bytes * 2)
    response = s.client.post(
        "/v1/relay/messages",
        json={"recipient_id": "bob", "conversation_id": "c", "ciphertext": big, "commitment": "A"},
        headers=s.auth("alice"),
    )
    assert response.status_code == 413


def test_message_and_attachment_counts_are_limited(strict_service: Service) -> None:
    s = strict_service
    many = [s.frank("alice", "bob", f"m{i}") for i in range(4)]
    response = s.submit("bob", s.report("bob", many))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_many_messages"
    one = s.frank("alice", "bob", "pics", attachments=[(b"a", "image/png"), (b"b", "image/png")])
    import hashlib

    two = {hashlib.sha256(b).hexdigest(): b for b in (b"a", b"b")}
    response = s.submit("bob", s.report("bob", [one], attachments=two))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_many_attachments"
    assert stored(s) == 0


def test_rate_limit_answers_429_with_retry_after(strict_service: Service) -> None:
    s = strict_service
    codes = [
        s.submit("bob", s.report("bob", [s.frank("alice", "bob")])).status_code for _ in range(4)
    ]
    assert codes[:3] == [201, 201, 201]
    assert codes[3] == 429
    limited = s.submit("bob", s.report("bob", [s.frank("alice", "bob")]))
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    # another reporter is not affected, and time refills the bucket
    s.clock.now_ms += 10_000
    assert s.submit("bob", s.report("bob", [s.frank("alice", "bob")])).status_code == 201


FUZZ = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None
)


@FUZZ
@given(body=st.binary(max_size=2048))
def test_random_bodies_never_5xx(fuzz_service: Service, body: bytes) -> None:
    s = fuzz_service
    headers = {**s.auth("bob"), "Content-Type": "application/octet-stream"}
    before = stored(s)
    response = s.client.post("/v1/reports", content=body, headers=headers)
    assert 400 <= response.status_code < 500
    assert "code" in response.json()["error"]
    assert stored(s) == before


@FUZZ
@given(data=st.data())
def test_mutated_sealed_reports_never_5xx(fuzz_service: Service, data: st.DataObject) -> None:
    s = fuzz_service
    report = s.report("bob", [s.frank("alice", "bob", "context"), s.frank("alice", "bob", "x")])
    sealed = bytearray(s.seal(report))
    position = data.draw(st.integers(0, len(sealed) - 1))
    sealed[position] ^= data.draw(st.integers(1, 255))
    headers = {**s.auth("bob"), "Content-Type": "application/octet-stream"}
    before = stored(s)
    response = s.client.post("/v1/reports", content=bytes(sealed), headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "seal_invalid"
    assert stored(s) == before


@FUZZ
@given(data=st.data())
def test_mutated_report_json_never_5xx(fuzz_service: Service, data: st.DataObject) -> None:
    """Validly sealed, but the JSON inside is altered: a 4xx unless it still verifies."""
    s = fuzz_service
    report = s.report("bob", [s.frank("alice", "bob", "context"), s.frank("alice", "bob", "x")])
    plain = bytearray(encode_report(report))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(plain) - 1))
        plain[position] = data.draw(st.integers(0, 255))
    before = stored(s)
    response = s.submit("bob", bytes(plain))
    assert response.status_code < 500
    if response.status_code >= 400:
        assert "code" in response.json()["error"]
        assert stored(s) == before


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)


@FUZZ
@given(
    body=JSON,
    extra=st.dictionaries(
        st.sampled_from(["recipient_id", "conversation_id", "ciphertext", "commitment"]), JSON
    ),
)
def test_random_relay_json_never_5xx(
    fuzz_service: Service, body: object, extra: dict[str, object]
) -> None:
    s = fuzz_service
    for payload in (body, extra):
        response = s.client.post("/v1/relay/messages", json=payload, headers=s.auth("alice"))
        assert response.status_code < 500
        if response.status_code >= 400:
            assert "code" in response.json()["error"]


def test_oversize_report_is_counted_once(strict_service: Service) -> None:
    s = strict_service
    headers = {**s.auth("bob"), "Content-Type": "application/octet-stream"}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"z" * 16 * 1024

    response = s.client.post("/v1/reports", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    metrics = s.client.get("/metrics").text
    assert 'frankly_reports_rejected_total{code="body_too_large"} 1.0' in metrics


def test_a_streamed_oversize_report_counts_against_the_rate_limit(
    strict_service: Service,
) -> None:
    """A body cut off at the limit (413) costs a token like any other refused request:
    after the burst of 3 the next request is a 429, whatever it carries."""
    s = strict_service
    headers = {**s.auth("bob"), "Content-Type": "application/octet-stream"}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"z" * 16 * 1024

    answers = [s.client.post("/v1/reports", content=chunks(), headers=headers) for _ in range(3)]
    assert [r.status_code for r in answers] == [413, 413, 413]
    limited = s.client.post("/v1/reports", content=b"junk", headers=headers)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
