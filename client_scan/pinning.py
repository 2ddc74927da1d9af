"""Pinning the service's report-sealing key by key id (DESIGN.md, "Keys").

Trust on first use per key id: the first public key seen under an id is pinned in the
local store; a later answer with a *different* key under the same id is refused, because
it means someone is trying to read reports meant for the service. A new key id (a
rotation) is pinned when first seen.
"""

from __future__ import annotations

import hmac

from client_scan.errors import KeyPinError
from client_scan.records import PinnedKey, RecordStore
from client_scan.service_client import ServiceClient, ServiceKey

__all__ = ["fetch_and_pin", "pin_service_key"]


def pin_service_key(store: RecordStore, key: ServiceKey) -> PinnedKey:
    """Pin ``key`` under its id, or check it against the key already pinned there.

    Raises:
        KeyPinError: a different key is pinned under this key id.
    """
    pinned = store.pin_key(key.key_id, key.public_key)
    if not hmac.compare_digest(pinned.public_key, key.public_key):
        raise KeyPinError(
            f"the service's report key {key.key_id!r} differs from the pinned one; "
            "refusing to seal reports to it"
        )
    return pinned


def fetch_and_pin(client: ServiceClient, store: RecordStore) -> PinnedKey:
    """Fetch the service's current report key and pin it (or check the pin).

    Raises:
        KeyPinError: a different key is pinned under the served key id.
        SubmissionDeferred: the service is unreachable (callers offline may fall back on
            :meth:`RecordStore.latest_pinned_key`).
        ReportRejected, SubmissionError: the key call failed otherwise.
    """
    return pin_service_key(store, client.report_key())
