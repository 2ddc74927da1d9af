"""A franked message: everything a recipient keeps to be able to report it later.

DESIGN.md, "Receive": the record ``(P, fk, c, st, kid, s, r, conv, t)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FrankedMessage:
    """A franked message as kept by its sender or recipient and cited in a report.

    The franking key is excluded from ``repr`` so that it does not end up in logs.
    """

    payload: bytes
    franking_key: bytes = field(repr=False)
    commitment: bytes
    stamp: bytes
    key_id: str
    sender_id: str
    recipient_id: str
    conversation_id: str
    timestamp_ms: int
