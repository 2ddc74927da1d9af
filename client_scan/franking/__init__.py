"""Franking protocol version 1 (DESIGN.md, "Franking protocol, version 1").

A pure core: bytes and frozen dataclasses in and out, no I/O, no clock, no randomness
inside (the ``new_*`` and ``*_random`` helpers are the thin exceptions, named as such).

- Sender: :func:`encode_payload`, :func:`commit`, :func:`seal_envelope`.
- Platform: :class:`Keyring`, :func:`stamp`, :func:`verify_stamp`.
- Recipient: :func:`open_envelope`, :func:`verify_commitment`, :func:`parse_payload`.
- Service: :func:`verify_report`.
"""

from client_scan.franking.commitment import (
    COMMIT_LABEL,
    FRANKING_KEY_BYTES,
    commit,
    new_franking_key,
    verify_commitment,
)
from client_scan.franking.encoding import lp, mac, mac_input, u64
from client_scan.franking.envelope import open_envelope, seal_envelope, seal_envelope_random
from client_scan.franking.keyring import FrankingKey, Keyring
from client_scan.franking.message import FrankedMessage
from client_scan.franking.payload import (
    MAX_PAYLOAD_BYTES,
    AttachmentRef,
    Payload,
    encode_payload,
    parse_payload,
)
from client_scan.franking.stamp import (
    STAMP_LABEL,
    Stamp,
    check_stamp,
    check_stamp_tag,
    compute_stamp,
    stamp,
    stamp_input,
    verify_stamp,
)
from client_scan.franking.verify_report import (
    VerifiedMessage,
    VerifiedReport,
    verify_message_for,
    verify_report,
)

__all__ = [
    "COMMIT_LABEL",
    "FRANKING_KEY_BYTES",
    "MAX_PAYLOAD_BYTES",
    "STAMP_LABEL",
    "AttachmentRef",
    "FrankedMessage",
    "FrankingKey",
    "Keyring",
    "Payload",
    "Stamp",
    "VerifiedMessage",
    "VerifiedReport",
    "check_stamp",
    "check_stamp_tag",
    "commit",
    "compute_stamp",
    "encode_payload",
    "lp",
    "mac",
    "mac_input",
    "new_franking_key",
    "open_envelope",
    "parse_payload",
    "seal_envelope",
    "seal_envelope_random",
    "stamp",
    "stamp_input",
    "u64",
    "verify_commitment",
    "verify_message_for",
    "verify_report",
    "verify_stamp",
]
