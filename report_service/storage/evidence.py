"""Reading and destroying a report's encrypted evidence.

``kind``/``ref`` name a piece: ``message``/``"<position>"`` (the franked message JSON of
the design, with payload and franking key, enough to re-verify it), ``payload``/
``"<payload id>"`` (the payload bytes ``P`` alone, for display), ``attachment``/
``"<sha256>"`` (plaintext bytes), ``comment``/``""`` and ``device_matches``/``""``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from report_service.errors import EvidenceDestroyed, NotFound
from report_service.evidence import open_blob, unwrap_data_key
from report_service.keys import KeyMaterial
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


def destroy_evidence(session: Session, report_id: str, now_ms: int) -> None:
    """Delete the wrapped data key of a report (commits). The ciphertexts may stay: they
    can no longer be decrypted by anyone.

    Raises:
        NotFound: no such report.
    """
    row = session.get(EvidenceKey, report_id)
    if row is None:
        raise NotFound("no such report")
    row.wrapped_key = None
    row.destroyed_at = now_ms
    session.commit()
