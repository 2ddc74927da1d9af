"""The device's local store of franked message records, attachments and pinned keys.

DESIGN.md, "Receive": the client keeps ``(P, fk, c, st, kid, s, r, conv, t)`` for every
message it accepted (and its own sent messages, with the stamp the relay returned), so
that the user can report them later. The store sits behind the small
:class:`RecordStore` protocol an app can implement over its own database;
:class:`SqliteRecordStore` (stdlib :mod:`sqlite3`, one file) and
:class:`MemoryRecordStore` are provided.

A record's id is its payload id. The store holds secrets (franking keys), so it must live
in the app's private storage; nothing here logs or prints them.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from client_scan.errors import InvalidInput, RecordNotFound
from client_scan.franking.message import FrankedMessage
from client_scan.franking.payload import Payload, parse_payload
from client_scan.sqlite_file import SqliteFile, open_sqlite

__all__ = [
    "Direction",
    "MemoryRecordStore",
    "MessageRecord",
    "PinnedKey",
    "RecordStore",
    "SqliteRecordStore",
    "open_sqlite",
]


class Direction(enum.StrEnum):
    """Whether the device's user sent or received a message."""

    SENT = "sent"
    RECEIVED = "received"


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A franked message kept on the device, with its parsed payload.

    ``relay_message_id`` is the relay's id for the delivery (not part of the franked
    record; kept to de-duplicate deliveries).
    """

    message: FrankedMessage
    payload: Payload
    direction: Direction
    relay_message_id: str

    @property
    def id(self) -> str:
        """The record id: the payload id."""
        return self.payload.id

    @property
    def conversation_id(self) -> str:
        return self.message.conversation_id

    @property
    def timestamp_ms(self) -> int:
        return self.message.timestamp_ms


@dataclass(frozen=True, slots=True)
class PinnedKey:
    """A report-sealing public key pinned by key id (trust on first use)."""

    key_id: str
    public_key: bytes


class RecordStore(Protocol):
    """What the client needs from local storage. Implementations must be safe to call from
    one thread at a time at least; both provided ones are also thread-safe."""

    def add_message(self, record: MessageRecord) -> None:
        """Keep a record. Adding the same record again is a no-op.

        Raises:
            InvalidInput: another record with the same id (payload id) exists.
        """
        ...

    def get_message(self, record_id: str) -> MessageRecord:
        """The record with this id.

        Raises:
            RecordNotFound: no record has this id.
        """
        ...

    def conversation(self, conversation_id: str) -> list[MessageRecord]:
        """Every record of a conversation, sent and received, ordered by (time, id)."""
        ...

    def put_attachment(self, sha256: str, data: bytes) -> None:
        """Keep attachment plaintext under its (already verified) SHA-256 hex digest."""
        ...

    def get_attachment(self, sha256: str) -> bytes:
        """Attachment plaintext by SHA-256 hex digest.

        Raises:
            RecordNotFound: no attachment has this digest.
        """
        ...

    def pin_key(self, key_id: str, public_key: bytes) -> PinnedKey:
        """Pin ``public_key`` under ``key_id`` unless that id is already pinned; return the
        pinned key (the earlier one if there was one). The caller compares."""
        ...

    def pinned_key(self, key_id: str) -> PinnedKey:
        """The key pinned under ``key_id``.

        Raises:
            RecordNotFound: no key is pinned under this id.
        """
        ...

    def latest_pinned_key(self) -> PinnedKey:
        """The most recently pinned key (used to seal a report while offline).

        Raises:
            RecordNotFound: no key has been pinned yet.
        """
        ...


def _same_record(a: MessageRecord, b: MessageRecord) -> bool:
    return a.message == b.message and a.direction == b.direction


class MemoryRecordStore:
    """A :class:`RecordStore` in memory (tests, ephemeral sessions)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, MessageRecord] = {}
        self._attachments: dict[str, bytes] = {}
        self._keys: dict[str, PinnedKey] = {}
        self._latest: PinnedKey | None = None

    def add_message(self, record: MessageRecord) -> None:
        with self._lock:
            existing = self._messages.get(record.id)
            if existing is not None:
                if not _same_record(existing, record):
                    raise InvalidInput(f"another record already has id {record.id!r}")
                return
            self._messages[record.id] = record

    def get_message(self, record_id: str) -> MessageRecord:
        with self._lock:
            record = self._messages.get(record_id)
        if record is None:
            raise RecordNotFound(f"no message record {record_id!r}")
        return record

    def conversation(self, conversation_id: str) -> list[MessageRecord]:
        with self._lock:
            found = [r for r in self._messages.values() if r.conversation_id == conversation_id]
        return sorted(found, key=lambda r: (r.timestamp_ms, r.id))

    def put_attachment(self, sha256: str, data: bytes) -> None:
        with self._lock:
            self._attachments[sha256] = bytes(data)

    def get_attachment(self, sha256: str) -> bytes:
        with self._lock:
            data = self._attachments.get(sha256)
        if data is None:
            raise RecordNotFound(f"no attachment {sha256[:12]}…")
        return data

    def pin_key(self, key_id: str, public_key: bytes) -> PinnedKey:
        with self._lock:
            pinned = self._keys.get(key_id)
            if pinned is None:
                pinned = PinnedKey(key_id, bytes(public_key))
                self._keys[key_id] = pinned
                self._latest = pinned
            return pinned

    def pinned_key(self, key_id: str) -> PinnedKey:
        with self._lock:
            pinned = self._keys.get(key_id)
        if pinned is None:
            raise RecordNotFound(f"no key pinned under {key_id!r}")
        return pinned

    def latest_pinned_key(self) -> PinnedKey:
        with self._lock:
            latest = self._latest
        if latest is None:
            raise RecordNotFound("no report key pinned yet")
        return latest


_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    direction TEXT NOT NULL CHECK (direction IN ('sent', 'received')),
    relay_message_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    franking_key BLOB NOT NULL,
    commitment BLOB NOT NULL,
    stamp BLOB NOT NULL,
    key_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation
    ON messages (conversation_id, timestamp_ms, id);
CREATE TABLE IF NOT EXISTS attachments (
    sha256 TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS pinned_keys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id TEXT NOT NULL UNIQUE,
    public_key BLOB NOT NULL
);
"""

_MESSAGE_COLUMNS = (
    "direction, relay_message_id, payload, franking_key, commitment, stamp, key_id, "
    "sender_id, recipient_id, conversation_id, timestamp_ms"
)


def _row_to_record(row: tuple[object, ...]) -> MessageRecord:
    (direction, relay_id, payload, fk, c, st, kid, s, r, conv, t) = row
    message = FrankedMessage(
        payload=bytes(payload),  # type: ignore[call-overload]
        franking_key=bytes(fk),  # type: ignore[call-overload]
        commitment=bytes(c),  # type: ignore[call-overload]
        stamp=bytes(st),  # type: ignore[call-overload]
        key_id=str(kid),
        sender_id=str(s),
        recipient_id=str(r),
        conversation_id=str(conv),
        timestamp_ms=int(t),  # type: ignore[call-overload]
    )
    return MessageRecord(
        message=message,
        payload=parse_payload(message.payload),
        direction=Direction(str(direction)),
        relay_message_id=str(relay_id),
    )


class SqliteRecordStore(SqliteFile):
    """A :class:`RecordStore` in one SQLite file (stdlib :mod:`sqlite3`).

    Use as a context manager or call :meth:`close`.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA)

    def add_message(self, record: MessageRecord) -> None:
        m = record.message
        with self._tx() as cur:
            row = cur.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?",  # noqa: S608
                (record.id,),
            ).fetchone()
            if row is not None:
                if not _same_record(_row_to_record(row), record):
                    raise InvalidInput(f"another record already has id {record.id!r}")
                return
            cur.execute(
                f"INSERT INTO messages (id, {_MESSAGE_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    str(record.direction),
                    record.relay_message_id,
                    m.payload,
                    m.franking_key,
                    m.commitment,
                    m.stamp,
                    m.key_id,
                    m.sender_id,
                    m.recipient_id,
                    m.conversation_id,
                    m.timestamp_ms,
                ),
            )

    def get_message(self, record_id: str) -> MessageRecord:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?",  # noqa: S608
                (record_id,),
            ).fetchone()
        if row is None:
            raise RecordNotFound(f"no message record {record_id!r}")
        return _row_to_record(row)

    def conversation(self, conversation_id: str) -> list[MessageRecord]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? "  # noqa: S608
                "ORDER BY timestamp_ms, id",
                (conversation_id,),
            ).fetchall()
        return [_row_to_record(row) for row in rows]

    def put_attachment(self, sha256: str, data: bytes) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO attachments (sha256, data) VALUES (?, ?)",
                (sha256, bytes(data)),
            )

    def get_attachment(self, sha256: str) -> bytes:
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM attachments WHERE sha256 = ?", (sha256,)
            ).fetchone()
        if row is None:
            raise RecordNotFound(f"no attachment {sha256[:12]}…")
        return bytes(row[0])

    def pin_key(self, key_id: str, public_key: bytes) -> PinnedKey:
        with self._tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO pinned_keys (key_id, public_key) VALUES (?, ?)",
                (key_id, bytes(public_key)),
            )
            row = cur.execute(
                "SELECT public_key FROM pinned_keys WHERE key_id = ?", (key_id,)
            ).fetchone()
        return PinnedKey(key_id, bytes(row[0]))

    def pinned_key(self, key_id: str) -> PinnedKey:
        with self._lock:
            row = self._conn.execute(
                "SELECT public_key FROM pinned_keys WHERE key_id = ?", (key_id,)
            ).fetchone()
        if row is None:
            raise RecordNotFound(f"no key pinned under {key_id!r}")
        return PinnedKey(key_id, bytes(row[0]))

    def latest_pinned_key(self) -> PinnedKey:
        with self._lock:
            row = self._conn.execute(
                "SELECT key_id, public_key FROM pinned_keys ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        if row is None:
            raise RecordNotFound("no report key pinned yet")
        return PinnedKey(str(row[0]), bytes(row[1]))
