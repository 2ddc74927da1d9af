"""The one parser of untrusted JSON: every failure is ``JsonInputError``, bounds hold, and
honest JSON parses exactly as :func:`json.loads` parses it."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client_scan.bounded_json import (
    MAX_NUMBER_CHARS,
    JsonInputError,
    json_depth,
    parse_json,
)
from client_scan.errors import ClientScanError, PayloadInvalid
from client_scan.franking.payload import parse_payload

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=40,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(_json)
def test_honest_json_parses_like_json_loads(value: object) -> None:
    text = json.dumps(value)
    assert parse_json(text, max_bytes=None, max_depth=64) == json.loads(text)
    assert parse_json(text.encode(), max_bytes=None, max_depth=64) == json.loads(text)
    assert json_depth(json.loads(text)) == _depth(value)


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_the_typed_error(data: bytes) -> None:
    with contextlib.suppress(JsonInputError):
        parse_json(data, max_bytes=None)
    assert issubclass(JsonInputError, ClientScanError)
    assert issubclass(JsonInputError, ValueError)


@given(st.text(alphabet='[]{}",:0123456789e.-\\ ntrufalse', max_size=300))
def test_any_json_like_text_parses_or_raises_the_typed_error(text: str) -> None:
    with contextlib.suppress(JsonInputError):
        parse_json(text, max_bytes=None)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("9" * 5000, "number"),  # ValueError from int() before
        ("[" + "1" * (MAX_NUMBER_CHARS + 1) + "]", "number"),
        ('{"a":-' + "1" * 4400 + "}", "number"),
        ("1" + "0" * 30 + "e5" + "0" * 20, "number"),
        ("1e999", "finite"),  # infinity silently before
        ("-1e999", "finite"),
        ("NaN", "non-finite"),
        ("[Infinity]", "non-finite"),
        ("[" * 33 + "]" * 33, "nested"),
        ("[" * 100_000 + "]" * 100_000, "nested"),  # RecursionError before
        ('{"a":1,"a":2}', "duplicate"),
        ('"abc', "valid JSON"),
        ("", "valid JSON"),
    ],
)
def test_every_failure_is_typed(text: str, why: str) -> None:
    with pytest.raises(JsonInputError, match=why):
        parse_json(text, max_bytes=None)


def test_bounds_are_parameters() -> None:
    assert parse_json("[" * 33 + "]" * 33, max_bytes=None, max_depth=33) is not None
    assert parse_json('{"a":1,"a":2}', max_bytes=None, reject_duplicate_keys=False) == {"a": 2}
    with pytest.raises(JsonInputError, match="bytes"):
        parse_json(b"[1, 2, 3]", max_bytes=8)
    with pytest.raises(JsonInputError, match="UTF-8"):
        parse_json(b'"\xff"', max_bytes=None)


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps(["[[[[" * 100, {"k": '"]]]\\'}])
    assert parse_json(text, max_bytes=None, max_depth=2) == json.loads(text)
    with pytest.raises(JsonInputError, match="nested"):
        parse_json(text, max_bytes=None, max_depth=1)


@pytest.mark.parametrize(
    "extra",
    [',"x":' + "9" * 5000, ',"x":' + "[" * 900 + "]" * 900, ',"x":1e999', ',"x":NaN'],
)
def test_payload_parser_raises_payload_invalid(extra: str) -> None:
    raw = ('{"v":1,"id":"p1","body":"hi","attachments":[]' + extra + "}").encode()
    with pytest.raises(PayloadInvalid):
        parse_payload(raw)


def test_bracket_heavy_text_is_scanned_before_parsing_with_the_same_answer() -> None:
    """Above 10,000 brackets the depth is scanned before parsing (C-speed passes) instead
    of walked after: the answers are the same as for the walk."""
    flat = "[" + ",".join(["[]"] * 20_000) + "]"
    assert len(parse_json(flat, max_bytes=None, max_depth=2)) == 20_000
    with pytest.raises(JsonInputError, match="nested"):
        parse_json(flat, max_bytes=None, max_depth=1)
    deep = "[" + ",".join(["[]"] * 20_000) + "," + "[" * 40 + "]" * 40 + "]"
    with pytest.raises(JsonInputError, match="nested"):
        parse_json(deep, max_bytes=None)
    # Brackets inside a string (a message body full of them) do not count.
    text = json.dumps({"body": "[{" * 20_000})
    assert parse_json(text, max_bytes=None, max_depth=1) == {"body": "[{" * 20_000}


def test_payload_depth_bound_is_fixed_far_below_the_recursion_limit() -> None:
    """64 levels (63 in an unknown field) parse, 65 do not, whatever the caller's stack."""

    def payload(levels: int) -> bytes:
        deep = "[" * levels + "]" * levels
        return ('{"v":1,"id":"p1","body":"hi","attachments":[],"x":' + deep + "}").encode()

    assert parse_payload(payload(63)).body == "hi"
    with pytest.raises(PayloadInvalid, match="nested"):
        parse_payload(payload(64))
