"""The client library's public surface, pinned: a change here is an API change for apps."""

from __future__ import annotations

import importlib

import pytest

import client_scan.franking  # noqa: F401  (load order: see the lead's note on report_format)

SURFACE = {
    "client_scan.client": ["FranklyClient"],
    "client_scan.messaging": [
        "Attachment",
        "Messenger",
        "OutgoingMessage",
        "ReceiveResult",
        "Rejection",
        "SendFlushResult",
        "SessionKeyLookup",
        "attachment_ref",
        "check_attachment",
        "frank_outgoing",
        "open_delivery",
        "sent_record",
    ],
    "client_scan.outbox": [
        "FlushResult",
        "Outbox",
        "OutboxEntry",
        "OutboxSender",
        "OutboxStatus",
        "PendingMessage",
        "RetryPolicy",
        "backoff_delay_s",
    ],
    "client_scan.pinning": ["fetch_and_pin", "pin_service_key"],
    "client_scan.records": [
        "Direction",
        "MemoryRecordStore",
        "MessageRecord",
        "PinnedKey",
        "RecordStore",
        "SqliteRecordStore",
        "open_sqlite",
        "record_id",
    ],
    "client_scan.report_builder": [
        "DEFAULT_CONTEXT",
        "SealedReport",
        "build_report",
        "compose_report",
        "seal",
        "select_messages",
    ],
    "client_scan.scanner": [
        "HashOutcome",
        "Hasher",
        "ListMatcher",
        "MatchLike",
        "MatcherFactory",
        "ScanMatch",
        "ScanResult",
        "Scanner",
        "VideoHasher",
        "default_hasher",
        "default_matcher_factory",
        "default_video_hasher",
    ],
    "client_scan.quarantine": ["Quarantine", "QuarantinedDelivery"],
    "client_scan.service_client": [
        "Delivery",
        "InboxPage",
        "RelayReceipt",
        "ReportStatus",
        "ServiceClient",
        "ServiceKey",
        "SubmitResult",
        "parse_delivery",
        "parse_retry_after",
    ],
}


@pytest.mark.parametrize("module", sorted(SURFACE))
def test_public_surface(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == SURFACE[module]
    for name in mod.__all__:
        assert hasattr(mod, name), name
