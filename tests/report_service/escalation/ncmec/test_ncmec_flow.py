"""The CyberTipline flow end to end against the local test server (real HTTP on
127.0.0.1), on SQLite and PostgreSQL: preparation by a decision, approval by the
child-safety lead only, submission with retries after a failure of each step, no
duplicate report after a crash between any HTTP call and its record, and retraction of
a refused report."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from lxml import etree

from report_service.escalation.ncmec.flow import RetryPolicy
from report_service.escalation.ncmec.schemas import ApproveIn
from report_service.review.audit.store import AuditFilter, query_audit
from report_service.review.errors import Forbidden, InvalidState
from tests.report_service.escalation.ncmec.ncmec_support import World, make_world
from tests.report_service.review.review_support import png_bytes

STEPS = ("submit", "upload", "fileinfo", "finish")


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with make_world(database_url) as w:
        yield w


def _actions(world: World) -> list[str]:
    with world.env.sf() as session:
        return [e.action for e in query_audit(session, AuditFilter(limit=1000))]


# ----------------------------------------------------------------------------- preparing


def test_a_confirming_child_safety_decision_prepares_a_report(world: World) -> None:
    item = world.confirm(files=2)
    row = world.report_of(item)
    assert row is not None
    assert row.status == "prepared"
    assert row.incident_type.startswith("Child Pornography")
    assert row.sender_id == "mallory"
    assert row.prepared_by == "child_safety-1"
    assert "ncmec_prepare" in _actions(world)
    shown = world.ncmec.show(world.lead, row.id)
    assert len(shown.files) == 2
    assert all(not f.viewed_by_esp for f in shown.files)


@pytest.mark.parametrize(
    ("policy", "decision", "child_safety"),
    [
        ("harassment", "suspend_sender", True),  # not a reportable policy
        ("csam", "no_violation", True),  # not confirmed
        ("csam", "suspend_sender", False),  # decided outside the child-safety queue
    ],
)
def test_other_decisions_prepare_nothing(
    world: World, policy: str, decision: str, child_safety: bool
) -> None:
    item = world.confirm(policy=policy, decision=decision, child_safety=child_safety)
    assert world.report_of(item) is None


def test_a_failing_preparation_never_breaks_the_decision(world: World) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    from report_service.review.media.evidence_access import MasterKeyEvidence
    from report_service.review.service import ReviewService
    from tests.report_service.review.review_support import MASTER_KEY

    world.review = ReviewService(
        world.env.sf,
        world.env.clock,
        MasterKeyEvidence(lambda kid: MASTER_KEY),
        on_decided=broken,
    )
    item = world.confirm()
    assert world.report_of(item) is None
    with world.env.sf() as session:
        f = AuditFilter(item_id=item, limit=100)
        actions = [e.action for e in query_audit(session, f)]
    assert "decide" in actions
    assert "decision_hook_failed" in actions


def test_text_only_enticement_is_reported_without_files(world: World) -> None:
    item = world.confirm(policy="enticement", files=0)
    rid = world.approve(item)
    assert world.submitter().run_once() == [rid]
    [done] = world.server.finished()
    assert done.files == {}
    tree = etree.fromstring(done.report_xml)
    assert tree.findtext("incidentSummary/incidentType") == (
        "Online Enticement of Children for Sexual Acts"
    )
    content = tree.findtext("internetDetails/chatImIncident/content") or ""
    assert 'verified <text> & "quotes"' in content
    assert "he keeps sending these" not in done.report_xml.decode()  # the reporter's words


# ----------------------------------------------------------------------------- approval


def test_nothing_leaves_without_approval(world: World) -> None:
    item = world.confirm()
    assert world.submitter().run_once() == []
    assert world.server.calls == []
    row = world.report_of(item)
    assert row is not None
    assert row.status == "prepared"


@pytest.mark.parametrize("role", ["child_safety", "lead", "moderator", "admin"])
def test_only_the_child_safety_lead_approves(world: World, role: str) -> None:
    item = world.confirm()
    row = world.report_of(item)
    assert row is not None
    with pytest.raises(Forbidden):
        world.ncmec.approve(world.actor(role), row.id, ApproveIn())
    assert world.submitter().run_once() == []


def test_the_deciding_moderator_cannot_approve_and_approval_is_audited(world: World) -> None:
    world.env.tokens["child_safety"] = world.env.tokens["safety_lead"]
    item = world.confirm()  # decided by the safety lead itself
    row = world.report_of(item)
    assert row is not None
    with pytest.raises(Forbidden):
        world.ncmec.approve(world.lead, row.id, ApproveIn())


def test_approval_twice_is_refused(world: World) -> None:
    rid = world.approve(world.confirm())
    with pytest.raises(InvalidState):
        world.ncmec.approve(world.lead, rid, ApproveIn())
    assert _actions(world).count("ncmec_approve") == 1


# ----------------------------------------------------------------------------- submitting


def test_an_approved_report_goes_through_the_whole_flow(world: World) -> None:
    item = world.confirm(files=2)
    rid = world.approve(item, screen_name="mal <&> 🙂", escalate_to_high_priority="urgent")
    assert world.submitter().run_once() == [rid]
    [done] = world.server.finished()
    assert world.server.calls == ["submit", "upload", "upload", "fileinfo", "fileinfo", "finish"]
    sent = {hashlib.sha256(data).hexdigest() for _name, data in done.files.values()}
    assert sent == {hashlib.sha256(png_bytes(seed=s)).hexdigest() for s in (7, 8)}
    assert set(done.details) == set(done.files)
    for details in done.details.values():
        tree = etree.fromstring(details)
        assert tree.findtext("industryClassification") == "A1"
        assert tree.find("originalFileHash[@hashType='SHA256']") is not None
    report = etree.fromstring(done.report_xml)
    assert report.findtext("personOrUserReported/screenName") == "mal <&> 🙂"
    assert report.findtext("personOrUserReported/espIdentifier") == "mallory"
    assert report.findtext("incidentSummary/escalateToHighPriority") == "urgent"
    assert report.findtext("reporter/legalURL") == "https://example.org/legal-process"
    row = world.row(rid)
    ncmec_id = next(iter(world.server.reports))
    assert (row.status, row.ncmec_report_id, row.attempts) == ("submitted", ncmec_id, 0)
    assert world.hooks.events == [
        ("ncmec.submitted", {"case_id": rid, "item_id": item, "ncmec_report_id": ncmec_id})
    ]
    [(report_ids, reason)] = world.hooks.holds
    assert report_ids
    assert str(ncmec_id) in reason
    assert world.env.service.audit_verify().ok
    # a second report about the same sender names the first as a prior report
    rid2 = world.approve(world.confirm())
    world.submitter().run_once()
    second = world.server.reports[world.row(rid2).ncmec_report_id or 0]
    prior = etree.fromstring(second.report_xml).findall("personOrUserReported/priorCTReports")
    assert [p.text for p in prior] == [str(ncmec_id)]


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_each_step_is_retried_after_a_failure(world: World, step: str, fault: str) -> None:
    rid = world.approve(world.confirm())
    world.server.faults[step] = [fault]
    world.submitter().run_once()
    row = world.row(rid)
    assert row.status == "submitted", row.last_error
    assert len(world.server.finished()) == 1
    assert world.sleeps == [0.01]
    # a lost submit answer opened a report at NCMEC that is never finished: counted
    lost = step == "submit" and fault == "timeout"
    assert row.ambiguous_submits == (1 if lost else 0)
    assert len(world.server.reports) == (2 if lost else 1)


def test_backoff_is_exponential_and_bounded_then_the_report_fails_for_a_lead(
    world: World,
) -> None:
    rid = world.approve(world.confirm())
    world.server.faults["upload"] = ["500"] * 100
    policy = RetryPolicy(
        attempts_per_pass=3, base_delay_s=0.5, max_attempts=2, pass_backoff_ms=1000
    )
    sub = world.submitter(policy=policy)
    sub.run_once()
    row = world.row(rid)
    assert (row.status, row.attempts) == ("open", 1)
    assert row.next_attempt_at == world.env.clock() + 1000
    assert world.sleeps == [0.5, 1.0]
    assert sub.run_once() == []  # not due yet
    world.env.clock.advance(1000)
    sub.run_once()
    row = world.row(rid)
    assert row.status == "failed"
    assert "HTTP 500" in (row.last_error or "")
    assert row.retracted_ids == str(next(iter(world.server.reports)))  # the open one
    assert world.server.finished() == []
    shown = world.ncmec.list(world.lead, "failed").reports
    assert [r.id for r in shown] == [rid]
    assert shown[0].last_error
    # a lead may approve it again; it then goes through as a new report
    world.ncmec.approve(world.lead, rid, ApproveIn())
    world.server.faults.clear()
    sub.run_once()
    assert world.row(rid).status == "submitted"
    assert len(world.server.finished()) == 1


def test_a_refused_file_detail_retracts_the_open_report(world: World) -> None:
    rid = world.approve(world.confirm())
    world.server.faults["fileinfo"] = ["reject"]
    world.submitter().run_once()
    row = world.row(rid)
    assert row.status == "failed"
    assert "1000" in (row.last_error or "")
    [opened] = world.server.reports.values()
    assert opened.retracted
    assert not opened.finished
    assert "ncmec_failed" in _actions(world)


class Crash(BaseException):
    """The process dies (not an Exception: nothing catches it)."""


@pytest.mark.parametrize("step", STEPS)
def test_a_crash_after_any_call_resumes_without_a_duplicate_report(world: World, step: str) -> None:
    rid = world.approve(world.confirm(files=2))

    def die(done: str) -> None:
        if done == step:
            raise Crash

    with pytest.raises(Crash):
        world.submitter("dead", after_call=die).run_once()
    assert world.submitter("other").run_once() == []  # the dead one's lease still holds
    world.env.clock.advance(60_001)
    assert world.submitter("other").run_once() == [rid]
    row = world.row(rid)
    assert row.status == "submitted"
    assert len(world.server.finished()) == 1
    [done] = world.server.finished()
    assert len(done.details) == 2
    if step == "submit":
        assert row.ambiguous_submits == 1
        assert "ncmec_submit_ambiguous" in _actions(world)
    else:
        assert len(world.server.reports) == 1
        assert row.ambiguous_submits == 0
    assert len(world.hooks.events) == 1


def test_two_submitters_never_send_the_same_report(world: World) -> None:
    rid = world.approve(world.confirm())
    from report_service.escalation.ncmec.store import claim_due

    with world.env.sf.begin() as session:
        row = claim_due(session, "first", world.env.clock(), 60_000)
        assert row is not None
        assert row.id == rid
    assert world.submitter("second").run_once() == []
    assert world.server.calls == []


def test_wrong_credentials_fail_without_leaking_them(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    rid = world.approve(world.confirm())
    with caplog.at_level("DEBUG"):
        world.submitter(password="wrong-password-xyz").run_once()
    assert "ncmec report failed" in caplog.text
    assert "wrong-password" not in caplog.text
    row = world.row(rid)
    assert row.status == "failed"
    assert world.server.refused_auth == 1
    assert "wrong-password-xyz" not in (row.last_error or "")
    with world.env.sf() as session:
        assert all(
            "wrong-password" not in str(e.detail) for e in query_audit(session, AuditFilter())
        )


# ----------------------------------------------------------------------------- reopening


def test_a_reopened_decision_withdraws_an_approved_report_before_it_leaves(world: World) -> None:
    item = world.confirm()
    rid = world.approve(item)
    world.review.reopen(world.actor("child_safety"), item, "second look at the context")
    assert world.submitter().run_once() == [rid]
    assert world.server.calls == []
    row = world.row(rid)
    assert row.status == "withdrawn"
    assert "ncmec_withdraw" in _actions(world)


def test_a_new_decision_after_a_reopen_replaces_or_withdraws_the_unsent_report(
    world: World,
) -> None:
    item = world.confirm()
    first = world.report_of(item)
    assert first is not None
    cs = world.actor("child_safety")
    world.review.reopen(cs, item, "second look at the context")
    with pytest.raises(InvalidState):  # its decision no longer stands
        world.ncmec.approve(world.lead, first.id, ApproveIn())
    world.review.claim(cs, "child_safety")
    world.review.decide(cs, item, "no_violation", "csam", "")
    row = world.report_of(item)
    assert row is not None
    assert row.status == "withdrawn"
    world.review.reopen(cs, item, "third look, new evidence")
    world.review.claim(cs, "child_safety")
    world.review.decide(cs, item, "suspend_sender", "trafficking", "")
    row = world.report_of(item)
    assert row is not None
    assert (row.status, row.incident_type) == ("prepared", "Child Sex Trafficking")
    world.approve(item)
    world.submitter().run_once()
    assert len(world.server.finished()) == 1


def test_a_reopen_while_a_report_is_open_at_ncmec_retracts_it(world: World) -> None:
    item = world.confirm()
    rid = world.approve(item)

    def reopen_after_upload(step: str) -> None:
        if step == "upload":
            world.review.reopen(world.actor("child_safety"), item, "second look at the context")

    world.submitter(after_call=reopen_after_upload).run_once()
    row = world.row(rid)
    assert row.status == "failed"
    [opened] = world.server.reports.values()
    assert opened.retracted
    assert not opened.finished


def test_each_file_may_get_its_own_classification(world: World) -> None:
    from report_service.review.errors import InvalidInput

    item = world.confirm(files=2)
    row = world.report_of(item)
    assert row is not None
    shas = [f.sha256 for f in world.ncmec.show(world.lead, row.id).files]
    with pytest.raises(InvalidInput):
        world.ncmec.approve(world.lead, row.id, ApproveIn(file_classifications={"ab" * 32: "A1"}))
    assert world.row(row.id).status == "prepared"  # nothing changed
    body = ApproveIn(classification="B2", file_classifications={shas[0]: "A1"})
    out = world.ncmec.approve(world.lead, row.id, body)
    assert {f.sha256: f.classification for f in out.files} == {shas[0]: "A1", shas[1]: "B2"}
