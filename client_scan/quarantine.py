"""Quarantined deliveries: relay deliveries that were stored but could not be accepted.

A delivery that does not open, does not verify or does not parse (for example a correctly
committed payload holding a 5000-digit integer) must not break the rest of an inbox
batch, and must not vanish either: the messenger keeps it here, raw and flagged with the
error's code, before it acknowledges it to the relay. The app lists the entries
(:meth:`Quarantine.entries`), may show that a message could not be displayed, and
discards an entry when it is done with it (:meth:`Quarantine.discard`). Nothing in a
quarantined delivery is shown as a message: a message that could not later be reported
must never be displayed (DESIGN.md, "Receive").

The file holds ciphertexts (which contain franking keys and payloads): keep it in the
app's private storage, like the record store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from client_scan.errors import RecordNotFound
from client_scan.service_client import Delivery
from client_scan.sqlite_file import SqliteFile

__all__ = ["Quarantine", "QuarantinedDelivery"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantine (
    message_id TEXT PRIMARY KEY,
    ciphertext BLOB NOT NULL,
    commitment BLOB NOT NULL,
    stamp BLOB NOT NULL,
    key_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    code TEXT NOT NULL,
    detail TEXT NOT NULL,
    quarantined_at REAL NOT NULL
);
"""

_COLUMNS = (
    "message_id, ciphertext, commitment, stamp, key_id, sender_id, recipient_id, "
    "conversation_id, timestamp_ms, code, detail, quarantined_at"
)


@dataclass(frozen=True, slots=True)
class QuarantinedDelivery:
    """A raw delivery kept aside, with why it was not accepted (``code`` is the error's
    machine-readable code, e.g. ``payload_invalid``; ``detail`` its message)."""

    delivery: Delivery = field(repr=False)
    code: str
    detail: str
    quarantined_at: float

    @property
    def message_id(self) -> str:
        """The relay's id of the delivery."""
        return self.delivery.message_id


def _entry(row: tuple[object, ...]) -> QuarantinedDelivery:
    (mid, ct, c, st, kid, s, r, conv, t, code, detail, at) = row
    delivery = Delivery(
        message_id=str(mid),
        ciphertext=bytes(ct),  # type: ignore[call-overload]
        commitment=bytes(c),  # type: ignore[call-overload]
        stamp=bytes(st),  # type: ignore[call-overload]
        key_id=str(kid),
        sender_id=str(s),
        recipient_id=str(r),
        conversation_id=str(conv),
        timestamp_ms=int(t),  # type: ignore[call-overload]
    )
    return QuarantinedDelivery(delivery, str(code), str(detail), float(at))  # type: ignore[arg-type]


class Quarantine(SqliteFile):
    """Quarantined deliveries in one SQLite file (``":memory:"`` for tests only: an
    in-memory quarantine does not survive the app, see :class:`Messenger`).

    Use as a context manager or call :meth:`close`.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA)

    def add(self, delivery: Delivery, code: str, detail: str, now: float) -> QuarantinedDelivery:
        """Keep ``delivery`` (durable before this returns). The same relay message id
        quarantined again keeps the first entry, which is returned."""
        d = delivery
        with self._tx() as cur:
            cur.execute(
                f"INSERT OR IGNORE INTO quarantine ({_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    d.message_id,
                    d.ciphertext,
                    d.commitment,
                    d.stamp,
                    d.key_id,
                    d.sender_id,
                    d.recipient_id,
                    d.conversation_id,
                    d.timestamp_ms,
                    code,
                    detail,
                    now,
                ),
            )
        return self.get(d.message_id)

    def get(self, message_id: str) -> QuarantinedDelivery:
        """The quarantined delivery with this relay message id.

        Raises:
            RecordNotFound: nothing is quarantined under this id.
        """
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM quarantine WHERE message_id = ?",  # noqa: S608
                (message_id,),
            ).fetchone()
        if row is None:
            raise RecordNotFound(f"no quarantined delivery {message_id!r}")
        return _entry(row)

    def entries(self) -> list[QuarantinedDelivery]:
        """Every quarantined delivery, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM quarantine "  # noqa: S608
                "ORDER BY quarantined_at, timestamp_ms, message_id"
            ).fetchall()
        return [_entry(row) for row in rows]

    def discard(self, message_id: str) -> bool:
        """Delete a quarantined delivery the app is done with; whether one was deleted."""
        with self._tx() as cur:
            cur.execute("DELETE FROM quarantine WHERE message_id = ?", (message_id,))
            return cur.rowcount > 0
