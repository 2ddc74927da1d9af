"""The on-device outbox: sealed reports and franked messages waiting to be submitted, in
one SQLite file.

Messages (table ``message_outbox``, see :class:`PendingMessage`): the messenger keeps each
franked outgoing message here, with a client-chosen ``client_message_id``, *before* it is
handed to the relay, and marks it ``sent`` once the relay's receipt is in the record
store. A send whose answer is lost (network, crash, 5xx, 429) stays ``pending`` under the
same backoff as reports and is re-sent with the same id; the relay answers the repeat with
the first stamp, so the sender always ends up with a record of what the recipient holds.

Reports:

A report is enqueued (its *sealed bytes*, so a restart re-sends the identical report)
before any attempt to send it. :class:`OutboxSender` submits the due entries:

- accepted (201, or 200 for a repeat: submission is idempotent by report id): ``sent``;
- retryable failure (network, 5xx, 429): stays ``pending`` with the next attempt after an
  exponential backoff with full jitter, never earlier than the service's ``Retry-After``;
- refused for good (another 4xx): ``failed``, with the service's code, HTTP status and
  message index kept for the app to show; never retried.

Rows are committed with ``synchronous=FULL`` before :meth:`Outbox.enqueue` returns, so a
report survives the app being killed. A crash after the service accepted a report but
before ``sent`` was written re-sends it once at the next start; the service answers 200
with the first outcome, so the report is still stored once. The clock and the random
source are parameters (:class:`OutboxSender` takes ``clock`` and ``rng``).
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from client_scan.errors import (
    InvalidInput,
    RecordNotFound,
    ReportRejected,
    SubmissionDeferred,
    SubmissionError,
)
from client_scan.report_format import normalise_report_id
from client_scan.service_client import ServiceClient
from client_scan.sqlite_file import SqliteFile

__all__ = [
    "FlushResult",
    "Outbox",
    "OutboxEntry",
    "OutboxSender",
    "OutboxStatus",
    "PendingMessage",
    "RetryPolicy",
    "backoff_delay_s",
]


class OutboxStatus(enum.StrEnum):
    """Where a report stands on the device."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One report in the outbox. Times are seconds since the epoch (from the clock)."""

    report_id: str
    sealed: bytes = field(repr=False)
    status: OutboxStatus
    attempts: int
    created_at: float
    next_attempt_at: float
    service_status: str | None = None
    error_code: str | None = None
    error_status: int | None = None
    error_message_index: int | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: attempt ``n`` (1-based) waits a uniform random time in
    ``[0, min(cap_s, base_s * 2 ** (n - 1))]`` ("full jitter")."""

    base_s: float = 2.0
    cap_s: float = 3600.0

    def __post_init__(self) -> None:
        if not (0 < self.base_s <= self.cap_s):
            raise InvalidInput("backoff base must be positive and at most the cap")


def backoff_delay_s(
    attempts: int, rng: random.Random, policy: RetryPolicy, retry_after_s: float | None = None
) -> float:
    """Seconds to wait after ``attempts`` failed attempts: full-jitter exponential backoff,
    and never less than the service's ``Retry-After``.

    Raises:
        InvalidInput: ``attempts`` is less than 1.
    """
    if attempts < 1:
        raise InvalidInput("attempts must be at least 1")
    ceiling = min(policy.cap_s, policy.base_s * 2.0 ** min(attempts - 1, 64))
    delay = rng.uniform(0.0, ceiling)
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return delay


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    report_id TEXT PRIMARY KEY,
    sealed BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    service_status TEXT,
    error_code TEXT,
    error_status INTEGER,
    error_message_index INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS message_outbox (
    client_message_id TEXT PRIMARY KEY,
    sender_id TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    franking_key BLOB NOT NULL,
    commitment BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    relay_message_id TEXT,
    error_code TEXT,
    error_status INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS message_outbox_due ON message_outbox (status, next_attempt_at);
"""

_MESSAGE_COLUMNS = (
    "client_message_id, sender_id, recipient_id, conversation_id, payload, franking_key, "
    "commitment, ciphertext, status, attempts, created_at, next_attempt_at, "
    "relay_message_id, error_code, error_status, last_error"
)


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A franked outgoing message in the outbox (its payload and franking key are secret
    and are cleared once the message is ``sent``: the record store holds them then)."""

    client_message_id: str
    sender_id: str
    recipient_id: str
    conversation_id: str
    payload: bytes = field(repr=False)
    franking_key: bytes = field(repr=False)
    commitment: bytes
    ciphertext: bytes = field(repr=False)
    status: OutboxStatus
    attempts: int
    created_at: float
    next_attempt_at: float
    relay_message_id: str | None = None
    error_code: str | None = None
    error_status: int | None = None
    last_error: str | None = None


def _pending(row: tuple[object, ...]) -> PendingMessage:
    (cid, s, r, conv, p, fk, c, ct, status, attempts, created, due, rid, code, est, last) = row
    return PendingMessage(
        client_message_id=str(cid),
        sender_id=str(s),
        recipient_id=str(r),
        conversation_id=str(conv),
        payload=bytes(p),  # type: ignore[call-overload]
        franking_key=bytes(fk),  # type: ignore[call-overload]
        commitment=bytes(c),  # type: ignore[call-overload]
        ciphertext=bytes(ct),  # type: ignore[call-overload]
        status=OutboxStatus(str(status)),
        attempts=int(attempts),  # type: ignore[call-overload]
        created_at=float(created),  # type: ignore[arg-type]
        next_attempt_at=float(due),  # type: ignore[arg-type]
        relay_message_id=None if rid is None else str(rid),
        error_code=None if code is None else str(code),
        error_status=None if est is None else int(est),  # type: ignore[call-overload]
        last_error=None if last is None else str(last),
    )


_COLUMNS = (
    "report_id, sealed, status, attempts, created_at, next_attempt_at, service_status, "
    "error_code, error_status, error_message_index, last_error"
)


def _entry(row: tuple[object, ...]) -> OutboxEntry:
    (rid, sealed, status, attempts, created, due, svc, code, err_status, index, last) = row
    return OutboxEntry(
        report_id=str(rid),
        sealed=bytes(sealed),  # type: ignore[call-overload]
        status=OutboxStatus(str(status)),
        attempts=int(attempts),  # type: ignore[call-overload]
        created_at=float(created),  # type: ignore[arg-type]
        next_attempt_at=float(due),  # type: ignore[arg-type]
        service_status=None if svc is None else str(svc),
        error_code=None if code is None else str(code),
        error_status=None if err_status is None else int(err_status),  # type: ignore[call-overload]
        error_message_index=None if index is None else int(index),  # type: ignore[call-overload]
        last_error=None if last is None else str(last),
    )


class Outbox(SqliteFile):
    """Sealed reports kept in an SQLite file until the service has them.

    Use as a context manager or call :meth:`close`.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA)

    def enqueue(self, report_id: str, sealed: bytes, now: float) -> OutboxEntry:
        """Keep a sealed report, due at once. Enqueueing the same report id again returns
        the existing entry unchanged (the first sealed bytes win).

        Raises:
            ReportFormatError: ``report_id`` is not a UUID.
            InvalidInput: ``sealed`` is empty.
        """
        report_id = normalise_report_id(report_id)
        if not sealed:
            raise InvalidInput("sealed report is empty")
        with self._tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO outbox (report_id, sealed, status, attempts, "
                "created_at, next_attempt_at) VALUES (?, ?, 'pending', 0, ?, ?)",
                (report_id, bytes(sealed), now, now),
            )
        return self.get(report_id)

    def get(self, report_id: str) -> OutboxEntry:
        """The entry for ``report_id``.

        Raises:
            RecordNotFound: the outbox has no such report.
        """
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE report_id = ?",  # noqa: S608
                (report_id.lower(),),
            ).fetchone()
        if row is None:
            raise RecordNotFound(f"no report {report_id!r} in the outbox")
        return _entry(row)

    def entries(self, status: OutboxStatus | None = None) -> list[OutboxEntry]:
        """Every entry (or those with ``status``), oldest first."""
        query = f"SELECT {_COLUMNS} FROM outbox"  # noqa: S608
        args: tuple[str, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            args = (str(status),)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY created_at, report_id", args).fetchall()
        return [_entry(row) for row in rows]

    def due(self, now: float) -> list[OutboxEntry]:
        """Pending entries whose next attempt is due at ``now``, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE status = 'pending' "  # noqa: S608
                "AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at",
                (now,),
            ).fetchall()
        return [_entry(row) for row in rows]

    def next_due_at(self) -> float | None:
        """When the earliest pending entry is due; ``None`` when nothing is pending."""
        with self._lock:
            row = self._conn.execute(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def mark_sent(self, report_id: str, service_status: str) -> None:
        """Record that the service has the report."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE outbox SET status = 'sent', attempts = attempts + 1, "
                "service_status = ?, last_error = NULL WHERE report_id = ?",
                (service_status, report_id),
            )

    def mark_failed(self, report_id: str, error: ReportRejected) -> None:
        """Record that the service refused the report for good (it is not retried)."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, error_code = ?, "
                "error_status = ?, error_message_index = ?, last_error = ? WHERE report_id = ?",
                (error.code, error.status, error.message_index, str(error), report_id),
            )

    def mark_retry(self, report_id: str, next_attempt_at: float, detail: str) -> None:
        """Record a retryable failure and when to try again."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
                "WHERE report_id = ? AND status = 'pending'",
                (next_attempt_at, detail, report_id),
            )

    # ------------------------------------------------------------------ messages

    def enqueue_message(self, message: PendingMessage) -> PendingMessage:
        """Keep a franked outgoing message, due at once (durable before this returns).
        Enqueueing the same ``client_message_id`` again returns the existing entry.

        Raises:
            InvalidInput: the id is empty or the message has no ciphertext.
        """
        if not message.client_message_id or not message.ciphertext:
            raise InvalidInput("a pending message needs a client id and a ciphertext")
        m = message
        with self._tx() as cur:
            cur.execute(
                f"INSERT OR IGNORE INTO message_outbox ({_MESSAGE_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, NULL, NULL, NULL, NULL)",
                (
                    m.client_message_id,
                    m.sender_id,
                    m.recipient_id,
                    m.conversation_id,
                    m.payload,
                    m.franking_key,
                    m.commitment,
                    m.ciphertext,
                    m.created_at,
                    m.next_attempt_at,
                ),
            )
        return self.get_message(m.client_message_id)

    def get_message(self, client_message_id: str) -> PendingMessage:
        """The outgoing message kept under ``client_message_id``.

        Raises:
            RecordNotFound: the outbox has no such message.
        """
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM message_outbox "  # noqa: S608
                "WHERE client_message_id = ?",
                (client_message_id,),
            ).fetchone()
        if row is None:
            raise RecordNotFound(f"no message {client_message_id!r} in the outbox")
        return _pending(row)

    def messages(self, status: OutboxStatus | None = None) -> list[PendingMessage]:
        """Every outgoing message (or those with ``status``), oldest first."""
        query = f"SELECT {_MESSAGE_COLUMNS} FROM message_outbox"  # noqa: S608
        args: tuple[str, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            args = (str(status),)
        with self._lock:
            rows = self._conn.execute(
                query + " ORDER BY created_at, client_message_id", args
            ).fetchall()
        return [_pending(row) for row in rows]

    def due_messages(self, now: float) -> list[PendingMessage]:
        """Pending outgoing messages due at ``now``, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM message_outbox "  # noqa: S608
                "WHERE status = 'pending' AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at, created_at",
                (now,),
            ).fetchall()
        return [_pending(row) for row in rows]

    def mark_message_sent(self, client_message_id: str, relay_message_id: str) -> None:
        """Record that the relay has the message (and that the record store holds the
        sender's record): its payload, franking key and ciphertext are cleared here."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE message_outbox SET status = 'sent', attempts = attempts + 1, "
                "relay_message_id = ?, last_error = NULL, payload = X'', franking_key = X'', "
                "ciphertext = X'' WHERE client_message_id = ?",
                (relay_message_id, client_message_id),
            )

    def mark_message_failed(self, client_message_id: str, error: ReportRejected) -> None:
        """Record that the relay refused the message for good (it is not retried)."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE message_outbox SET status = 'failed', attempts = attempts + 1, "
                "error_code = ?, error_status = ?, last_error = ? WHERE client_message_id = ?",
                (error.code, error.status, str(error), client_message_id),
            )

    def mark_message_retry(
        self, client_message_id: str, next_attempt_at: float, detail: str
    ) -> None:
        """Record a retryable failure of a message send and when to try again."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE message_outbox SET attempts = attempts + 1, next_attempt_at = ?, "
                "last_error = ? WHERE client_message_id = ? AND status = 'pending'",
                (next_attempt_at, detail, client_message_id),
            )


@dataclass(frozen=True, slots=True)
class FlushResult:
    """What one :meth:`OutboxSender.flush` did, by report id."""

    sent: tuple[str, ...] = ()
    failed: tuple[ReportRejected, ...] = ()
    deferred: tuple[str, ...] = ()


class OutboxSender:
    """Submits due outbox entries through a :class:`ServiceClient`.

    ``clock`` returns seconds since the epoch; ``rng`` draws the jitter. Both default to
    the real ones and are injectable for tests.
    """

    def __init__(
        self,
        outbox: Outbox,
        client: ServiceClient,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._outbox = outbox
        self._client = client
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._policy = policy if policy is not None else RetryPolicy()

    def send_one(self, entry: OutboxEntry) -> OutboxEntry:
        """Attempt to submit one entry now and record the outcome.

        Raises:
            ReportRejected: refused for good (the entry is now ``failed``).
            SubmissionDeferred: retryable failure (the entry stays ``pending``).
            SubmissionError: the service's answer broke the contract (treated as
                retryable: the entry stays ``pending``).
        """
        try:
            result = self._client.submit_report(entry.sealed)
        except ReportRejected as exc:
            self._outbox.mark_failed(entry.report_id, exc)
            raise
        except SubmissionDeferred as exc:
            delay = backoff_delay_s(entry.attempts + 1, self._rng, self._policy, exc.retry_after_s)
            self._outbox.mark_retry(entry.report_id, self._clock() + delay, exc.detail)
            raise
        except SubmissionError as exc:
            delay = backoff_delay_s(entry.attempts + 1, self._rng, self._policy)
            self._outbox.mark_retry(entry.report_id, self._clock() + delay, str(exc))
            raise
        self._outbox.mark_sent(entry.report_id, result.status)
        return self._outbox.get(entry.report_id)

    def flush(self, *, force: bool = False) -> FlushResult:
        """Attempt every due entry once; refusals and deferrals are recorded, not raised.

        ``force`` attempts every pending entry now, due or not (a user's explicit "retry
        now"; an app's timer should not use it, so that ``Retry-After`` is honoured)."""
        sent: list[str] = []
        failed: list[ReportRejected] = []
        deferred: list[str] = []
        now = float("inf") if force else self._clock()
        for entry in self._outbox.due(now):
            try:
                self.send_one(entry)
            except ReportRejected as exc:
                failed.append(exc)
            except SubmissionError:
                deferred.append(entry.report_id)
            else:
                sent.append(entry.report_id)
        return FlushResult(tuple(sent), tuple(failed), tuple(deferred))

    def submit(self, report_id: str, sealed: bytes) -> OutboxEntry:
        """Enqueue a sealed report and try to send it at once.

        Returns the entry (``sent``, or ``pending`` when deferred: it will be retried by
        :meth:`flush`).

        Raises:
            ReportRejected: the service refused the report for good.
        """
        entry = self._outbox.enqueue(report_id, sealed, self._clock())
        if entry.status is not OutboxStatus.PENDING:
            return entry
        try:
            return self.send_one(entry)
        except ReportRejected:
            raise
        except SubmissionError:
            return self._outbox.get(entry.report_id)
