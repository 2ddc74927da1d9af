"""The platform's franking keyring (DESIGN.md, "Keys").

A keyring holds ``(kid, 32-byte secret, created_at, retired_at)`` keys, exactly one of
them active. Rotation retires the active key but keeps it for verification until every
message it stamped has left the retention window; then :meth:`Keyring.prune` drops it.
All times are milliseconds since the epoch, passed in by the caller.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from client_scan.errors import KeyringError, StampExpired, TimestampInvalid, UnknownKey

PLATFORM_KEY_BYTES = 32
DEFAULT_RETENTION_MS = 90 * 24 * 3600 * 1000
DEFAULT_MAX_SKEW_MS = 5 * 60 * 1000


@dataclass(frozen=True, slots=True)
class FrankingKey:
    """One platform franking key. ``secret`` is excluded from ``repr``."""

    kid: str
    secret: bytes = field(repr=False)
    created_at_ms: int
    retired_at_ms: int | None = None
    # HMAC-SHA256 with the ipad/opad blocks hashed once per key (RFC 2104, section 4):
    # the relay stamps every message, and this halves the cost of each MAC.
    _pads: tuple[Any, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.kid or len(self.kid) > 64:
            raise KeyringError("key id must be 1 to 64 characters")
        if len(self.secret) != PLATFORM_KEY_BYTES:
            raise KeyringError(f"franking key {self.kid!r} must be {PLATFORM_KEY_BYTES} bytes")
        if self.retired_at_ms is not None and self.retired_at_ms < self.created_at_ms:
            raise KeyringError(f"franking key {self.kid!r} retired before it was created")
        block = self.secret.ljust(64, b"\0")
        inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        object.__setattr__(self, "_pads", (inner, outer))

    def hmac(self, data: bytes) -> bytes:
        """``HMAC-SHA256(secret, data)``, equal to ``hmac.digest(secret, data, "sha256")``."""
        inner = self._pads[0].copy()
        inner.update(data)
        outer = self._pads[1].copy()
        outer.update(inner.digest())
        digest: bytes = outer.digest()
        return digest

    def covers(self, timestamp_ms: int) -> bool:
        """Whether a stamp at ``timestamp_ms`` falls within this key's validity."""
        if timestamp_ms < self.created_at_ms:
            return False
        return self.retired_at_ms is None or timestamp_ms < self.retired_at_ms


@dataclass(frozen=True, slots=True)
class Keyring:
    """Franking keys, the active one, the retention window and the allowed clock skew.

    Raises (on construction):
        KeyringError: duplicate key ids, no such active key, or an active key that is retired.
    """

    keys: tuple[FrankingKey, ...]
    active_kid: str
    retention_ms: int = DEFAULT_RETENTION_MS
    max_skew_ms: int = DEFAULT_MAX_SKEW_MS
    _by_kid: dict[str, FrankingKey] = field(init=False, repr=False, compare=False)
    _active: FrankingKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_kid = {k.kid: k for k in self.keys}
        if len(by_kid) != len(self.keys):
            raise KeyringError("duplicate key id in keyring")
        active = by_kid.get(self.active_kid)
        if active is None:
            raise KeyringError(f"active key {self.active_kid!r} is not in the keyring")
        if active.retired_at_ms is not None:
            raise KeyringError(f"active key {self.active_kid!r} is retired")
        if self.retention_ms <= 0 or self.max_skew_ms < 0:
            raise KeyringError("retention must be positive and skew non-negative")
        object.__setattr__(self, "_by_kid", by_kid)
        object.__setattr__(self, "_active", active)

    @property
    def active(self) -> FrankingKey:
        """The key that stamps new messages."""
        return self._active

    def get(self, kid: str) -> FrankingKey:
        """The key with id ``kid``.

        Raises:
            UnknownKey: no key has that id.
        """
        key = self._by_kid.get(kid)
        if key is None:
            raise UnknownKey(f"key id {kid!r} is not in the keyring")
        return key

    def check_time(self, key: FrankingKey, timestamp_ms: int, now_ms: int) -> None:
        """Check a stamp time against the key's validity, the retention window and the skew.

        Raises:
            StampExpired: outside the key's validity or older than the retention window.
            TimestampInvalid: in the future beyond the allowed clock skew.
        """
        if not key.covers(timestamp_ms):
            raise StampExpired(f"timestamp is outside the validity of key {key.kid!r}")
        if now_ms - timestamp_ms > self.retention_ms:
            raise StampExpired("timestamp is older than the retention window")
        if timestamp_ms - now_ms > self.max_skew_ms:
            raise TimestampInvalid("timestamp lies in the future beyond the allowed clock skew")

    def rotate(self, new_key: FrankingKey, now_ms: int) -> Keyring:
        """Make ``new_key`` active, retire the current active key at ``now_ms``, and prune.

        Raises:
            KeyringError: the new key's id is taken, or it is already retired.
        """
        if new_key.kid in self._by_kid:
            raise KeyringError(f"key id {new_key.kid!r} is already in the keyring")
        if new_key.retired_at_ms is not None:
            raise KeyringError("a new active key cannot be retired")
        keys = tuple(
            replace(k, retired_at_ms=now_ms) if k.kid == self.active_kid else k for k in self.keys
        )
        rotated = replace(self, keys=(*keys, new_key), active_kid=new_key.kid)
        return rotated.prune(now_ms)

    def prune(self, now_ms: int) -> Keyring:
        """Drop retired keys whose every stamp is now older than the retention window."""
        keep = tuple(
            k
            for k in self.keys
            if k.retired_at_ms is None or now_ms - k.retired_at_ms <= self.retention_ms
        )
        return replace(self, keys=keep)
