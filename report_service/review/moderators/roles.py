"""Moderator roles and what each may do (pure).

=============  ============================================================================
role           may
=============  ============================================================================
moderator      see and claim the general queue, view the items it holds, decide them
child_safety   as moderator, plus the child-safety queue and its items (the only role that
               ever sees child-safety items), and reopening decisions on those items
safety_lead    the lead of the child-safety team: as child_safety, plus approving the
               CyberTipline reports its decisions prepare (report_service.escalation.ncmec)
lead           as moderator, plus view any general item without a lease and reopen decisions;
               reveal and bank without the lease only as reasoned, audited overrides
               (ReviewService.reveal, ReviewService.bank); place, release and list
               preservation holds (/v1/review/holds)
auditor        read and verify the audit log; nothing else
admin          manage moderator accounts, read the audit log, and place, release and list
               preservation holds; no item access
=============  ============================================================================
"""

from __future__ import annotations

import enum

from report_service.review.errors import InvalidInput


class Role(enum.StrEnum):
    """A moderator account's single role."""

    MODERATOR = "moderator"
    CHILD_SAFETY = "child_safety"
    SAFETY_LEAD = "safety_lead"
    LEAD = "lead"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named ``text``.

        Raises:
            InvalidInput: no such role.
        """
        try:
            return cls(text)
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise InvalidInput(f"unknown role {text!r}; choose one of {names}") from None


class Permission(enum.StrEnum):
    """One thing a role may do."""

    REVIEW = "review"  # list queues, claim, view held items, media, decide
    CHILD_SAFETY = "child_safety"  # the child-safety queue and its items
    VIEW_ANY = "view_any"  # view an item without holding its lease
    REOPEN = "reopen"
    READ_AUDIT = "read_audit"
    MANAGE_MODERATORS = "manage_moderators"
    PRESERVE = "preserve"  # place, release and list preservation holds
    APPROVE_NCMEC = "approve_ncmec"  # approve a prepared CyberTipline report


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.MODERATOR: frozenset({Permission.REVIEW}),
    Role.CHILD_SAFETY: frozenset({Permission.REVIEW, Permission.CHILD_SAFETY}),
    Role.LEAD: frozenset(
        {Permission.REVIEW, Permission.VIEW_ANY, Permission.REOPEN, Permission.PRESERVE}
    ),
    Role.SAFETY_LEAD: frozenset(
        {Permission.REVIEW, Permission.CHILD_SAFETY, Permission.APPROVE_NCMEC}
    ),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT}),
    Role.ADMIN: frozenset(
        {Permission.MANAGE_MODERATORS, Permission.READ_AUDIT, Permission.PRESERVE}
    ),
}


def permissions(role: Role) -> frozenset[Permission]:
    """Everything ``role`` may do."""
    return _GRANTS[role]


def allows(role: Role, permission: Permission) -> bool:
    """Whether ``role`` has ``permission``."""
    return permission in _GRANTS[role]


def visible_queues(role: Role) -> tuple[str, ...]:
    """The queues ``role`` may list and claim from, in display order."""
    if not allows(role, Permission.REVIEW):
        return ()
    if allows(role, Permission.CHILD_SAFETY):
        return ("child_safety", "general")
    return ("general",)


def may_see_item(role: Role, *, child_safety: bool) -> bool:
    """Whether an item exists at all for ``role`` (child-safety items are hidden as 404)."""
    if not allows(role, Permission.REVIEW):
        return False
    return not child_safety or allows(role, Permission.CHILD_SAFETY)
