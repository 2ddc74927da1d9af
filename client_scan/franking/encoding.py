"""The MAC input encoding of franking protocol v1 (DESIGN.md, "Franking protocol").

``lp(x) = uint32_be(len(x)) || x``; integers are ``uint64_be``;
``MAC(k, label, f1..fn) = HMAC-SHA256(k, lp(label) || lp(f1) || ... || lp(fn))``.
"""

from __future__ import annotations

import hmac
import struct

from client_scan.errors import InvalidInput

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_U32_MAX = 0xFFFFFFFF
_U64_MAX = 0xFFFFFFFFFFFFFFFF

MAC_BYTES = 32


def lp(x: bytes) -> bytes:
    """Length-prefix ``x`` with its length as a big-endian uint32.

    Raises:
        InvalidInput: ``x`` is longer than 2**32 - 1 bytes.
    """
    if len(x) > _U32_MAX:
        raise InvalidInput("field longer than 2**32 - 1 bytes")
    return _U32.pack(len(x)) + x


def u64(n: int) -> bytes:
    """Encode ``n`` as a big-endian uint64.

    Raises:
        InvalidInput: ``n`` is negative or does not fit in 64 bits.
    """
    if not 0 <= n <= _U64_MAX:
        raise InvalidInput(f"integer {n} does not fit in uint64")
    return _U64.pack(n)


def mac_input(label: bytes, *fields: bytes) -> bytes:
    """The exact bytes the MAC covers: ``lp(label) || lp(f1) || ... || lp(fn)``."""
    parts = [lp(label)]
    parts.extend(lp(f) for f in fields)
    return b"".join(parts)


def mac(key: bytes, label: bytes, *fields: bytes) -> bytes:
    """``HMAC-SHA256(key, lp(label) || lp(f1) || ... || lp(fn))``.

    Raises:
        InvalidInput: a field is longer than 2**32 - 1 bytes.
    """
    return hmac.digest(key, mac_input(label, *fields), "sha256")
