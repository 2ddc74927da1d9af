"""Operations: health, readiness, metrics, request ids, JSON logs without secrets, OpenAPI."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest

from report_service.keys import KeyMaterial
from report_service.observability import JsonFormatter

from .conftest import FakeClock, Service, b64, make_service

ALL_INTERFACES = "0.0.0.0"  # noqa: S104  (what `serve --host 0.0.0.0` binds)


def test_health_ready_and_metrics(sqlite_service: Service) -> None:
    s = sqlite_service
    assert s.client.get("/healthz").json() == {"status": "ok"}
    assert s.client.get("/readyz").json() == {"status": "ready"}
    s.submit("bob", s.report("bob", [s.frank("alice", "bob")]))
    text = s.client.get("/metrics").text
    assert "frankly_reports_accepted_total 1.0" in text
    assert "frankly_report_verification_seconds_count 1.0" in text


def test_readyz_fails_when_the_database_is_gone(sqlite_service: Service) -> None:
    s = sqlite_service
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    s.app.state.session_factory = sessionmaker(create_engine("sqlite:////nonexistent/dir/x.db"))
    response = s.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


def test_metrics_registries_are_per_app(sqlite_service: Service) -> None:
    from prometheus_client import REGISTRY

    assert "frankly_reports_accepted" not in {m.name for m in REGISTRY.collect()}


def test_request_ids_are_echoed_or_made(sqlite_service: Service) -> None:
    s = sqlite_service
    given = s.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = s.client.get("/healthz", headers={"X-Request-ID": "bad id with spaces;<script>"})
    assert made.headers["x-request-id"] != "bad id"
    assert len(made.headers["x-request-id"]) == 36


def test_unknown_route_is_a_json_404(sqlite_service: Service) -> None:
    response = sqlite_service.client.get("/v1/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_logs_of_a_full_run_hold_no_secrets(
    sqlite_service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    s = sqlite_service
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = []
    for raw in s.keys.secrets():
        secrets += [raw.hex(), base64.b64encode(raw).decode()]
    secrets += list(s.tokens.values())

    message = s.frank("alice", "bob", "a very private sentence")
    secrets += [b64(message.franking_key), message.franking_key.hex(), "a very private sentence"]
    s.client.post(
        "/v1/relay/messages",
        json={
            "recipient_id": "bob",
            "conversation_id": "c",
            "ciphertext": b64(b"secret-ciphertext"),
            "commitment": b64(message.commitment),
        },
        headers={**s.auth("alice"), "X-Request-ID": "req-1"},
    )
    s.client.get("/v1/relay/inbox", headers=s.auth("bob"))
    report = s.report("bob", [message], comment="my private comment")
    secrets.append("my private comment")
    assert s.submit("bob", report).status_code == 201
    s.submit("bob", report)
    s.submit("carol", report)  # reporter_mismatch
    s.client.post(
        "/v1/reports", content=b"junk", headers={"Authorization": "Bearer wrong-token-xyz"}
    )
    secrets.append("wrong-token-xyz")
    s.client.get(f"/v1/reports/{report.report_id}", headers=s.auth("bob"))

    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    assert any('"request_id": "req-1"' in line for line in lines)
    for line in lines:
        json.loads(line)
    text = "\n".join(lines) + "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        assert secret not in text, "a secret reached the logs"


def test_openapi_is_complete_with_examples(sqlite_service: Service) -> None:
    doc = sqlite_service.client.get("/openapi.json").json()
    paths = doc["paths"]
    for path, method in [
        ("/v1/relay/messages", "post"),
        ("/v1/relay/inbox", "get"),
        ("/v1/relay/inbox/ack", "post"),
        ("/v1/keys/report", "get"),
        ("/v1/reports", "post"),
        ("/v1/reports/{report_id}", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ]:
        operation = paths[path][method]
        assert operation["summary"]
        assert operation["responses"]
    post = paths["/v1/reports"]["post"]
    assert "application/octet-stream" in post["requestBody"]["content"]
    assert {"201", "200", "413", "422", "429"} <= set(post["responses"])
    schemas = doc["components"]["schemas"]
    for name in (
        "ReportAccepted",
        "ReportStatus",
        "RelaySendRequest",
        "InboxResponse",
        "ErrorResponse",
    ):
        assert schemas[name].get("examples"), name
    # Examples are read by client authors: their values must be real ones.
    from report_service.review.decisions.taxonomy import Decision

    for example in schemas["ReportStatus"]["examples"]:
        assert Decision(example["outcome"])


def test_database_outage_is_503_not_500(sqlite_service: Service) -> None:
    s = sqlite_service
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    unreachable = create_engine("sqlite:////nonexistent/dir/x.db")
    gone = sessionmaker(unreachable)
    s.app.state.session_factory = s.app.state.read_session_factory = gone
    s.app.state.read_engine = unreachable  # the token check's Core connections
    response = s.submit("bob", s.report("bob", [s.frank("alice", "bob")]))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        (ALL_INTERFACES, False),
        ("::", False),
        ("10.0.0.5", False),
        ("frankly.example", False),
        ("", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    from report_service.settings import is_loopback

    assert is_loopback(host) is loopback


def test_metrics_beyond_loopback_need_the_token(
    sqlite_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock
) -> None:
    for s in make_service(sqlite_url, tmp_path, keys, clock, host=ALL_INTERFACES):
        response = s.client.get("/metrics")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    for s in make_service(
        sqlite_url, tmp_path, keys, clock, host=ALL_INTERFACES, metrics_token="m-" + "x" * 30
    ):
        assert s.client.get("/metrics").status_code == 401
        bad = s.client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        good = s.client.get("/metrics", headers={"Authorization": "Bearer m-" + "x" * 30})
        assert good.status_code == 200
        assert "frankly_http_requests_total" in good.text


def test_serve_host_reaches_the_settings(tmp_path: Path) -> None:
    import argparse

    from report_service._cli_service import _settings

    args = argparse.Namespace(data=tmp_path, host=ALL_INTERFACES)
    assert _settings(args).host == ALL_INTERFACES
    assert not _settings(args).loopback_only
    assert _settings(argparse.Namespace(data=tmp_path, host=None)).loopback_only
