"""Which decisions prepare a CyberTipline report (pure).

A report is prepared when a decision

- confirms a violation (any decision but ``no_violation`` and ``escalate_child_safety``,
  which only moves the item), and
- is made on a child-safety item (the ``child_safety`` queue: only the child-safety
  team decides there), and
- names a policy whose first segment is one of :data:`POLICY_INCIDENTS`: ``csam``
  (``csam``, ``csam/1.2``), ``enticement`` or ``trafficking``.

The policy chooses the incident type. Any of them may be text only (no file); a
``csam`` report normally carries the files the moderator confirmed.
"""

from __future__ import annotations

from report_service.escalation.ncmec.model import IncidentType

POLICY_INCIDENTS: dict[str, IncidentType] = {
    "csam": IncidentType.CHILD_PORNOGRAPHY,
    "enticement": IncidentType.ONLINE_ENTICEMENT,
    "trafficking": IncidentType.CHILD_SEX_TRAFFICKING,
}
NOT_CONFIRMING = frozenset({"no_violation", "escalate_child_safety"})


def incident_for(decision: str, policy: str, *, child_safety: bool) -> IncidentType | None:
    """The incident type a decision reports, or ``None`` when it prepares no report."""
    if not child_safety or decision in NOT_CONFIRMING:
        return None
    return POLICY_INCIDENTS.get(policy.split("/", 1)[0])
