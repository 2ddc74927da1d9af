"""Reading and destroying a report's encrypted evidence.

``kind``/``ref`` name a piece: ``message``/``"<position>"`` (the franked message JSON of
the design, with payload and franking key, enough to re-verify it), ``payload``/
``"<payload id>"`` (the payload bytes ``P`` alone, for display), ``attachment``/
``"<sha256>"`` (plaintext bytes), ``comment``/``""`` and ``device_matches``/``""``.
"""

from __future__ import annotations

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from report_service.errors import EvidenceDestroyed, NotFound
from report_service.evidence import open_blob, unwrap_data_key
from report_service.keys import KeyMaterial
from report_service.storage.holds import refuse_if_held
from report_service.storage.models import EvidenceBlob, EvidenceKey


def data_key(session: Session, keys: KeyMaterial, report_id: str) -> bytes:
    """Unwrap the data key of ``report_id``.

    Raises:
        NotFound: no such report.
        EvidenceDestroyed: the wrapped key was deleted, or no held master key opens it.
        KeyFileError: the master key it was wrapped with is no longer in the key file.
    """
    row = session.get(EvidenceKey, report_id)
    if row is None:
        raise NotFound("no such report")
    if row.wrapped_key is None:
        raise EvidenceDestroyed(f"the evidence of report {report_id} was destroyed")
    master = keys.master_key(row.master_key_id)
    return unwrap_data_key(master.key, master.kid, report_id, row.wrapped_key)


def read_evidence(
    session: Session, keys: KeyMaterial, report_id: str, kind: str, ref: str = ""
) -> bytes:
    """Decrypt one piece of evidence.

    Raises:
        NotFound: no such report or piece.
        EvidenceDestroyed: the report's data key was destroyed (or the blob was altered).
    """
    blob = session.scalars(
        select(EvidenceBlob).where(
            EvidenceBlob.report_id == report_id, EvidenceBlob.kind == kind, EvidenceBlob.ref == ref
        )
    ).first()
    if blob is None:
        raise NotFound("no such evidence")
    key = data_key(session, keys, report_id)
    return open_blob(key, report_id, kind, ref, blob.ciphertext)


def list_evidence(session: Session, report_id: str) -> list[tuple[str, str]]:
    """``(kind, ref)`` of every piece of evidence of a report."""
    rows = session.execute(
        select(EvidenceBlob.kind, EvidenceBlob.ref)
        .where(EvidenceBlob.report_id == report_id)
        .order_by(EvidenceBlob.id)
    ).all()
    return [(k, r) for k, r in rows]


def shred_data_key(session: Session, report_id: str, now_ms: int) -> None:
    """Delete the wrapped data key of ``report_id`` in the caller's transaction (no commit).

    The ``evidence_keys`` row is locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; the
    ``BEGIN IMMEDIATE`` write lock on SQLite), so of two concurrent destroyers exactly one
    succeeds. On SQLite the connection's ``secure_delete`` is switched on first, so that the
    page that held the wrapped key is rewritten with the freed bytes zeroed instead of
    leaving them in free space (:func:`checkpoint_wal` then moves that page out of the WAL).

    This is the one place evidence is destroyed, so it is where preservation holds are
    enforced: with the key row locked, an active hold refuses. Placing a hold locks the
    same row (:mod:`report_service.escalation.preservation.store`), so a hold and a
    destruction never pass each other.

    Raises:
        NotFound: no such report.
        EvidenceDestroyed: the report's evidence was already destroyed.
        EvidenceHeld: an active preservation hold keeps it (the hold is named).
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete=ON"))
    row = session.get(EvidenceKey, report_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no report {report_id!r}")
    if row.wrapped_key is None:
        raise EvidenceDestroyed(
            f"the evidence of report {report_id} was already destroyed (at {row.destroyed_at} ms)"
        )
    refuse_if_held(session, report_id, now_ms)
    row.wrapped_key = None
    row.destroyed_at = now_ms
    session.flush()


def destroy_evidence(session: Session, report_id: str, now_ms: int) -> None:
    """Delete the wrapped data key of a report (commits). The ciphertexts may stay: they
    can no longer be decrypted by anyone. Nothing is audited: operators use
    ``frankly evidence destroy`` (:mod:`report_service.review.lifecycle.destruction`), which is.

    Raises:
        NotFound: no such report.
        EvidenceDestroyed: it was already destroyed.
        EvidenceHeld: an active preservation hold keeps it.
    """
    shred_data_key(session, report_id, now_ms)
    session.commit()


def checkpoint_wal(engine: Engine) -> bool:
    """On SQLite, copy the write-ahead log into the database file and truncate it, so that
    old page images holding a destroyed wrapped key are overwritten. Returns ``False`` when
    readers kept the checkpoint from completing (run it again later), ``True`` when it
    completed or the database is not SQLite.

    PostgreSQL keeps the old row version until ``VACUUM`` and in its WAL and backups; see
    docs/operations.md, "Data lifecycle".
    """
    if engine.dialect.name != "sqlite":
        return True
    raw = engine.raw_connection()  # autocommit on our SQLite connections: no BEGIN here
    try:
        cursor = raw.cursor()
        try:
            busy, _log, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            cursor.close()
    finally:
        raw.close()
    return int(busy) == 0
