"""The decision taxonomy and what each decision does to an item (pure).

=======================  ===========  =====================================================
decision                 violation    effect on the item
=======================  ===========  =====================================================
no_violation             no           decided; outcome ``no_violation``
warn_sender              yes          decided; outcome ``warn_sender``
restrict_sender          yes          decided; outcome ``restrict_sender``
suspend_sender           yes          decided; outcome ``suspend_sender``
escalate_child_safety    yes          moved to the child-safety queue, open again, no outcome
escalate_legal           yes          decided; outcome ``escalate_legal``
=======================  ===========  =====================================================

Only a violation's media may be banked (``bank_media``).

A new report about a decided item (:mod:`report_service.review.decisions.requeue`) sends it back to
review (:func:`requeue_reason`) when it makes the item a child-safety item for the first
time, whatever the standing decision: a general moderator's decision is not the child-safety
team's; or when it comes from a new reporter and the standing decision is
``no_violation``: a cleared message reported again by someone else deserves another look.
After a violation the platform has already acted, and the new reporter is shown that
outcome.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from report_service.review.errors import InvalidInput

POLICY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.\-/]{0,63}")
MAX_NOTE_CHARS = 4000
MIN_REASON_CHARS = 10
MAX_REASON_CHARS = 1000


class Decision(enum.StrEnum):
    """What a moderator decides about an item."""

    NO_VIOLATION = "no_violation"
    WARN_SENDER = "warn_sender"
    RESTRICT_SENDER = "restrict_sender"
    SUSPEND_SENDER = "suspend_sender"
    ESCALATE_CHILD_SAFETY = "escalate_child_safety"
    ESCALATE_LEGAL = "escalate_legal"

    @property
    def violation(self) -> bool:
        """Whether the decision confirms a violation."""
        return self is not Decision.NO_VIOLATION

    @classmethod
    def parse(cls, text: str) -> Decision:
        """The decision named ``text``.

        Raises:
            InvalidInput: no such decision.
        """
        try:
            return cls(text)
        except ValueError:
            raise InvalidInput(f"unknown decision {text!r}") from None


@dataclass(frozen=True, slots=True)
class Effect:
    """The new state of an item after a decision."""

    status: str
    outcome: str | None
    queue: str | None  # a new queue, or None to stay
    child_safety: bool | None  # a new flag, or None to keep


def effect(decision: Decision) -> Effect:
    """What ``decision`` does to the item."""
    if decision is Decision.ESCALATE_CHILD_SAFETY:
        return Effect(status="open", outcome=None, queue="child_safety", child_safety=True)
    return Effect(status="decided", outcome=decision.value, queue=None, child_safety=None)


REQUEUE_CLEARED = "new report after no_violation"
REQUEUE_CHILD_SAFETY = "new child-safety report after a general decision"


def requeue_reason(
    decision: Decision, *, new_reporter: bool, became_child_safety: bool
) -> str | None:
    """Why a new report sends an item decided ``decision`` back to review, or ``None`` when
    it stays decided (see the module docstring).

    ``new_reporter``: the report's reporter was not yet counted on the item.
    ``became_child_safety``: the report made the item a child-safety item.
    """
    if became_child_safety:
        return REQUEUE_CHILD_SAFETY
    if new_reporter and decision is Decision.NO_VIOLATION:
        return REQUEUE_CLEARED
    return None


def check_policy(policy: str) -> str:
    """Validate a policy identifier such as ``harassment/1.2``.

    Raises:
        InvalidInput: not 1..64 of lowercase letters, digits and ``_ . - /``.
    """
    if not POLICY_PATTERN.fullmatch(policy):
        raise InvalidInput("policy must be 1-64 characters of a-z 0-9 _ . - /")
    return policy


def check_note(note: str) -> str:
    """Validate a decision note.

    Raises:
        InvalidInput: longer than :data:`MAX_NOTE_CHARS`, or holds a NUL character.
    """
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"note longer than {MAX_NOTE_CHARS} characters")
    if "\x00" in note:  # PostgreSQL text cannot hold it
        raise InvalidInput("note must not contain NUL characters")
    return note


def check_reason(reason: str) -> str:
    """Validate a stated reason (for a reveal or a reopen); returns it stripped.

    Raises:
        InvalidInput: fewer than :data:`MIN_REASON_CHARS` non-blank characters, longer
            than :data:`MAX_REASON_CHARS`, or holds a NUL character.
    """
    text = reason.strip()
    if len(text) < MIN_REASON_CHARS:
        raise InvalidInput(f"state a reason of at least {MIN_REASON_CHARS} characters")
    if len(text) > MAX_REASON_CHARS:
        raise InvalidInput(f"reason longer than {MAX_REASON_CHARS} characters")
    if "\x00" in text:  # PostgreSQL text cannot hold it
        raise InvalidInput("reason must not contain NUL characters")
    return text
