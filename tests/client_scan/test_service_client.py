"""The httpx client: the contract's calls, error mapping, key pinning, no token leaks."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from client_scan.errors import (
    KeyPinError,
    ReportRejected,
    SubmissionDeferred,
    SubmissionError,
)
from client_scan.pinning import fetch_and_pin
from client_scan.records import MemoryRecordStore
from client_scan.service_client import ServiceClient, parse_retry_after

from .client_fakes import FakeService


def _client(handler: httpx.MockTransport) -> ServiceClient:
    return ServiceClient("https://frankly.test/", "secret-token", transport=handler)


def test_requests_carry_the_bearer_token_except_the_key_fetch() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/keys/report":
            return httpx.Response(
                200, json={"key_id": "rk", "public_key": base64.b64encode(bytes(32)).decode()}
            )
        return httpx.Response(200, json={"deliveries": []})

    with _client(httpx.MockTransport(handler)) as client:
        client.report_key()
        client.inbox()
    assert "Authorization" not in seen[0].headers
    assert seen[1].headers["Authorization"] == "Bearer secret-token"
    assert str(seen[1].url) == "https://frankly.test/v1/relay/inbox"


@pytest.mark.parametrize(
    ("response", "retry_after"),
    [
        (httpx.Response(503), None),
        (httpx.Response(500, text="oops"), None),
        (httpx.Response(429, headers={"Retry-After": "17"}), 17.0),
        (httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), None),
    ],
)
def test_retryable_answers_defer(response: httpx.Response, retry_after: float | None) -> None:
    with (
        _client(httpx.MockTransport(lambda r: response)) as client,
        pytest.raises(SubmissionDeferred) as info,
    ):
        client.submit_report(b"sealed")
    assert info.value.retry_after_s == retry_after


def test_network_failure_defers_without_leaking_the_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with (
        _client(httpx.MockTransport(handler)) as client,
        pytest.raises(SubmissionDeferred) as info,
    ):
        client.submit_report(b"sealed")
    assert "secret-token" not in repr(client)
    assert "secret-token" not in str(info.value)


def test_client_errors_carry_the_service_code_and_index() -> None:
    body = {"error": {"code": "stamp_invalid", "message": "bad stamp", "message_index": 2}}
    with (
        _client(httpx.MockTransport(lambda r: httpx.Response(422, json=body))) as client,
        pytest.raises(ReportRejected) as info,
    ):
        client.submit_report(b"sealed")
    assert (info.value.code, info.value.status, info.value.message_index) == (
        "stamp_invalid",
        422,
        2,
    )
    assert info.value.message == "bad stamp"


def test_client_error_without_json_body_still_rejects() -> None:
    with (
        _client(httpx.MockTransport(lambda r: httpx.Response(413, text="too big"))) as client,
        pytest.raises(ReportRejected) as info,
    ):
        client.submit_report(b"x")
    assert info.value.status == 413
    assert info.value.code == "http_error"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1]", b'{"report_id": 5, "status": "x"}', b'{"status": "x"}'],
)
def test_answers_that_break_the_contract_raise(body: bytes) -> None:
    with (
        _client(httpx.MockTransport(lambda r: httpx.Response(201, content=body))) as client,
        pytest.raises(SubmissionError) as info,
    ):
        client.submit_report(b"x")
    assert not isinstance(info.value, SubmissionDeferred | ReportRejected)


def test_retry_after_parsing() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("-1") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("99999999") == 24 * 3600.0


def test_key_is_pinned_on_first_use_and_a_swap_is_refused(
    service: FakeService, alice_client: ServiceClient
) -> None:
    store = MemoryRecordStore()
    first = fetch_and_pin(alice_client, store)
    assert first.public_key == bytes(service.report_key.public_key)
    assert fetch_and_pin(alice_client, store) == first  # same key again: fine
    from nacl.public import PrivateKey

    service.report_key = PrivateKey.generate()  # same id, other key: an attack
    with pytest.raises(KeyPinError):
        fetch_and_pin(alice_client, store)
    assert store.pinned_key("rk1") == first
    service.report_key_id = "rk2"  # a rotation under a new id is pinned
    second = fetch_and_pin(alice_client, store)
    assert second.key_id == "rk2"
    assert store.latest_pinned_key() == second


def test_malformed_key_answer_is_refused() -> None:
    short = {"key_id": "rk", "public_key": base64.b64encode(bytes(31)).decode()}
    with (
        _client(httpx.MockTransport(lambda r: httpx.Response(200, json=short))) as client,
        pytest.raises(SubmissionError),
    ):
        client.report_key()


def test_report_status_and_unknown_report(
    service: FakeService, alice_client: ServiceClient
) -> None:
    with pytest.raises(ReportRejected) as info:
        alice_client.report_status("00000000-0000-4000-8000-000000000000")
    assert info.value.status == 404


def test_inbox_pages_pass_the_cursor_and_acks_are_split_into_chunks() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/relay/inbox/ack":
            return httpx.Response(
                200, json={"acknowledged": len(json.loads(request.content)["message_ids"])}
            )
        return httpx.Response(200, json={"deliveries": [], "next_cursor": "5.abc"})

    with _client(httpx.MockTransport(handler)) as client:
        page = client.inbox_page(after="4.x y", limit=7)
        assert page.next_cursor == "5.abc"
        assert page.deliveries == ()
        assert client.ack([f"m{i}" for i in range(2500)]) == 2500
        assert client.ack([]) == 0
    assert seen[0].url.params["after"] == "4.x y"
    assert seen[0].url.params["limit"] == "7"
    sizes = [len(json.loads(r.content)["message_ids"]) for r in seen[1:]]
    assert sizes == [1000, 1000, 500]


@pytest.mark.parametrize(
    "body",
    [
        {"deliveries": [], "next_cursor": 5},
        {"deliveries": "x"},
    ],
)
def test_a_malformed_inbox_page_is_a_submission_error(body: dict[str, object]) -> None:
    with (
        _client(httpx.MockTransport(lambda r: httpx.Response(200, json=body))) as client,
        pytest.raises(SubmissionError),
    ):
        client.inbox_page()


def test_a_malformed_ack_answer_is_a_submission_error() -> None:
    answer = httpx.Response(200, json={"acknowledged": "all"})
    with (
        _client(httpx.MockTransport(lambda r: answer)) as client,
        pytest.raises(SubmissionError),
    ):
        client.ack(["m1"])


def test_relay_send_carries_the_client_message_id_only_when_given() -> None:
    bodies: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "message_id": "m",
                "stamp": base64.b64encode(bytes(32)).decode(),
                "key_id": "k",
                "timestamp_ms": 1,
            },
        )

    with _client(httpx.MockTransport(handler)) as client:
        client.relay_send("bob", "c", b"ct", bytes(32))
        client.relay_send("bob", "c", b"ct", bytes(32), client_message_id="cid-1")
    assert "client_message_id" not in bodies[0]
    assert bodies[1]["client_message_id"] == "cid-1"
