"""Tables of the CyberTipline package (migration ``0011``), on the service's metadata.

``ncmec_reports``: one row per review item (``item_id`` unique: at most one report, open
or not, per case), the persisted state machine of :mod:`.flow`::

    prepared --approve--> approved --submit--> open --upload, fileinfo--> open
        --finish--> submitted
    approved/open --rejected or attempts exhausted--> failed --approve again--> approved
    prepared/approved/failed --decision reopened or replaced--> withdrawn

``ncmec_files``: the files of a report, each with NCMEC's file id once uploaded and
when its ``fileDetails`` were accepted. No message text, file bytes or secret is stored
here: the report is rebuilt from the encrypted evidence when it is sent or exported.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from report_service.storage.base import Base


class NcmecReport(Base):
    """One CyberTipline report of one review item."""

    __tablename__ = "ncmec_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("review_items.id", ondelete="CASCADE"), unique=True
    )
    decision_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    incident_type: Mapped[str] = mapped_column(String(80))
    incident_at: Mapped[int] = mapped_column(BigInteger)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    screen_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    high_priority: Mapped[str | None] = mapped_column(Text, nullable=True)
    prepared_by: Mapped[str] = mapped_column(String(64))
    prepared_at: Mapped[int] = mapped_column(BigInteger)
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ncmec_report_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    submit_started_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    finish_started_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ambiguous_submits: Mapped[int] = mapped_column(Integer, default=0)
    retracted_ids: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    finished_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class NcmecFile(Base):
    """One file of a CyberTipline report (an attachment of the reported message)."""

    __tablename__ = "ncmec_files"
    __table_args__ = (UniqueConstraint("report_row", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_row: Mapped[int] = mapped_column(
        ForeignKey("ncmec_reports.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    source_report_id: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(127))
    file_name: Mapped[str] = mapped_column(String(255))
    classification: Mapped[str | None] = mapped_column(String(2), nullable=True)
    viewed_by_esp: Mapped[bool] = mapped_column(Boolean)
    publicly_available: Mapped[bool] = mapped_column(Boolean)
    md5: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ncmec_file_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    uploaded_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    details_sent_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
