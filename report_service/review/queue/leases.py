"""Exclusive review leases (pure): who holds an item, until when.

A lease lasts :data:`DEFAULT_LEASE_MS` (10 minutes) from its claim or last heartbeat, up to
:data:`MAX_LEASE_MS`. An expired lease is as good as none: the item is back in its queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from report_service.review.errors import InvalidInput

DEFAULT_LEASE_MS = 10 * 60 * 1000
MIN_LEASE_MS = 30 * 1000
MAX_LEASE_MS = 60 * 60 * 1000


@dataclass(frozen=True, slots=True)
class Lease:
    """A moderator's hold on an item."""

    item_id: int
    moderator: str
    claimed_at: int
    expires_at: int

    def active(self, now_ms: int) -> bool:
        """Whether the lease still holds at ``now_ms``."""
        return now_ms < self.expires_at

    def held_by(self, moderator: str, now_ms: int) -> bool:
        """Whether ``moderator`` holds the lease at ``now_ms``."""
        return holds(self.moderator, self.expires_at, moderator, now_ms)


def holds(owner: str | None, expires_at: int | None, moderator: str, now_ms: int) -> bool:
    """Whether ``moderator`` holds, at ``now_ms``, a lease kept as a row's owner and
    expiry columns (``None``: no lease): the same rule as :meth:`Lease.held_by`."""
    return owner == moderator and expires_at is not None and now_ms < expires_at


def lease_duration(requested_ms: int | None) -> int:
    """The lease length to grant for a request (``None``: the default).

    Raises:
        InvalidInput: outside ``MIN_LEASE_MS..MAX_LEASE_MS``.
    """
    if requested_ms is None:
        return DEFAULT_LEASE_MS
    if not MIN_LEASE_MS <= requested_ms <= MAX_LEASE_MS:
        raise InvalidInput(f"lease must last {MIN_LEASE_MS}..{MAX_LEASE_MS} ms")
    return requested_ms


def claimable(status: str, lease: Lease | None, now_ms: int) -> bool:
    """Whether an item in ``status`` with ``lease`` may be claimed at ``now_ms``."""
    if status == "open":
        return True
    return status == "claimed" and (lease is None or not lease.active(now_ms))
