"""Crafted input against the running service, as an attacker sends it: correctly franked,
stamped and sealed reports whose JSON (the payload ``P`` or the report itself) is hostile,
and hostile JSON bodies on the review API. Every one must get a typed 4xx, never a 5xx,
and nothing accepted may break a later read (issue 10, section 2). SQLite and PostgreSQL.

The attacker controls a user account and the bytes of the messages it sends: the platform
stamps any commitment for its authenticated sender, so a payload with any content can be
franked and reported by a second account the attacker owns.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from client_scan.franking.commitment import commit, new_franking_key
from client_scan.franking.message import FrankedMessage
from client_scan.franking.stamp import stamp
from client_scan.report_format import Reason, Report, report_to_json
from report_service.storage.models import ReviewItem
from tests.adversarial._inputs_support import moderator, running_service
from tests.report_service.conftest import Service


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from running_service(database_url, tmp_path)


DEEP = 300  # the nesting depth of the reproduction
HUGE = "9" * 5000  # a 5000-digit integer: Python's int() refuses it with a plain ValueError


def _frank_raw(s: Service, raw: bytes, sender: str, recipient: str) -> FrankedMessage:
    """A message whose payload is exactly ``raw``, correctly committed and stamped."""
    fk = new_franking_key()
    c = commit(fk, raw)
    t = s.clock() - 1000
    st = stamp(s.keys.franking, c, sender, recipient, "conv-1", t)
    return FrankedMessage(
        payload=raw,
        franking_key=fk,
        commitment=c,
        stamp=st.tag,
        key_id=st.key_id,
        sender_id=sender,
        recipient_id=recipient,
        conversation_id="conv-1",
        timestamp_ms=t,
    )


def _payload(extra: str = "", pid: str | None = None) -> bytes:
    pid = pid or str(uuid.uuid4())
    return f'{{"v":1,"id":"{pid}","body":"hi","attachments":[]{extra}}}'.encode()


def _report_json(messages: list[FrankedMessage], reported: str) -> dict[str, Any]:
    report = Report(
        report_id=str(uuid.uuid4()),
        reporter_id="bob",
        reason=Reason.HARASSMENT,
        messages=tuple(messages),
        reported=(reported,),
    )
    return report_to_json(report)


def _submit_raw(s: Service, raw: bytes) -> httpx.Response:
    return s.submit("bob", raw)


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "error" in body, body
    err: dict[str, Any] = body["error"]
    return err


def _nothing_queued(s: Service) -> None:
    lead = moderator(s, f"m{uuid.uuid4().hex[:8]}", "lead")
    claim = s.client.post("/v1/review/queues/general/claim", headers=lead)
    assert claim.status_code == 404, claim.text


@pytest.mark.parametrize(
    "extra",
    [
        f',"x":{HUGE}',  # the reproduction: 500 internal_error before
        ',"x":' + "[" * 900 + "]" * 900,  # under the interpreter's recursion limit
        ',"x":' + "[" * 5000 + "]" * 5000,  # over it
        ',"x":1e999',  # silently infinity before
        ',"x":-' + "1" * 60,
    ],
    ids=["huge-int", "nested-900", "nested-5000", "overflow-float", "long-negative"],
)
def test_hostile_committed_payload_is_payload_invalid(service: Service, extra: str) -> None:
    s = service
    pid = str(uuid.uuid4())
    hostile = _frank_raw(s, _payload(extra, pid), "mallory", "bob")
    context = s.frank("bob", "mallory", "who is this?")
    obj = _report_json([context, hostile], pid)
    response = _submit_raw(s, json.dumps(obj).encode())
    assert response.status_code == 422, response.text
    err = _error(response)
    assert err["code"] == "payload_invalid"
    assert err["message_index"] == 1
    _nothing_queued(s)


def _splice(obj: dict[str, Any], key: str, raw_value: str) -> bytes:
    """The report JSON with ``key`` set to ``raw_value`` verbatim (JSON no encoder makes)."""
    marker = "__SPLICE__"
    obj = {**obj, key: marker}
    return json.dumps(obj).replace(json.dumps(marker), raw_value).encode()


@pytest.mark.parametrize(
    ("key", "raw_value"),
    [
        ("unknown_field", HUGE),
        ("unknown_field", "[" * 900 + "]" * 900),
        ("device_matches", "[" + "[" * DEEP + "]" * DEEP + "]"),
        ("device_matches", '[{"a":' + "[" * DEEP + "]" * DEEP + "}]"),
        ("device_matches", '[{"distance":' + HUGE + "}]"),
        ("device_matches", '[{"distance":1e999}]'),
        ("device_matches", '[{"list_id":{"nested":{"object":1}}}]'),
        ("device_matches", '[{"list_id":"' + "x" * 5000 + '"}]'),
        ("device_matches", "[{" + ",".join(f'"k{i}":1' for i in range(100)) + "}]"),
        ("device_matches", '[{"k":"a\\u0000b"}]'),
        ("device_matches", '[{"k":"\\ud800"}]'),
        ("device_matches", '[{"k":1,"k":2}]'),
        ("device_matches", f'[{{"k":{2**64}}}]'),
    ],
    ids=[
        "top-level-huge-int",
        "top-level-nested-900",
        "hints-nested-lists",
        "hints-nested-in-object",
        "hints-huge-int",
        "hints-overflow-float",
        "hints-nested-object",
        "hints-long-string",
        "hints-too-many-fields",
        "hints-nul",
        "hints-lone-surrogate",
        "hints-duplicate-key",
        "hints-beyond-int64",
    ],
)
def test_hostile_report_json_is_report_invalid(
    service: Service, key: str, raw_value: str
) -> None:
    s = service
    message = s.frank("mallory", "bob", "hello")
    pid = json.loads(message.payload)["id"]
    body = _splice(_report_json([message], pid), key, raw_value)
    response = _submit_raw(s, body)
    assert response.status_code == 400, response.text
    assert _error(response)["code"] == "report_invalid"
    _nothing_queued(s)


def test_honest_device_hints_reach_the_moderator_unchanged(service: Service) -> None:
    s = service
    message = s.frank("mallory", "bob", "hello")
    pid = json.loads(message.payload)["id"]
    hints = [
        {
            "sha256": "ab" * 32,
            "list_id": "demo",
            "list_version": 3,
            "category": "harassment",
            "algorithm": "pdq",
            "distance": 12,
            "entry_id": None,
            "score": 0.5,
            "strong": True,
        }
    ]
    obj = {**_report_json([message], pid), "device_matches": hints}
    assert _submit_raw(s, json.dumps(obj).encode()).status_code == 201
    mod = moderator(s, "mo", "moderator")
    item = s.client.post("/v1/review/queues/general/claim", headers=mod).json()["item"]["id"]
    detail = s.client.get(f"/v1/review/items/{item}", headers=mod)
    assert detail.status_code == 200, detail.text
    assert detail.json()["reporter_claims"][0]["device_matches"] == hints
    assert detail.json()["notes"] == []


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


HOSTILE_BODIES = [
    '{"reason": ' + HUGE + "}",
    '{"reason": ' + _deep(900) + "}",
    '{"reason": ' + _deep(5000) + "}",
    '{"lease_ms": ' + HUGE + "}",
    '{"lease_ms": 1e999}',
    '{"lease_ms": NaN}',
    '{"lease_ms": 1e308}',
    '{"decision": "no_violation", "policy": "p", "note": ' + _deep(900) + "}",
    '{"decision": "no_violation", "policy": "p", "bank_media": ' + HUGE + "}",
    '{"reason": "a good long reason", "reason": "another long reason"}',
]


@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=range(len(HOSTILE_BODIES)))
def test_hostile_json_bodies_on_the_review_api_are_4xx(service: Service, body: str) -> None:
    s = service
    assert s.submit("bob", s.report("bob", [s.frank("mallory", "bob")])).status_code == 201
    lead = {**moderator(s, "le", "lead"), "Content-Type": "application/json"}
    claim = s.client.post("/v1/review/queues/general/claim", headers=lead)
    item = claim.json()["item"]["id"]
    sha = "ab" * 32
    for path in (
        "/v1/review/queues/general/claim",
        f"/v1/review/items/{item}/heartbeat",
        f"/v1/review/items/{item}/media/{sha}/reveal",
        f"/v1/review/items/{item}/decision",
        f"/v1/review/items/{item}/reopen",
        f"/v1/review/items/{item}/bank",
        "/v1/review/moderators",
    ):
        response = s.client.post(path, content=body.encode(), headers=lead)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
        assert "error" in response.json()


def test_relayed_hostile_payload_never_reaches_the_review_queue_through_b64_tricks(
    service: Service,
) -> None:
    """The payload field is base64 of the committed bytes: non-UTF-8 and BOM-prefixed
    payloads are typed ``payload_invalid`` too."""
    s = service
    for raw in (b"\xff\xfe" + _payload(), b"\xef\xbb\xbf" + _payload(), b"[]", b"null"):
        hostile = _frank_raw(s, raw, "mallory", "bob")
        obj = _report_json([hostile], "x")
        obj["messages"][0]["payload"] = base64.b64encode(raw).decode()
        response = _submit_raw(s, json.dumps(obj).encode())
        assert response.status_code == 422, response.text
        assert _error(response)["code"] == "payload_invalid"


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**60, max_value=10**80)
    | st.floats()
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_paths = st.sampled_from(
    [
        ("device_matches",),
        ("device_matches", 0),
        ("device_matches", 0, "k"),
        ("comment",),
        ("unknown",),
        ("v",),
        ("reported",),
        ("attachments",),
        ("messages", 0, "timestamp_ms"),
        ("messages", 0, "key_id"),
        ("messages", 0, "extra"),
    ]
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=_paths, value=_values, depth=st.sampled_from([0, 0, 1, 40, 300, 3000]))
@example(path=("device_matches", 0, "k"), value=1, depth=DEEP)  # the reproduction
def test_any_value_anywhere_in_a_sealed_report_is_2xx_or_typed_4xx(
    service: Service, path: tuple[str | int, ...], value: object, depth: int
) -> None:
    """Whatever JSON an attacker puts wherever in a report: never a 5xx, and an accepted
    report never breaks the moderator's view of its item."""
    s = service
    message = s.frank("mallory", "bob", "hello")
    obj = _report_json([message], json.loads(message.payload)["id"])
    obj["device_matches"] = [{"list_id": "demo"}]
    target: Any = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "__VALUE__"
    raw = "[" * depth + json.dumps(value) + "]" * depth
    body = json.dumps(obj).replace(json.dumps("__VALUE__"), raw).encode()
    response = _submit_raw(s, body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert _error(response)["code"]
        return
    lead = moderator(s, f"l{uuid.uuid4().hex[:8]}", "lead")  # views any item, no lease
    with s.app.state.session_factory() as session:
        items = session.scalars(select(ReviewItem.id)).all()
    for item in items:
        view = s.client.get(f"/v1/review/items/{item}", headers=lead)
        assert view.status_code == 200, view.text
