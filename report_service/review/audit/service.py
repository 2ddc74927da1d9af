"""Reading the audit log: filtered pages, verifying the whole chain against its head, and
finding a published entry hash. Each read first chains the entries still waiting for the
sequencer (:func:`~report_service.review.audit.store.sequence_pending`), so that it sees
every action committed before it.
"""

from __future__ import annotations

from report_service.review.audit import store as audit_store
from report_service.review.audit.chain import verify_chain
from report_service.review.audit.schemas import AuditPageOut, AuditVerifyOut
from report_service.review.audit.sequencer import PASS_LIMIT, sequence_once
from report_service.review.core import Actor, ServiceCore, require
from report_service.review.errors import AuditChainBroken
from report_service.review.moderators.roles import Permission
from report_service.review.views import audit_out


class AuditService(ServiceCore):
    """The audit log (a part of :class:`~report_service.review.service.ReviewService`)."""

    def audit_page(self, actor: Actor, f: audit_store.AuditFilter) -> AuditPageOut:
        """A filtered page of the audit log (auditor, admin).

        Raises:
            Forbidden: the role may not read the audit log.
        """
        require(actor, Permission.READ_AUDIT)
        return self.audit_entries(f)

    def sequence_audit(self) -> int:
        """Chain every audit entry waiting for the sequencer; how many were chained. A
        read-only look comes first, so that a read of the log takes no write lock (the
        chain head; SQLite's ``BEGIN IMMEDIATE``) when nothing waits."""
        done = 0
        while True:
            chained = sequence_once(self._sessions, self._reads, wait=True)
            done += chained
            if chained < PASS_LIMIT:
                return done

    def audit_entries(self, f: audit_store.AuditFilter) -> AuditPageOut:
        """A filtered page of the audit log, without an actor (the command line)."""
        self.sequence_audit()
        with self._sessions() as session:
            entries = audit_store.query_audit(session, f)
        nxt = entries[-1].seq if len(entries) == f.limit else None
        return AuditPageOut(entries=[audit_out(e) for e in entries], next_after=nxt)

    def audit_verify(self, actor: Actor | None = None) -> AuditVerifyOut:
        """Verify the whole chain against its recorded head (``actor`` None: the CLI).

        Raises:
            Forbidden: the role may not read the audit log.
        """
        if actor is not None:
            require(actor, Permission.READ_AUDIT)
        self.sequence_audit()
        with self._sessions() as session:
            audit_store.read_one_snapshot(session)  # appends go on while it reads
            head = audit_store.audit_head(session)
            count = audit_store.audit_count(session)
            try:
                verify_chain(audit_store.iter_audit(session), head)
            except AuditChainBroken as exc:
                return AuditVerifyOut(
                    ok=False,
                    entries=count,
                    head_seq=head.seq,
                    head_hash=head.hash,
                    first_broken=exc.position,
                    problem=exc.problem,
                )
        return AuditVerifyOut(
            ok=True,
            entries=count,
            head_seq=head.seq,
            head_hash=head.hash,
            first_broken=None,
            problem=None,
        )

    def audit_position(self, entry_hash: str) -> int | None:
        """Where an entry hash published earlier stands in the log (the command line).

        In a chain that verifies, finding it at ``seq`` N proves entries 1..N are the ones
        that were published; entries after N were appended since. ``None``: it is no longer
        in the log, which was rewritten or truncated.
        """
        self.sequence_audit()
        with self._sessions() as session:
            return audit_store.audit_seq_of(session, entry_hash.strip().lower())
