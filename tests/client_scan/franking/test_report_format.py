"""The report wire format: round trips and a typed code for every malformed input."""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey

from client_scan.bounded_json import parse_json
from client_scan.errors import InvalidInput, ReportFormatError, ReportLimitExceeded, SealError
from client_scan.report_format import (
    MAX_MESSAGES,
    Reason,
    Report,
    check_device_matches,
    encode_report,
    parse_report,
    report_to_json,
)
from client_scan.sealing import ReportOpener, open_sealed_report, seal_report

from .helpers import franked, keyring, report


def _base() -> Report:
    ring = keyring()
    return report([franked(ring, seed="c1"), franked(ring, "the one", seed="s1")], ["s1"])


@given(
    comment=st.one_of(st.none(), st.text(st.characters(codec="utf-8"), max_size=1000)),
    reason=st.sampled_from(list(Reason)),
    attachment=st.binary(max_size=300),
)
def test_encode_seal_open_parse_round_trip(
    comment: str | None, reason: Reason, attachment: bytes
) -> None:
    import hashlib

    rep = _base()
    rep = Report(
        report_id=rep.report_id,
        reporter_id=rep.reporter_id,
        reason=reason,
        messages=rep.messages,
        reported=rep.reported,
        comment=comment or None,
        attachments={hashlib.sha256(attachment).hexdigest(): attachment},
        device_matches=({"list_id": "demo", "distance": 3},),
    )
    service = PrivateKey.generate()
    sealed = seal_report(encode_report(rep), bytes(service.public_key))
    assert parse_report(open_sealed_report(sealed, bytes(service))) == rep


def test_report_id_is_normalised_to_lowercase() -> None:
    obj = report_to_json(_base())
    obj["report_id"] = obj["report_id"].upper()
    assert parse_report(json.dumps(obj).encode()).report_id == obj["report_id"].lower()


def _mutated(change: Any) -> bytes:
    obj = report_to_json(_base())
    change(obj)
    return json.dumps(obj).encode()


CASES: list[tuple[str, Any, str]] = [
    ("version 2", lambda o: o.update(v=2), "unsupported_version"),
    ("version true", lambda o: o.update(v=True), "unsupported_version"),
    ("report id not a uuid", lambda o: o.update(report_id="1234"), "report_invalid"),
    ("unknown reason", lambda o: o.update(reason="annoying"), "report_invalid"),
    ("no messages", lambda o: o.update(messages=[]), "report_invalid"),
    (
        "too many messages",
        lambda o: o.update(messages=o["messages"] * (MAX_MESSAGES // 2 + 1)),
        "too_many_messages",
    ),
    ("message not an object", lambda o: o["messages"].append(3), "report_invalid"),
    ("bad base64", lambda o: o["messages"][0].update(stamp="!!!"), "report_invalid"),
    ("unpadded base64", lambda o: o["messages"][0].update(stamp="AAA"), "report_invalid"),
    ("timestamp string", lambda o: o["messages"][0].update(timestamp_ms="1"), "report_invalid"),
    ("timestamp negative", lambda o: o["messages"][0].update(timestamp_ms=-1), "report_invalid"),
    ("empty sender", lambda o: o["messages"][0].update(sender_id=""), "report_invalid"),
    ("NUL in sender", lambda o: o["messages"][0].update(sender_id="a\x00"), "report_invalid"),
    (
        "long conversation id",
        lambda o: o["messages"][0].update(conversation_id="c" * 129),
        "report_invalid",
    ),
    ("control in reported", lambda o: o.update(reported=["a\tb"]), "report_invalid"),
    ("missing key id", lambda o: o["messages"][0].pop("key_id"), "report_invalid"),
    ("reported empty", lambda o: o.update(reported=[]), "report_invalid"),
    ("reported twice", lambda o: o.update(reported=o["reported"] * 2), "report_invalid"),
    ("comment too long", lambda o: o.update(comment="x" * 1001), "comment_too_long"),
    ("comment not text", lambda o: o.update(comment=5), "report_invalid"),
    ("attachments a list", lambda o: o.update(attachments=[]), "report_invalid"),
    ("attachment key upper", lambda o: o.update(attachments={"AB" * 32: ""}), "report_invalid"),
    (
        "too many attachments",
        lambda o: o.update(attachments={f"{i:064x}": "" for i in range(21)}),
        "too_many_attachments",
    ),
    ("device matches not objects", lambda o: o.update(device_matches=[1]), "report_invalid"),
    (
        "too many device matches",
        lambda o: o.update(device_matches=[{}] * 51),
        "too_many_device_matches",
    ),
    # Hints are stored and shown as given: small flat objects only (issue 10).
    ("device match nested", lambda o: o.update(device_matches=[{"a": {"b": 1}}]), "report_invalid"),
    ("device match list value", lambda o: o.update(device_matches=[{"a": []}]), "report_invalid"),
    (
        "device match long value",
        lambda o: o.update(device_matches=[{"a": "x" * 257}]),
        "report_invalid",
    ),
    ("device match long key", lambda o: o.update(device_matches=[{"k" * 65: 1}]), "report_invalid"),
    ("device match empty key", lambda o: o.update(device_matches=[{"": 1}]), "report_invalid"),
    (
        "device match too many fields",
        lambda o: o.update(device_matches=[{f"k{i}": i for i in range(17)}]),
        "report_invalid",
    ),
    ("device match control", lambda o: o.update(device_matches=[{"a": "x\ny"}]), "report_invalid"),
    ("device match int64", lambda o: o.update(device_matches=[{"a": 2**63}]), "report_invalid"),
    ("huge integer", lambda o: o.update(extra=10**100), "report_invalid"),
    ("deep unknown field", lambda o: o.update(extra=[[[[[[[[1]]]]]]]]), "report_invalid"),
]


def test_flat_device_matches_round_trip() -> None:
    hints = [
        {"sha256": "ab" * 32, "list_id": "l", "list_version": 2, "distance": 3},
        {"category": "spam", "score": 0.25, "strong": False, "entry_id": None, "note": ""},
        {},
    ]
    assert [
        dict(m)
        for m in parse_report(_mutated(lambda o: o.update(device_matches=hints))).device_matches
    ] == hints


@pytest.mark.parametrize(("name", "change", "code"), CASES, ids=[c[0] for c in CASES])
def test_malformed_reports_get_their_code(name: str, change: Any, code: str) -> None:
    with pytest.raises(ReportFormatError) as exc:
        parse_report(_mutated(change))
    assert exc.value.code == code
    if code.startswith("too_many") or code == "comment_too_long":
        assert isinstance(exc.value, ReportLimitExceeded)


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff", b"null", b"[]", b'{"v":1,"v":1}', b"{" * 50_000, b'{"v":NaN}'],
)
def test_garbage_is_report_invalid(data: bytes) -> None:
    with pytest.raises(ReportFormatError):
        parse_report(data)


@given(st.binary(max_size=512))
def test_random_bytes_never_escape_the_typed_error(data: bytes) -> None:
    with contextlib.suppress(ReportFormatError):
        parse_report(data)


def test_oversized_payload_is_refused_before_decoding() -> None:
    big = "A" * (200 * 1024)
    with pytest.raises(ReportLimitExceeded):
        parse_report(_mutated(lambda o: o["messages"][0].update(payload=big)))


def test_sealed_report_opens_only_with_the_service_key() -> None:
    service, other = PrivateKey.generate(), PrivateKey.generate()
    sealed = seal_report(b"{}", bytes(service.public_key))
    with pytest.raises(SealError):
        open_sealed_report(sealed, bytes(other))
    with pytest.raises(SealError):
        open_sealed_report(sealed[:-1] + bytes([sealed[-1] ^ 1]), bytes(service))
    with pytest.raises(SealError):
        open_sealed_report(b"short", bytes(service))
    assert uuid.UUID(_base().report_id)


def test_a_report_opener_opens_every_report_sealed_to_its_key() -> None:
    service, other = PrivateKey.generate(), PrivateKey.generate()
    opener = ReportOpener(bytes(service))
    for body in (b"{}", b'{"a": 1}', b""):
        assert opener.open(seal_report(body, bytes(service.public_key))) == body
    with pytest.raises(SealError):
        opener.open(seal_report(b"{}", bytes(other.public_key)))
    with pytest.raises(SealError):
        opener.open(b"short")
    with pytest.raises(InvalidInput):
        ReportOpener(b"\x01" * 31)


_BASE = json.loads(_mutated(lambda o: None))
_hint_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=70), inner),
    max_leaves=6,
)


@settings(max_examples=30)
@given(st.lists(st.dictionaries(st.text(max_size=70), _hint_values, max_size=18), max_size=3))
def test_hints_intake_accepts_are_hints_the_item_view_shows(hints: list[Any]) -> None:
    """What intake stores (``json.dumps`` of the accepted hints) is exactly what the read
    path accepts again: no accepted report can break a later read."""
    obj = {**_BASE, "device_matches": hints}
    try:
        report = parse_report(json.dumps(obj).encode())
    except ReportFormatError:
        return
    stored = json.dumps([dict(m) for m in report.device_matches], default=str).encode()
    assert list(check_device_matches(parse_json(stored, max_bytes=None))) == [
        dict(m) for m in report.device_matches
    ]
