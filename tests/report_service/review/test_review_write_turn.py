"""Claims, releases and decisions run their transaction inside the SQLite writers' turn
(:mod:`report_service.storage.write_turn`), the one intake's stores take, so they queue
on a lock that wakes them at once instead of in SQLite's busy handler."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from report_service.review.core import Actor
from report_service.review.media.evidence_access import MasterKeyEvidence
from report_service.review.moderators.roles import Role
from report_service.review.service import ReviewService
from tests.report_service.review.review_support import MASTER_KEY, T0, Env


class RecordingTurn:
    """A turn that says whether it is held, and counts how often it was taken."""

    def __init__(self) -> None:
        self.held = False
        self.taken = 0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        assert not self.held  # never taken twice at once by these calls
        self.held, self.taken = True, self.taken + 1
        try:
            yield
        finally:
            self.held = False


def test_claim_release_and_decide_commit_inside_the_turn(env: Env) -> None:
    turn = RecordingTurn()
    service = ReviewService(
        env.sf,
        env.clock,
        MasterKeyEvidence(lambda kid: MASTER_KEY),
        audit_deferred=env.service._audit_deferred,
        write_turn=turn,
    )
    first = env.seed(priority=5, created_at=T0).item_id
    second = env.seed(priority=1, created_at=T0 + 1).item_id
    moderator = Actor("moderator-1", Role.MODERATOR)
    commits: list[bool] = []

    def on_commit(_conn: Any) -> None:
        commits.append(turn.held)

    event.listen(env.engine, "commit", on_commit)
    try:
        assert service.claim(moderator, "general").item.id == first
        assert (commits, turn.taken) == ([True], 1)
        service.release(moderator, first)
        assert (commits, turn.taken) == ([True, True], 2)
        assert service.claim(moderator, "general").item.id == first
        service.decide(moderator, first, "no_violation", "harassment/1.2", "")
        assert (commits, turn.taken) == ([True] * 4, 4)
        # Reads take no turn (and commit nothing).
        service.my_claims(moderator)
        assert turn.taken == 4
        assert service.claim(moderator, "general").item.id == second
    finally:
        event.remove(env.engine, "commit", on_commit)
    assert not turn.held
