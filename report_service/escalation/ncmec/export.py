"""``frankly ncmec export``: an approved report as a folder, for teams that file by hand.

The folder is new (created 0700; an existing path is refused) and holds, each file 0600:

- ``report.xml``: the ``report`` document, validated against the schema;
- ``file-<n>.xml``: each file's ``fileDetails`` (NCMEC's report and file ids when the
  report was already opened through the web service, else ``0`` and ``local-<n>``: fill
  in the ids NCMEC's form gives);
- ``files/<name>``: the decrypted files;
- ``manifest.json``: every file written, with its size, SHA-256 and MD5.

Only an approved report (status other than ``prepared``) is exported. The export is
audited (``ncmec_export``: who, which report, how many files; never the path's contents).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from report_service.escalation.ncmec import content
from report_service.escalation.ncmec import store as ncmec_store
from report_service.escalation.ncmec.xml import build_file_details, build_report
from report_service.review.audit import store as audit_store
from report_service.review.errors import InvalidInput, InvalidState, NotFound
from report_service.review.media.evidence_access import EvidenceReader


def _write(path: Path, data: bytes) -> dict[str, object]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return {
        "path": str(path.name if path.parent.name != "files" else f"files/{path.name}"),
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
    }


def resolve(session: Session, ref: str) -> int:
    """Our report number for ``ref``: ``ct-<n>`` (a report number) or an item id.

    Raises:
        InvalidInput: neither form. NotFound: no report for it.
    """
    text = ref.strip().lower()
    if text.startswith("ct-") and text[3:].isdigit():
        return ncmec_store.get(session, int(text[3:])).id
    if text.isdigit():
        row = ncmec_store.by_item(session, int(text))
        if row is None:
            raise NotFound(f"no CyberTipline report for item {text}")
        return row.id
    raise InvalidInput("give an item id (e.g. 42) or a report number (e.g. ct-7)")


def export_package(
    sessions: sessionmaker[Session],
    evidence: EvidenceReader,
    profile: content.CompanyProfile,
    ref: str,
    out: Path,
    *,
    actor: str,
    clock: Callable[[], int],
) -> dict[str, object]:
    """Write the package of report ``ref`` to the new folder ``out``; the manifest.

    Raises:
        InvalidInput, NotFound: see :func:`resolve`. InvalidState: not approved.
        FileExistsError: ``out`` exists. EvidenceDestroyed: the evidence is gone.
    """
    with sessions.begin() as session:
        rid = resolve(session, ref)
        row = ncmec_store.get(session, rid)
        if row.status == "prepared" or row.approved_by is None:
            raise InvalidState("only an approved report is exported; a safety_lead approves it")
        report_xml = build_report(content.build(session, evidence, profile, row))
        files = ncmec_store.files_of(session, row)
        out.mkdir(mode=0o700, parents=False, exist_ok=False)
        os.chmod(out, 0o700)
        (out / "files").mkdir(mode=0o700)
        written = [_write(out / "report.xml", report_xml)]
        for n, f in enumerate(files, start=1):
            data = content.file_bytes(session, evidence, f)
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            details = content.file_details(
                row, f, row.ncmec_report_id or 0, f.ncmec_file_id or f"local-{n}", md5
            )
            written.append(_write(out / f"file-{n}.xml", build_file_details(details)))
            written.append(_write(out / "files" / f.file_name, data))
        manifest: dict[str, object] = {
            "report": row.id,
            "item_id": row.item_id,
            "incident_type": row.incident_type,
            "ncmec_report_id": row.ncmec_report_id,
            "approved_by": row.approved_by,
            "files": written,
        }
        _write(out / "manifest.json", json.dumps(manifest, indent=2).encode())
        audit_store.append_audit(
            session,
            at_ms=clock(),
            actor=actor,
            action="ncmec_export",
            item_id=row.item_id,
            detail={"ncmec_report": row.id, "files": len(files)},
        )
    return manifest
