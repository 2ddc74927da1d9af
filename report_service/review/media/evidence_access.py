"""Reading encrypted evidence for a moderator: the seam to :mod:`report_service.evidence`.

A report's data key is unwrapped with the master key named by its ``evidence_keys`` row,
then the blob for ``(report_id, kind, ref)`` is opened. Kinds: ``payload`` (ref: payload
id), ``attachment`` (ref: sha256), ``comment`` and ``device_matches`` (ref ``""``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session

from report_service import evidence
from report_service.errors import EvidenceDestroyed, KeyFileError
from report_service.review.media import store as media_store
from report_service.storage.models import EvidenceKey


class EvidenceReader(Protocol):
    """Decrypts one piece of a report's evidence."""

    def read(self, session: Session, report_id: str, kind: str, ref: str) -> bytes | None:
        """The plaintext, or ``None`` when the report has no such piece.

        Raises:
            EvidenceDestroyed: the report's data key was destroyed or does not open.
        """
        ...


class MasterKeyEvidence:
    """:class:`EvidenceReader` over the service's master keys (``kid -> 32-byte key``)."""

    def __init__(self, master_key: Callable[[str], bytes]) -> None:
        self._master_key = master_key

    def read(self, session: Session, report_id: str, kind: str, ref: str) -> bytes | None:
        """See :meth:`EvidenceReader.read`.

        Raises:
            EvidenceDestroyed: no usable wrapped key, or the blob does not open.
        """
        blob = media_store.evidence_blob(session, report_id, kind, ref)
        if blob is None:
            return None
        row = session.get(EvidenceKey, report_id)
        if row is None or row.wrapped_key is None:
            raise EvidenceDestroyed("the evidence of this report was destroyed")
        try:
            master = self._master_key(row.master_key_id)
        except KeyFileError as exc:
            raise EvidenceDestroyed("the master key of this report is gone") from exc
        data_key = evidence.unwrap_data_key(master, row.master_key_id, report_id, row.wrapped_key)
        return evidence.open_blob(data_key, report_id, kind, ref, blob.ciphertext)
