"""The device's local store of franked message records, attachments and pinned keys.

DESIGN.md, "Receive": the client keeps ``(P, fk, c, st, kid, s, r, conv, t)`` for every
message it accepted (and its own sent messages, with the stamp the relay returned), so
that the user can report them later. The store sits behind the small
:class:`RecordStore` protocol an app can implement over its own database;
:class:`SqliteRecordStore` (stdlib :mod:`sqlite3`, one file) and
:class:`MemoryRecordStore` are provided.

A record is one *stamped* message: its id (:func:`record_id`) is derived from the payload
id and the stamped fields ``(c, st, kid, s, r, conv, t)``, so two stamped copies of one
payload (alice's message and mallory's relayed copy of the same ``(fk, P)``, each with its
own sender, conversation and stamp) are two records, and the same delivery stored again is
the same record. The payload id is a field (:attr:`MessageRecord.payload_id`); a report
names its messages by payload id on the wire (docs/client.md, "Two copies of one
message"). The sender's and the recipient's record of one stamped message have the same
id. The store holds secrets (franking keys), so it must live in the app's private storage;
nothing here logs or prints them.

``records.sqlite`` carries its layout version in ``PRAGMA user_version``: version 0 (before
this change) keyed messages by payload id; opening such a file upgrades it to version 1 in
one transaction, keeping every row (see :class:`SqliteRecordStore`).
"""

from __future__ import annotations

import enum
import hashlib
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from client_scan.errors import InvalidInput, RecordNotFound
from client_scan.franking.encoding import mac_input, u64
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
    "record_id",
]

RECORD_ID_LABEL = b"frankly/v1/record-id"
SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of a current ``records.sqlite`` (0: messages keyed by payload id)."""


def record_id(message: FrankedMessage, payload_id: str) -> str:
    """The id of the record of one stamped message: the first 128 bits, in hex, of
    ``SHA-256(lp(label) || lp(payload id) || lp(c) || lp(st) || lp(kid) || lp(s) || lp(r)
    || lp(conv) || lp(uint64(t)))``.

    Every field the stamp covers is in it, so another stamp of the same payload (another
    sender, conversation, recipient or time) is another record, and a repeated delivery of
    the same stamped message is the same record. It does not depend on the direction, so
    the sender's and the recipient's record of one message share it.

    Raises:
        InvalidInput: the timestamp does not fit in 64 bits.
    """
    data = mac_input(
        RECORD_ID_LABEL,
        payload_id.encode("utf-8"),
        message.commitment,
        message.stamp,
        message.key_id.encode("utf-8"),
        message.sender_id.encode("utf-8"),
        message.recipient_id.encode("utf-8"),
        message.conversation_id.encode("utf-8"),
        u64(message.timestamp_ms),
    )
    return hashlib.sha256(data).hexdigest()[:32]


class Direction(enum.StrEnum):
    """Whether the device's user sent or received a message."""

    SENT = "sent"
    RECEIVED = "received"


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A franked message kept on the device, with its parsed payload: one stamped message.

    ``relay_message_id`` is the relay's id for the delivery (not part of the franked
    record; kept for the app).
    """

    message: FrankedMessage
    payload: Payload
    direction: Direction
    relay_message_id: str
    _id: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def id(self) -> str:
        """The record id (:func:`record_id`): names this stamped message on the device."""
        cached = self._id
        if cached is None:  # computed once: report building sorts and looks up by id
            cached = record_id(self.message, self.payload.id)
            object.__setattr__(self, "_id", cached)
        return cached

    @property
    def payload_id(self) -> str:
        """The payload id (shared by every stamped copy of the payload; what a report's
        ``reported`` names)."""
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
        """Keep a record under its id (:func:`record_id`). Adding the same record again
        is a no-op; another stamped copy of the same payload is another record.

        Raises:
            InvalidInput: a different record with the same id exists (same stamped fields,
                other content or direction).
        """
        ...

    def get_message(self, record_id: str) -> MessageRecord:
        """The record with this id.

        Raises:
            RecordNotFound: no record has this id.
        """
        ...

    def conversation(self, conversation_id: str) -> list[MessageRecord]:
        """Every record of a conversation, sent and received, ordered by (time, record id)."""
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


def same_record(a: MessageRecord, b: MessageRecord) -> bool:
    """Whether ``b`` is ``a`` again. A message a user sent to themself is both sent and
    received: the same stamped message, kept once under the direction first stored."""
    if a.message != b.message:
        return False
    return a.direction == b.direction or a.message.sender_id == a.message.recipient_id


class MemoryRecordStore:
    """A :class:`RecordStore` in memory (tests, ephemeral sessions)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, MessageRecord] = {}
        self._attachments: dict[str, bytes] = {}
        self._keys: dict[str, PinnedKey] = {}
        self._latest: PinnedKey | None = None

    def add_message(self, record: MessageRecord) -> None:
        rid = record.id
        with self._lock:
            existing = self._messages.get(rid)
            if existing is not None:
                if not same_record(existing, record):
                    raise InvalidInput(f"another record already has id {rid!r}")
                return
            self._messages[rid] = record

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

# Version 1: one row per stamped message, ``id`` = record_id(), payload id a column.
_MESSAGES_V1 = (
    """CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    payload_id TEXT NOT NULL,
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
)""",
    "CREATE INDEX messages_by_conversation ON messages (conversation_id, timestamp_ms, id)",
    "CREATE INDEX messages_by_payload ON messages (payload_id)",
)

_MESSAGE_COLUMNS = (
    "direction, relay_message_id, payload, franking_key, commitment, stamp, key_id, "
    "sender_id, recipient_id, conversation_id, timestamp_ms"
)


def _sql_record_id(
    payload_id: str, c: bytes, st: bytes, kid: str, s: str, r: str, conv: str, t: int
) -> str:
    """:func:`record_id` over the columns of a version-0 row (an SQL function during the
    upgrade, so the rows are copied inside SQLite, never all held in memory)."""
    message = FrankedMessage(b"", b"", bytes(c), bytes(st), kid, s, r, conv, int(t))
    return record_id(message, payload_id)


def _upgrade_messages(cur: sqlite3.Cursor) -> None:
    """Bring the ``messages`` table to :data:`SCHEMA_VERSION`, inside the caller's
    transaction (so a failure leaves the file as it was).

    Version 0 keyed rows by payload id; each row is copied, every column kept, under its
    record id, with the old id as ``payload_id``. Old ids were distinct payload ids and
    the record id covers the payload id, so no two rows can meet (a collision would
    fail the transaction, not merge rows).

    Raises:
        InvalidInput: the file was written by a newer version of the library.
    """
    version = int(cur.execute("PRAGMA user_version").fetchone()[0])
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise InvalidInput(
            f"the records file has layout version {version}, newer than this library "
            f"reads ({SCHEMA_VERSION}); update the app"
        )
    exists = cur.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'"
    ).fetchone()
    if exists is None:
        for statement in _MESSAGES_V1:
            cur.execute(statement)
    else:
        before = int(cur.execute("SELECT count(*) FROM messages").fetchone()[0])
        cur.execute("DROP INDEX IF EXISTS messages_by_conversation")
        cur.execute("ALTER TABLE messages RENAME TO messages_v0")
        for statement in _MESSAGES_V1:
            cur.execute(statement)
        cur.execute(
            f"INSERT INTO messages (id, payload_id, {_MESSAGE_COLUMNS}) "  # noqa: S608
            "SELECT frankly_record_id(id, commitment, stamp, key_id, sender_id, "
            f"recipient_id, conversation_id, timestamp_ms), id, {_MESSAGE_COLUMNS} "
            "FROM messages_v0"
        )
        after = int(cur.execute("SELECT count(*) FROM messages").fetchone()[0])
        if after != before:  # pragma: no cover - INSERT ... SELECT copies every row or fails
            raise InvalidInput(f"records upgrade copied {after} of {before} messages")
        cur.execute("DROP TABLE messages_v0")
    cur.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


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

    Opening a file written before records were keyed by stamped message (layout version
    0, keyed by payload id) upgrades it in place, in one transaction: every row is kept
    with all its data, under its record id. The file stays mode 0600.
    Use as a context manager or call :meth:`close`.

    Raises:
        InvalidInput: (on opening) the file was written by a newer version of the library,
            or a stored row could not be upgraded (the transaction is rolled back and the
            file is left as it was).
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA)
        self._conn.create_function("frankly_record_id", 8, _sql_record_id, deterministic=True)
        try:
            with self._tx() as cur:
                _upgrade_messages(cur)
        except sqlite3.Error as exc:
            self.close()
            raise InvalidInput(
                f"the records file could not be upgraded, and is unchanged ({exc})"
            ) from exc
        except BaseException:
            self.close()
            raise

    def add_message(self, record: MessageRecord) -> None:
        m = record.message
        rid = record.id
        with self._tx() as cur:
            row = cur.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?",  # noqa: S608
                (rid,),
            ).fetchone()
            if row is not None:
                if not same_record(_row_to_record(row), record):
                    raise InvalidInput(f"another record already has id {rid!r}")
                return
            cur.execute(
                f"INSERT INTO messages (id, payload_id, {_MESSAGE_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rid,
                    record.payload_id,
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
