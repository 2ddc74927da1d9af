"""The platform's franking stamp (DESIGN.md, "Relay").

``st = MAC(K[kid], "frankly/v1/stamp", c, s, r, conv, uint64(t), kid)``. The platform
knows the authenticated sender, the recipient, the conversation and its own clock; it
stores nothing per message. For a group it stamps once per recipient.
"""

from __future__ import annotations

import hmac
import struct
from typing import NamedTuple

from client_scan.errors import InvalidInput, StampInvalid
from client_scan.franking.encoding import MAC_BYTES, lp
from client_scan.franking.keyring import FrankingKey, Keyring
from client_scan.franking.message import FrankedMessage

STAMP_LABEL = b"frankly/v1/stamp"

# The stamp is the relay's hot path (one per delivered message), so its MAC input is built
# in one join with precomputed pieces; it is byte-for-byte `encoding.mac_input` (the
# vectors and a property test hold the two together).
_LABEL_LP = lp(STAMP_LABEL)
_pack_len = struct.Struct(">I").pack
_pack_lp_u64 = struct.Struct(">IQ").pack
_U64_MAX = 2**64 - 1


class Stamp(NamedTuple):
    """A stamp and the id of the key that made it."""

    key_id: str
    tag: bytes


def stamp_input(
    key_id: str,
    commitment: bytes,
    sender_id: str,
    recipient_id: str,
    conversation_id: str,
    timestamp_ms: int,
) -> bytes:
    """The bytes the stamp MAC covers: ``lp(label) || lp(c) || ... || lp(kid)``.

    Raises:
        InvalidInput: ``timestamp_ms`` does not fit in uint64, or a field is too long.
    """
    if not 0 <= timestamp_ms <= _U64_MAX:
        raise InvalidInput(f"timestamp {timestamp_ms} does not fit in uint64")
    s = sender_id.encode()
    r = recipient_id.encode()
    conv = conversation_id.encode()
    kid = key_id.encode()
    try:
        data = b"".join(
            (
                _LABEL_LP,
                _pack_len(len(commitment)),
                commitment,
                _pack_len(len(s)),
                s,
                _pack_len(len(r)),
                r,
                _pack_len(len(conv)),
                conv,
                _pack_lp_u64(8, timestamp_ms),
                _pack_len(len(kid)),
                kid,
            )
        )
    except struct.error as exc:
        raise InvalidInput("a stamped field is longer than 2**32 - 1 bytes") from exc
    return data


def compute_stamp(
    secret: bytes,
    key_id: str,
    commitment: bytes,
    sender_id: str,
    recipient_id: str,
    conversation_id: str,
    timestamp_ms: int,
) -> bytes:
    """The raw stamp MAC over ``(c, s, r, conv, uint64(t), kid)`` under ``secret``.

    Raises:
        InvalidInput: ``timestamp_ms`` does not fit in uint64, or a field is too long.
    """
    data = stamp_input(key_id, commitment, sender_id, recipient_id, conversation_id, timestamp_ms)
    return hmac.digest(secret, data, "sha256")


def stamp(
    keyring: Keyring,
    commitment: bytes,
    sender_id: str,
    recipient_id: str,
    conversation_id: str,
    timestamp_ms: int,
) -> Stamp:
    """Stamp a relayed commitment with the keyring's active key.

    Raises:
        InvalidInput: ``timestamp_ms`` does not fit in uint64.
    """
    key = keyring.active
    data = stamp_input(key.kid, commitment, sender_id, recipient_id, conversation_id, timestamp_ms)
    return Stamp(key.kid, key.hmac(data))


def _message_stamp_input(message: FrankedMessage) -> bytes:
    if len(message.stamp) != MAC_BYTES:
        raise StampInvalid("stamp does not verify")
    try:
        return stamp_input(
            message.key_id,
            message.commitment,
            message.sender_id,
            message.recipient_id,
            message.conversation_id,
            message.timestamp_ms,
        )
    except (InvalidInput, UnicodeEncodeError) as exc:
        raise StampInvalid("stamp does not verify") from exc


def check_stamp_tag(secret: bytes, message: FrankedMessage) -> None:
    """Check the message's stamp under ``secret`` in constant time (no time checks).

    Raises:
        StampInvalid: the stamp does not verify, or a field cannot be encoded.
    """
    expected = hmac.digest(secret, _message_stamp_input(message), "sha256")
    if not hmac.compare_digest(expected, message.stamp):
        raise StampInvalid("stamp does not verify over (c, s, r, conv, t, kid)")


def check_stamp(key: FrankingKey, message: FrankedMessage) -> None:
    """:func:`check_stamp_tag` with a keyring key (its precomputed HMAC state).

    Raises:
        StampInvalid: the stamp does not verify, or a field cannot be encoded.
    """
    expected = key.hmac(_message_stamp_input(message))
    if not hmac.compare_digest(expected, message.stamp):
        raise StampInvalid("stamp does not verify over (c, s, r, conv, t, kid)")


def verify_stamp(keyring: Keyring, message: FrankedMessage, now_ms: int) -> None:
    """Check a message's key, time and stamp, in the design's order.

    Raises:
        UnknownKey: the key id is not in the keyring.
        StampExpired: the time is outside the key's validity or the retention window.
        TimestampInvalid: the time lies in the future beyond the clock skew.
        StampInvalid: the stamp does not verify.
    """
    key = keyring.get(message.key_id)
    keyring.check_time(key, message.timestamp_ms, now_ms)
    check_stamp(key, message)
