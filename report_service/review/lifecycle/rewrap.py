"""Re-wrapping every report's data key under a new evidence master key, and retiring the
old master key, so that crypto-shredding becomes final.

A report's evidence is encrypted under its own data key, stored only wrapped by a master
key (:mod:`report_service.evidence`). ``keys rotate master`` makes a new master key active
for new reports but keeps the old ones in the key file, because old wrapped keys need
them. :func:`rewrap` unwraps each live (not destroyed) data key still wrapped under
another master key and wraps it again under the target (the active) one; afterwards
:func:`retire_master` may delete the old master key from the key file.

Batches. Each batch is one transaction over at most ``batch`` rows, locked (``SELECT ...
FOR UPDATE``), re-checked and rewritten, with one ``evidence_rewrap`` audit entry in the
same transaction. A run stopped at any point loses nothing (each row holds a valid
wrapping under one of the held master keys at every moment) and a new run continues with
the rows still under an old key; rows already under the target are never touched again
(idempotent). A destroyed key (``wrapped_key`` NULL) has nothing to re-wrap and is left
alone; a concurrent destruction either runs first (the row is skipped) or waits for the
batch's lock and then deletes the new wrapping.

What retiring achieves. After :func:`retire_master`, no copy of the database (a backup,
a replica, a dump) taken before the re-wrap can be opened with the current key file: its
wrapped keys need the retired master key. Such a copy can still be opened together with a
copy of the key file that still holds the retired key, so destruction is final once every
key-file backup holding it is gone too. Key-file backups are small: keep them on a short
schedule, and re-wrap and retire regularly, to bound how long a destroyed report's
evidence survives in old copies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from report_service import evidence
from report_service.errors import KeyFileError, RequestRejected
from report_service.keys import KeyMaterial, MasterKey
from report_service.review.audit import store as audit_store
from report_service.storage.models import EvidenceKey

DEFAULT_BATCH = 500
MAX_BATCH = 10_000
REWRAP_ACTION = "evidence_rewrap"
RETIRE_ACTION = "master_key_retire"


class MasterKeyInUse(RequestRejected):
    """A master key cannot be retired: it is active, or live data keys still need it."""

    code = "master_key_in_use"
    status = 409


@dataclass(frozen=True, slots=True)
class RewrapProgress:
    """What a run did: rows re-wrapped, batches committed, and live rows still under other
    master keys (``-1`` in the progress reports made during the run, counted at its end)."""

    target: str
    rewrapped: int
    batches: int
    remaining: int


def wrapped_under(session: Session) -> dict[str, int]:
    """How many live (not destroyed) data keys each master key id wraps."""
    rows = session.execute(
        select(EvidenceKey.master_key_id, func.count())
        .where(EvidenceKey.wrapped_key.is_not(None))
        .group_by(EvidenceKey.master_key_id)
    )
    return {kid: int(n) for kid, n in rows}


def _batch(
    session: Session,
    keys: KeyMaterial,
    target: MasterKey,
    size: int,
    random: Callable[[int], bytes],
) -> list[tuple[str, str]]:
    """Re-wrap up to ``size`` rows in the caller's transaction; ``(report_id, old kid)``."""
    rows = session.scalars(
        select(EvidenceKey)
        .where(EvidenceKey.master_key_id != target.kid, EvidenceKey.wrapped_key.is_not(None))
        .order_by(EvidenceKey.report_id)
        .limit(size)
        .with_for_update()
    ).all()
    done = []
    for row in rows:
        if row.wrapped_key is None:  # destroyed while we waited for the lock
            continue
        old = keys.master_key(row.master_key_id)
        data_key = evidence.unwrap_data_key(old.key, old.kid, row.report_id, row.wrapped_key)
        row.wrapped_key = evidence.wrap_data_key(
            target.key, target.kid, row.report_id, data_key, random(evidence.NONCE_BYTES)
        )
        row.master_key_id = target.kid
        done.append((row.report_id, old.kid))
    session.flush()
    return done


def rewrap(
    sessions: sessionmaker[Session],
    keys: KeyMaterial,
    *,
    actor: str,
    clock: Callable[[], int],
    random: Callable[[int], bytes],
    batch: int = DEFAULT_BATCH,
    max_batches: int | None = None,
    on_batch: Callable[[RewrapProgress], None] | None = None,
) -> RewrapProgress:
    """Re-wrap every live data key not under the active master key, in batches.

    Raises:
        RequestRejected: ``batch`` is out of range (1 to 10000).
        KeyFileError: a row is wrapped under a master key the key file no longer holds
            (its evidence cannot be opened; nothing of that batch is changed).
        EvidenceDestroyed: a wrapped key does not open (altered); nothing of that batch
            is changed.
    """
    if not 1 <= batch <= MAX_BATCH:
        raise RequestRejected(f"the batch size must be 1 to {MAX_BATCH}")
    target = keys.active_master
    total = batches = 0
    while max_batches is None or batches < max_batches:
        with sessions.begin() as session:
            done = _batch(session, keys, target, batch, random)
            if not done:
                break
            audit_store.append_audit(
                session,
                at_ms=clock(),
                actor=actor,
                action=REWRAP_ACTION,
                item_id=None,
                detail={
                    "to": target.kid,
                    "from": sorted({kid for _, kid in done}),
                    "count": len(done),
                    "first_report_id": done[0][0],
                    "last_report_id": done[-1][0],
                },
            )
        total += len(done)
        batches += 1
        if on_batch is not None:
            on_batch(RewrapProgress(target.kid, total, batches, -1))
    with sessions() as session:
        left = sum(n for kid, n in wrapped_under(session).items() if kid != target.kid)
    return RewrapProgress(target.kid, total, batches, left)


def check_retirable(session: Session, keys: KeyMaterial, kid: str) -> None:
    """Refuse to retire a master key that is active or still wraps live data keys.

    Raises:
        KeyFileError: the key file holds no master key ``kid``.
        MasterKeyInUse: it is the active one, or some live data key is wrapped under it.
    """
    keys.master_key(kid)
    if kid == keys.master_active:
        raise MasterKeyInUse(f"{kid} is the active master key: `frankly keys rotate master` first")
    live = wrapped_under(session).get(kid, 0)
    if live:
        raise MasterKeyInUse(
            f"{live} report data keys are still wrapped under {kid}: run `frankly keys "
            "rewrap` (after restarting every service process on the rotated key file)"
        )


def retire_master(
    sessions: sessionmaker[Session],
    keys: KeyMaterial,
    kid: str,
    *,
    actor: str,
    clock: Callable[[], int],
    save: Callable[[KeyMaterial], None],
) -> KeyMaterial:
    """Delete master key ``kid`` from the key material (written with ``save``), audited
    (``master_key_retire``). The check, the audit entry and the key file write happen in
    one transaction (on SQLite a write lock from its start); restart every service
    process afterwards so that none still holds the retired key in memory.

    Raises:
        KeyFileError: no such master key, or the key file cannot be written.
        MasterKeyInUse: see :func:`check_retirable`.
    """
    with sessions.begin() as session:
        check_retirable(session, keys, kid)
        remaining = tuple(k for k in keys.master if k.kid != kid)
        if not remaining:  # cannot happen: the active key is never retired
            raise KeyFileError("the key file would hold no master key")
        updated = replace(keys, master=remaining)
        audit_store.append_audit(
            session,
            at_ms=clock(),
            actor=actor,
            action=RETIRE_ACTION,
            item_id=None,
            detail={"kid": kid, "active": keys.master_active},
        )
        save(updated)
    return updated
