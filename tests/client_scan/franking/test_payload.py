from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client_scan.errors import PayloadInvalid
from client_scan.franking import MAX_PAYLOAD_BYTES, AttachmentRef, encode_payload, parse_payload

SHA = "ab" * 32


@given(body=st.text(max_size=2000), n=st.integers(0, 4))
def test_encode_parse_round_trip(body: str, n: int) -> None:
    refs = [AttachmentRef(f"a{i}", SHA, i * 10, "image/png") for i in range(n)]
    try:
        payload = encode_payload(body, refs)
    except PayloadInvalid:  # lone surrogates cannot be UTF-8
        assert any(0xD800 <= ord(ch) <= 0xDFFF for ch in body)
        return
    parsed = parse_payload(payload.raw)
    assert parsed == payload


def test_unknown_fields_are_kept_in_raw_and_ignored() -> None:
    raw = b'{"v":1,"id":"p1","body":"hi","attachments":[],"future":{"x":1}}'
    parsed = parse_payload(raw)
    assert parsed.body == "hi"
    assert parsed.raw == raw


def test_exactly_64_kib_is_allowed_and_one_more_byte_is_not() -> None:
    head = encode_payload("", payload_id="p").raw
    body = "x" * (MAX_PAYLOAD_BYTES - len(head))
    assert len(encode_payload(body, payload_id="p").raw) == MAX_PAYLOAD_BYTES
    with pytest.raises(PayloadInvalid):
        encode_payload(body + "x", payload_id="p")
    with pytest.raises(PayloadInvalid):
        parse_payload(encode_payload(body, payload_id="p").raw + b" ")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe",
        b"[]",
        b'{"v":1,"id":"p","body":"a","body":"b"}',
        b'{"v":true,"id":"p","body":"a"}',
        b'{"v":2,"id":"p","body":"a"}',
        b'{"v":1,"id":"","body":"a"}',
        b'{"v":1,"id":"p\\u0000","body":"a"}',  # the service could not store these ids
        b'{"v":1,"id":"\\ud800","body":"a"}',
        b'{"v":1,"id":"a\\nb","body":"a"}',
        b'{"v":1,"id":"p","body":7}',
        b'{"v":1,"id":"p","body":"a","attachments":{}}',
        b'{"v":1,"id":"p","body":"a","attachments":[1]}',
        b'{"v":1,"id":"p","body":"a","attachments":[{"id":"a","sha256":"AB","size":1,"mime":"image/png"}]}',
        b'{"v":1,"id":"p","body":"a","attachments":[{"id":"a","sha256":"'
        + SHA.encode()
        + b'","size":true,"mime":"image/png"}]}',
        b'{"v":1,"id":"p","body":"a","attachments":[{"id":"a","sha256":"'
        + SHA.encode()
        + b'","size":-1,"mime":"image/png"}]}',
        b'{"v":1,"id":"p","body":"a","attachments":[{"id":"a","sha256":"'
        + SHA.encode()
        + b'","size":1,"mime":"not a mime"}]}',
        b'{"v":1,"id":"p","body":NaN}',
        b"[" * 100_000,
    ],
)
def test_invalid_payloads_are_refused(raw: bytes) -> None:
    with pytest.raises(PayloadInvalid):
        parse_payload(raw)


def test_encoding_is_compact_utf8_json() -> None:
    payload = encode_payload("Grüße", payload_id="p1")
    assert payload.raw == '{"v":1,"id":"p1","body":"Grüße","attachments":[]}'.encode()
    assert json.loads(payload.raw)["body"] == "Grüße"
