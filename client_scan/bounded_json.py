"""One bounded JSON parser for every piece of untrusted JSON (payloads, reports, stored
evidence read back, service answers, configuration files).

Python's :func:`json.loads` fails in several ways that are not
:class:`json.JSONDecodeError`: a 5000-digit integer raises a plain :class:`ValueError`
(the interpreter's integer string limit), nesting a few thousand levels deep raises
:class:`RecursionError`, ``1e999`` silently becomes infinity and a repeated key silently
keeps the last value. :func:`parse_json` turns every one of them into
:class:`JsonInputError`, so that callers map one exception to their own typed error.

Bounds: the size before parsing; each number's length and finiteness while parsing (the
parser hands every number literal to a hook before converting it); the nesting depth
during parsing by the interpreter's recursion limit (the C scanner stops at about a
thousand levels, which costs nothing at the sizes allowed here) and exactly after it,
never by recursion: a walk over the containers when there are few (every honest document
here), a C-speed scan of the text when there are many, so that neither costs more than a
small multiple of :func:`json.loads` itself.

Pure: no I/O, only the standard library (the franking core imports it).
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from client_scan.errors import ClientScanError

__all__ = ["DEFAULT_MAX_DEPTH", "MAX_NUMBER_CHARS", "JsonInputError", "json_depth", "parse_json"]

DEFAULT_MAX_DEPTH = 32
"""Nesting levels allowed unless a caller says otherwise (every format here needs < 8)."""
MAX_NUMBER_CHARS = 40
"""Longest number literal accepted: a uint64 has 20 digits; 5000 digits exceed the
interpreter's limit, and a few thousand cost quadratic time to convert."""


# Beyond this many members, the depth is scanned from the text instead of walked.
_WALK_BUDGET = 10_000
# A JSON string, possessive so that an unterminated one costs linear time.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JsonInputError(ClientScanError, ValueError):
    """Bytes are not acceptable JSON: not UTF-8, not JSON, over a size, depth or number
    bound, a non-finite number, or a repeated key."""


def json_depth(value: object) -> int:
    """The nesting depth of a parsed JSON value (a scalar is 0, ``[]`` is 1), computed
    without recursion."""
    return _walked_depth(value, None) or 0


def _walked_depth(value: object, budget: int | None) -> int | None:
    """:func:`json_depth`, or ``None`` once more than ``budget`` members (array elements
    and object values) were looked at."""
    if not isinstance(value, dict | list):
        return 0
    deepest = 0
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        members = node.values() if isinstance(node, dict) else node
        if budget is not None:
            budget -= len(members)
            if budget < 0:
                return None
        stack.extend((m, depth + 1) for m in members if isinstance(m, dict | list))
    return deepest


def _scanned_depth(text: str) -> int:
    """The deepest nesting of brackets outside strings, from the text (for valid JSON,
    the same as :func:`json_depth` of the parsed value)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _number_text(text: str) -> None:
    if len(text) > MAX_NUMBER_CHARS:
        raise JsonInputError(f"a number is longer than {MAX_NUMBER_CHARS} characters")


def _parse_int(text: str) -> int:
    _number_text(text)
    return int(text)


def _parse_float(text: str) -> float:
    _number_text(text)
    value = float(text)
    if not math.isfinite(value):
        raise JsonInputError("a number is out of the finite range")
    return value


def _parse_constant(name: str) -> Any:
    raise JsonInputError(f"non-finite number {name} is not allowed")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise JsonInputError(f"duplicate key {key[:64]!r}")
        obj[key] = value
    return obj


def parse_json(
    data: bytes | str,
    *,
    max_bytes: int | None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    reject_duplicate_keys: bool = True,
) -> Any:
    """Parse untrusted JSON within bounds.

    ``max_bytes`` bounds the encoded size (``None``: the caller already bounded it);
    ``max_depth`` the nesting of arrays and objects (a scalar has depth 0). Numbers are
    at most :data:`MAX_NUMBER_CHARS` characters and finite; ``NaN`` and ``Infinity`` are
    refused; a key repeated in one object is refused unless ``reject_duplicate_keys`` is
    false.

    Raises:
        JsonInputError: any of the above, bytes that are not UTF-8, or text that is not
            JSON. Nothing else: the parser's own ``ValueError`` and ``RecursionError`` are
            translated.
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise JsonInputError(f"JSON is {len(data)} bytes; the limit is {max_bytes}")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonInputError("JSON is not valid UTF-8") from exc
    else:
        text = data
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
            object_pairs_hook=_unique_keys if reject_duplicate_keys else None,
        )
    except JsonInputError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonInputError(f"not valid JSON ({exc.msg} at {exc.pos})") from exc
    except RecursionError as exc:
        raise JsonInputError(f"JSON is nested deeper than {max_depth} levels") from exc
    except (ValueError, MemoryError) as exc:
        raise JsonInputError(f"not acceptable JSON ({type(exc).__name__})") from exc
    depth = _walked_depth(value, _WALK_BUDGET)
    if depth is None:
        depth = _scanned_depth(text)
    if depth > max_depth:
        raise JsonInputError(f"JSON is nested deeper than {max_depth} levels")
    return value
