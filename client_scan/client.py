"""One object for an app: franked messaging, reports through the outbox, outcomes.

:class:`FranklyClient` wires the pieces together for one signed-in user: a
:class:`~client_scan.service_client.ServiceClient` (the only network seam), a
:class:`~client_scan.records.RecordStore` and an :class:`~client_scan.outbox.Outbox`
(SQLite files in the app's private folder by default), and the report-key pin. Scanning
is separate (:class:`~client_scan.scanner.Scanner`) because it never needs the network.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from client_scan.errors import RecordNotFound, SubmissionDeferred
from client_scan.franking.payload import AttachmentRef
from client_scan.messaging import (
    Attachment,
    Messenger,
    ReceiveResult,
    SendFlushResult,
    SessionKeyLookup,
)
from client_scan.outbox import (
    FlushResult,
    Outbox,
    OutboxEntry,
    OutboxSender,
    PendingMessage,
    RetryPolicy,
)
from client_scan.pinning import fetch_and_pin
from client_scan.quarantine import Quarantine, QuarantinedDelivery
from client_scan.records import MessageRecord, PinnedKey, RecordStore, SqliteRecordStore
from client_scan.report_builder import DEFAULT_CONTEXT, compose_report, seal
from client_scan.report_format import Reason
from client_scan.service_client import ReportStatus, ServiceClient

if TYPE_CHECKING:
    from client_scan.transparency.fetch import HttpLog

__all__ = ["FranklyClient"]

RECORDS_FILE = "records.sqlite"
OUTBOX_FILE = "outbox.sqlite"
QUARANTINE_FILE = "quarantine.sqlite"


class FranklyClient:
    """The client library for one user.

    ``data_dir`` holds ``records.sqlite``, ``outbox.sqlite`` (reports and outgoing
    messages until the service has them) and ``quarantine.sqlite`` (deliveries that could
    not be accepted), created if missing;
    pass ``store`` to use the app's own :class:`RecordStore` instead. ``transport``,
    ``clock`` (seconds since the epoch) and ``rng`` are injectable for tests.
    Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        *,
        user_id: str,
        base_url: str,
        token: str,
        data_dir: str | Path,
        store: RecordStore | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        folder = Path(data_dir)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.user_id = user_id
        self._owned_store = store is None
        self.store: RecordStore = (
            store if store is not None else SqliteRecordStore(folder / RECORDS_FILE)
        )
        self.outbox = Outbox(folder / OUTBOX_FILE)
        self.quarantine = Quarantine(folder / QUARANTINE_FILE)
        self.service = ServiceClient(base_url, token, transport=transport)
        self._transport = transport
        self.messenger = Messenger(
            user_id,
            self.service,
            self.store,
            outbox=self.outbox,
            quarantine=self.quarantine,
            clock=clock,
            rng=rng,
            retry_policy=retry_policy,
        )
        self._sender = OutboxSender(
            self.outbox, self.service, clock=clock, rng=rng, policy=retry_policy
        )

    def close(self) -> None:
        """Close the connections and database files this object opened."""
        self.service.close()
        self.outbox.close()
        self.quarantine.close()
        if self._owned_store and isinstance(self.store, SqliteRecordStore):
            self.store.close()

    def __enter__(self) -> FranklyClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Messaging -------------------------------------------------------------------------

    def send(
        self,
        session_key: bytes,
        recipient_id: str,
        conversation_id: str,
        body: str,
        attachments: Sequence[Attachment] = (),
    ) -> MessageRecord:
        """Frank, seal and relay a message, kept in the outbox until the relay has it;
        see :meth:`Messenger.send` (``SendPending`` when it is deferred)."""
        return self.messenger.send(session_key, recipient_id, conversation_id, body, attachments)

    def forward(
        self, session_key: bytes, record_id: str, recipient_id: str, conversation_id: str
    ) -> MessageRecord:
        """Forward a kept message as a new, freshly franked one; see
        :meth:`Messenger.forward`."""
        return self.messenger.forward(session_key, record_id, recipient_id, conversation_id)

    def pending_sends(self) -> list[PendingMessage]:
        """Outgoing messages the relay has not confirmed yet (retried by
        :meth:`flush_outbox`)."""
        return self.messenger.pending_sends()

    def flush_sends(self, *, force: bool = False) -> SendFlushResult:
        """Re-send the due pending messages; see :meth:`Messenger.flush_sends`."""
        return self.messenger.flush_sends(force=force)

    def quarantined(self) -> list[QuarantinedDelivery]:
        """Deliveries that could not be accepted, kept and flagged (oldest first); the app
        may tell the user, and discards them with ``self.quarantine.discard(message_id)``."""
        return self.messenger.quarantined()

    def retry_quarantined(self, session_key_for: SessionKeyLookup) -> ReceiveResult:
        """Try the quarantined deliveries again (a session key that arrived late; copies
        an older version refused as ``record_conflict``); see
        :meth:`Messenger.retry_quarantined`."""
        return self.messenger.retry_quarantined(session_key_for)

    def receive(self, session_key_for: SessionKeyLookup) -> ReceiveResult:
        """Fetch, verify and keep incoming messages; see :meth:`Messenger.receive`."""
        return self.messenger.receive(session_key_for)

    def accept_attachment(self, record_id: str, attachment_id: str, data: bytes) -> AttachmentRef:
        """Check and keep downloaded attachment bytes; see :meth:`Messenger.accept_attachment`."""
        return self.messenger.accept_attachment(record_id, attachment_id, data)

    # Hash-list transparency ------------------------------------------------------------

    def open_log(self, log_base_url: str) -> HttpLog:
        """A reader of the published transparency log at ``log_base_url`` (e.g. the
        service's ``/log`` routes or a CDN), through this client's transport; pass it to
        :func:`~client_scan.transparency.bundle.build_bundle`. Close it when done."""
        from client_scan.transparency.fetch import HttpLog

        return HttpLog(log_base_url, transport=self._transport)

    # Reports ---------------------------------------------------------------------------

    def report_key(self) -> PinnedKey:
        """The service's report key: fetched and pinned when the service answers, else the
        most recently pinned one (so a report can be sealed offline).

        Raises:
            KeyPinError: the service serves a different key under a pinned key id.
            SubmissionDeferred: the service is unreachable and no key was ever pinned.
        """
        try:
            return fetch_and_pin(self.service, self.store)
        except SubmissionDeferred:
            try:
                return self.store.latest_pinned_key()
            except RecordNotFound:
                raise SubmissionDeferred(
                    "the service is unreachable and no report key is pinned yet"
                ) from None

    def report(
        self,
        reported_ids: Sequence[str],
        reason: Reason,
        *,
        comment: str | None = None,
        context: int = DEFAULT_CONTEXT,
        include_attachments: Collection[str] = (),
        device_matches: Sequence[Mapping[str, Any]] = (),
        report_id: str | None = None,
    ) -> OutboxEntry:
        """Build, seal and submit a report the user asked for, through the outbox.

        Returns the outbox entry: ``sent``, or ``pending`` when the service could not be
        reached (it is retried by :meth:`flush_outbox`, also after a restart).

        Raises:
            RecordNotFound, InvalidInput, NotParty, AttachmentMismatch, ReportFormatError:
                the report cannot be built (see :func:`~client_scan.report_builder.build_report`).
            KeyPinError: the service's key differs from the pinned one.
            SubmissionDeferred: offline and no report key was ever pinned.
            ReportRejected: the service refused the report (kept as ``failed``).
        """
        report = compose_report(
            self.store,
            reported_ids,
            reporter_id=self.user_id,
            reason=reason,
            comment=comment,
            context=context,
            include_attachments=include_attachments,
            device_matches=device_matches,
            report_id=report_id,
        )
        sealed = seal(report, self.report_key())
        return self._sender.submit(sealed.report_id, sealed.sealed)

    def flush_outbox(self, *, force: bool = False) -> FlushResult:
        """Retry the outbox entries that are due (call on start, on connectivity, on a
        timer); ``force`` retries every pending one now (a user's "retry now").

        Pending outgoing messages are re-sent first (:meth:`flush_sends`; its result is
        not part of the returned :class:`FlushResult`, which lists reports)."""
        self.messenger.flush_sends(force=force)
        return self._sender.flush(force=force)

    def report_status(self, report_id: str) -> ReportStatus:
        """The service's status and outcome for one of this user's reports.

        Raises:
            SubmissionDeferred: the service is unreachable.
            ReportRejected: the service does not know the report for this user (404).
        """
        return self.service.report_status(report_id)
