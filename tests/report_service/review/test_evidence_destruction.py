"""``frankly evidence destroy|purge`` on SQLite and PostgreSQL: the key is gone, the audit
chain records who and why, the legal hold holds, a dry run changes nothing, and the review
API still shows the verified facts while answering 410 for media."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from frankly.cli import main
from report_service import evidence
from report_service.errors import EvidenceDestroyed, NotFound
from report_service.review.core import Actor
from report_service.review.errors import InvalidInput
from report_service.review.lifecycle import destruction
from report_service.review.lifecycle.destruction import Destruction, EvidenceDestroyer
from report_service.review.lifecycle.retention import (
    LEGAL_HOLD_DECISIONS,
    MS_PER_DAY,
    ItemState,
    ReportState,
    Verdict,
    purge_cutoff,
    purge_verdict,
)
from report_service.review.media.evidence_access import MasterKeyEvidence
from report_service.review.moderators.roles import Role
from report_service.storage.models import EvidenceBlob, EvidenceKey
from tests.report_service.review.review_support import (
    MASTER_KEY,
    Attachment,
    Env,
    SyncClient,
    auth,
    make_env,
    png_bytes,
)

REASON = "data-protection erasure request DP-2024-117"
POLICY = "retention policy RP-7: evidence kept 30 days after a decision"
TEXT = "you will regret this"
COMMENT = "he keeps sending these"


class Cli:
    """``frankly`` on the test's database (the URL from the environment, as an operator
    pointing at PostgreSQL would), capturing the output."""

    def __init__(
        self, env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
    ) -> None:
        monkeypatch.setenv("FRANKLY_DATABASE_URL", env.url)
        self.data = str(tmp_path / "data")
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        status = main([*argv, "--data", self.data])
        out = self.capsys.readouterr()
        return status, out.out, out.err


@pytest.fixture
def cli(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Cli:
    return Cli(env, tmp_path, monkeypatch, capsys)


def _reader() -> MasterKeyEvidence:
    return MasterKeyEvidence(lambda kid: MASTER_KEY)


def _blobs(env: Env, report_id: str) -> list[tuple[str, str, bytes]]:
    with env.sf() as s:
        rows = s.scalars(select(EvidenceBlob).where(EvidenceBlob.report_id == report_id))
        return [(b.kind, b.ref, b.ciphertext) for b in rows]


def _readable(env: Env, report_id: str) -> bool:
    with env.sf() as s:
        try:
            return _reader().read(s, report_id, "comment", "") == COMMENT.encode()
        except EvidenceDestroyed:
            return False


def _wrapped(env: Env) -> dict[str, bytes | None]:
    with env.sf() as s:
        return {k.report_id: k.wrapped_key for k in s.scalars(select(EvidenceKey))}


def _audit(env: Env, action: str = "evidence_destroy") -> list[dict[str, Any]]:
    from report_service.review.audit.store import AuditFilter

    page = env.service.audit_entries(AuditFilter(action=action, limit=1000))
    return [e.model_dump() for e in page.entries]


def _decide(env: Env, item_id: int, decision: str, role: str = "moderator") -> None:
    actor = Actor(f"{role}-1", Role(role))
    queue = "child_safety" if role == "child_safety" else "general"
    claimed = env.service.claim(actor, queue)
    assert claimed.item.id == item_id
    env.service.decide(actor, item_id, decision, "harassment/1.2", "")


# ---------------------------------------------------------------------------- destroy


def test_destroy_one_report_shreds_it_audits_it_and_the_api_keeps_the_facts(
    env: Env, client: SyncClient, cli: Cli
) -> None:
    image = Attachment(png_bytes(3, (120, 80)), pdq="b" * 64, bank=("harassment", 40))
    seed = env.seed(attachments=[image])
    [report_id] = seed.report_ids
    wrapped = _wrapped(env)[report_id]
    assert wrapped is not None
    assert _readable(env, report_id)

    status, out, err = cli("evidence", "destroy", report_id, "--reason", REASON, "--by", "dpo-ana")
    assert status == 0, err
    assert out.startswith(f"destroyed the evidence of report {report_id} ")
    assert f"items: {seed.item_id};" in out

    # The ciphertexts are still there; nothing opens them.
    with env.sf() as s:
        row = s.get(EvidenceKey, report_id)
        assert row is not None
        assert row.wrapped_key is None
        assert row.destroyed_at is not None
    blobs = _blobs(env, report_id)
    assert {kind for kind, _, _ in blobs} >= {"payload", "comment", "attachment"}
    with env.sf() as s:
        for kind, ref, ciphertext in blobs:
            with pytest.raises(EvidenceDestroyed):
                _reader().read(s, report_id, kind, ref)
            with pytest.raises(EvidenceDestroyed):  # not even with the master key as a guess
                evidence.open_blob(MASTER_KEY, report_id, kind, ref, ciphertext)

    # The audit chain still verifies and says who, why, which report and item.
    status, out, _ = cli("audit", "verify")
    assert status == 0
    assert out.startswith("ok: ")
    [entry] = _audit(env)
    assert entry["actor"] == "dpo-ana"
    assert entry["item_id"] == seed.item_id
    assert entry["detail"] == {
        "basis": "request",
        "reason": REASON,
        "report_id": report_id,
        "item_ids": [seed.item_id],
    }
    status, out, _ = cli("audit", "show", "--action", "evidence_destroy")
    assert json.loads(out)["detail"]["report_id"] == report_id
    for secret in (TEXT, COMMENT, wrapped.hex(), MASTER_KEY.hex(), image.data.hex()[:64]):
        assert secret not in json.dumps(entry)
        assert secret not in out

    # The review API: facts and hashes stay, the originals answer 410.
    mod = auth(env.tokens["moderator"])
    assert client.post("/v1/review/queues/general/claim", headers=mod).status_code == 200
    r = client.get(f"/v1/review/items/{seed.item_id}", headers=mod)
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["evidence_destroyed"] is True
    message = detail["verified"]["message"]
    assert (message["sender_id"], message["recipient_ids"], message["text"]) == (
        "mallory",
        ["alice"],
        None,
    )
    [att] = detail["verified"]["attachments"]
    assert (att["sha256"], att["pdq"], att["evidence_destroyed"]) == (image.sha256, "b" * 64, True)
    assert att["bank_matches"][0]["category"] == "harassment"
    assert detail["reporter_claims"][0]["comment"] is None
    assert TEXT not in r.text
    assert COMMENT not in r.text
    thumb = client.get(att["thumbnail_url"], headers=mod)
    assert (thumb.status_code, thumb.json()["error"]["code"]) == (410, "evidence_destroyed")
    reveal = client.post(
        att["reveal_url"], headers=mod, json={"reason": "need to see the original"}
    )
    assert (reveal.status_code, reveal.json()["error"]["code"]) == (410, "evidence_destroyed")
    other = client.get(f"/v1/review/items/{seed.item_id}/media/{'1' * 64}", headers=mod)
    assert other.status_code == 404
    aud = auth(env.tokens["auditor"])
    assert client.get("/v1/audit/verify", headers=aud).json()["ok"] is True


def test_destroying_twice_or_an_unknown_report_fails_clearly(env: Env, cli: Cli) -> None:
    [report_id] = env.seed().report_ids
    assert cli("evidence", "destroy", report_id, "--reason", REASON)[0] == 0
    status, out, err = cli("evidence", "destroy", report_id, "--reason", REASON)
    assert (status, out) == (2, "")
    assert f"error: the evidence of report {report_id} was already destroyed" in err
    status, out, err = cli("evidence", "destroy", "no-such-report", "--reason", REASON)
    assert (status, out, err) == (2, "", "error: no report 'no-such-report'\n")
    [other] = env.seed().report_ids
    status, _, err = cli("evidence", "destroy", other, "--reason", "because")
    assert status == 2
    assert "reason of at least 10 characters" in err
    status, _, err = cli("evidence", "destroy", other, "--reason", REASON, "--by", "a b")
    assert status == 2
    assert "user name" in err
    assert _readable(env, other)
    [entry] = _audit(env)
    assert entry["actor"] == "cli"
    assert entry["detail"]["report_id"] == report_id
    assert cli("audit", "verify")[0] == 0


def test_an_item_keeps_serving_the_original_another_report_still_holds(
    env: Env, client: SyncClient
) -> None:
    image = Attachment(png_bytes(5))
    seed = env.seed(attachments=[image], reporters=["alice", "bob"])
    destroyer = EvidenceDestroyer(env.sf, env.clock)
    done = destroyer.destroy(seed.report_ids[0], actor="dpo-ana", reason=REASON)
    assert done.item_ids == (seed.item_id,)
    mod = auth(env.tokens["moderator"])
    client.post("/v1/review/queues/general/claim", headers=mod)
    detail = client.get(f"/v1/review/items/{seed.item_id}", headers=mod).json()
    assert detail["evidence_destroyed"] is True
    assert detail["verified"]["message"]["text"] == TEXT
    [att] = detail["verified"]["attachments"]
    assert att["evidence_destroyed"] is False
    assert [c["comment"] for c in detail["reporter_claims"]] == [None, COMMENT]
    assert client.get(att["thumbnail_url"], headers=mod).status_code == 200
    done = destroyer.destroy(seed.report_ids[1], actor="dpo-ana", reason=REASON)
    assert client.get(att["thumbnail_url"], headers=mod).status_code == 410


def test_concurrent_destroyers_destroy_once(env: Env) -> None:
    [report_id] = env.seed().report_ids
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        destroyer = EvidenceDestroyer(env.sf, env.clock)
        barrier.wait()
        try:
            destroyer.destroy(report_id, actor="dpo-ana", reason=REASON)
            outcomes.append("destroyed")
        except EvidenceDestroyed:
            outcomes.append("already")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already"] * 3 + ["destroyed"]
    assert len(_audit(env)) == 1
    assert env.service.audit_verify().ok


def test_destroy_rejects_unknown_reports_in_the_service(env: Env) -> None:
    with pytest.raises(NotFound):
        EvidenceDestroyer(env.sf, env.clock).destroy("nope", actor="cli", reason=REASON)
    assert _audit(env) == []


def test_sqlite_leaves_no_copy_of_the_wrapped_key_in_its_files(sqlite_url: str) -> None:
    env = make_env(sqlite_url)
    try:
        seeds = [env.seed() for _ in range(20)]
        target = seeds[7].report_ids[0]
        wrapped = _wrapped(env)[target]
        assert wrapped is not None
        path = Path(sqlite_url.removeprefix("sqlite:///"))

        def on_disk() -> bytes:
            wal = path.with_name(path.name + "-wal")
            return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

        assert wrapped in on_disk()
        done = EvidenceDestroyer(env.sf, env.clock).destroy(target, actor="cli", reason=REASON)
        assert done.scrubbed is True
        assert wrapped not in on_disk()
        assert all(
            w is not None and w in on_disk() for r, w in _wrapped(env).items() if r != target
        )
    finally:
        env.engine.dispose()


# ---------------------------------------------------------------------------- purge


def test_purge_respects_the_legal_hold_and_a_dry_run_changes_nothing(
    env: Env, client: SyncClient, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(destruction, "PAGE", 2)  # candidates are listed over several pages
    now = time.time_ns() // 1_000_000
    t0 = env.clock.now  # the review clock starts in 2023
    # Decided long ago: purged.
    old = env.seed(text="old and decided")
    _decide(env, old.item_id, "no_violation")
    # Legal hold: escalated to legal, or to child safety and decided there.
    legal = env.seed(sender="lex")
    _decide(env, legal.item_id, "escalate_legal")
    csam = env.seed(sender="cass")
    _decide(env, csam.item_id, "escalate_child_safety")
    _decide(env, csam.item_id, "suspend_sender", role="child_safety")
    # Recent: received long ago but decided yesterday; decided long ago but its report
    # arrived yesterday (the second is never even listed as a candidate).
    recent = env.seed(sender="rita")
    env.clock.now = now - MS_PER_DAY
    _decide(env, recent.item_id, "warn_sender")
    late = env.seed(sender="lee", created_at=now - MS_PER_DAY)
    env.clock.now = t0
    _decide(env, late.item_id, "no_violation")
    # Claimed right now, and still open.
    claimed = env.seed(sender="carl")
    env.clock.now = now
    assert env.service.claim(Actor("moderator-1", Role.MODERATOR), "general").item.id == (
        claimed.item_id
    )
    undecided = env.seed(sender="otto")

    keys_before = _wrapped(env)
    head_before = env.service.audit_verify()
    args = ("evidence", "purge", "--decided-before-days", "30", "--reason", POLICY)
    status, out, err = cli(*args, "--dry-run")
    assert status == 0, err
    [would] = old.report_ids
    lines = out.splitlines()
    assert lines[0] == f"would destroy {would}"
    assert lines[1].startswith(
        "would destroy 1; kept 0 preservation_hold, 2 legal_hold, 1 claimed, 1 undecided, "
        "2 recent (cutoff "
    )
    assert len(lines) == 2
    assert _wrapped(env) == keys_before
    assert env.service.audit_verify() == head_before

    status, out, err = cli(*args, "--by", "retention-bot")
    assert status == 0, err
    assert out.startswith(f"destroyed {would} (items: {old.item_id}; audit entry ")
    assert (
        "destroyed 1; kept 0 preservation_hold, 2 legal_hold, 1 claimed, 1 undecided, 2 recent"
        in out
    )
    after = _wrapped(env)
    assert after[would] is None
    assert {r: w for r, w in after.items() if r != would} == {
        r: w for r, w in keys_before.items() if r != would
    }
    for seed in (legal, csam, claimed, undecided, recent, late):
        assert _readable(env, seed.report_ids[0])
    assert not _readable(env, would)
    [entry] = _audit(env)
    assert entry["actor"] == "retention-bot"
    detail = entry["detail"]
    assert detail["basis"] == "retention"
    assert detail["reason"] == POLICY
    assert detail["decided_before_days"] == 30
    assert detail["report_id"] == would
    assert detail["item_ids"] == [old.item_id]
    assert now - 30 * MS_PER_DAY <= detail["cutoff_ms"] <= time.time_ns() // 1_000_000
    assert cli("audit", "verify")[0] == 0

    # Nothing left to purge; the lead still sees the decided item's facts.
    assert "destroyed 0; kept 0 preservation_hold, 2 legal_hold" in cli(*args)[1]
    lead = auth(env.tokens["lead"])
    r = client.get(f"/v1/review/items/{old.item_id}", headers=lead)
    assert r.status_code == 200
    assert r.json()["verified"]["message"]["sender_id"] == "mallory"
    assert r.json()["decisions"][0]["decision"] == "no_violation"


def test_purge_refuses_a_bad_period_or_reason(env: Env, cli: Cli) -> None:
    env.seed()
    for days, reason, message in (
        ("0", POLICY, "1 to 36500 days"),
        ("-3", POLICY, "1 to 36500 days"),
        ("30", "short", "at least 10 characters"),
    ):
        status, out, err = cli(
            "evidence", "purge", "--decided-before-days", days, "--reason", reason, "--dry-run"
        )
        assert (status, out) == (2, "")
        assert message in err
    with pytest.raises(SystemExit):
        main(["evidence", "purge", "--reason", POLICY])  # the period is required


# ---------------------------------------------------------------------------- pure rules


CUTOFF = 1_000_000


def _item(**kw: Any) -> ItemState:
    base: dict[str, Any] = {
        "item_id": 1,
        "status": "decided",
        "leased": False,
        "decided_at": CUTOFF - 1,
        "decisions": frozenset({"no_violation"}),
    }
    return ItemState(**{**base, **kw})


@pytest.mark.parametrize(
    ("items", "received_at", "verdict"),
    [
        ((_item(),), CUTOFF - 1, Verdict.DESTROY),
        ((_item(), _item(item_id=2, decided_at=CUTOFF)), 0, Verdict.RECENT),
        ((_item(),), CUTOFF, Verdict.RECENT),
        ((_item(decisions=frozenset({"escalate_legal"})),), 0, Verdict.LEGAL_HOLD),
        (
            (_item(decisions=frozenset({"escalate_child_safety", "suspend_sender"})),),
            0,
            Verdict.LEGAL_HOLD,
        ),
        ((_item(status="open", decisions=frozenset({"escalate_legal"})),), 0, Verdict.LEGAL_HOLD),
        ((_item(status="claimed", decided_at=None),), 0, Verdict.CLAIMED),
        ((_item(leased=True),), 0, Verdict.CLAIMED),
        ((_item(), _item(item_id=2, status="open", decided_at=None)), 0, Verdict.UNDECIDED),
        ((_item(decided_at=None),), 0, Verdict.UNDECIDED),
        ((), 0, Verdict.UNDECIDED),
    ],
)
def test_purge_verdict(items: tuple[ItemState, ...], received_at: int, verdict: Verdict) -> None:
    assert purge_verdict(ReportState("r", received_at, items), CUTOFF) is verdict


DECISIONS = st.sampled_from(
    ["no_violation", "warn_sender", "suspend_sender", "escalate_legal", "escalate_child_safety"]
)
ITEMS = st.builds(
    ItemState,
    item_id=st.integers(1, 9),
    status=st.sampled_from(["open", "claimed", "decided"]),
    leased=st.booleans(),
    decided_at=st.none() | st.integers(CUTOFF - 5, CUTOFF + 5),
    decisions=st.frozensets(DECISIONS, max_size=3),
)


@given(st.lists(ITEMS, max_size=4), st.integers(CUTOFF - 5, CUTOFF + 5))
def test_purge_destroys_only_what_every_rule_allows(items: list[ItemState], received: int) -> None:
    verdict = purge_verdict(ReportState("r", received, tuple(items)), CUTOFF)
    allowed = (
        bool(items)
        and received < CUTOFF
        and all(
            i.status == "decided"
            and not i.leased
            and i.decided_at is not None
            and i.decided_at < CUTOFF
            and not (i.decisions & LEGAL_HOLD_DECISIONS)
            for i in items
        )
    )
    assert (verdict is Verdict.DESTROY) == allowed
    if any(i.decisions & LEGAL_HOLD_DECISIONS for i in items):
        assert verdict is Verdict.LEGAL_HOLD


def test_purge_cutoff() -> None:
    assert purge_cutoff(100 * MS_PER_DAY, 30) == 70 * MS_PER_DAY
    for days in (0, -1, 36_501):
        with pytest.raises(InvalidInput):
            purge_cutoff(100 * MS_PER_DAY, days)


def test_destruction_is_a_value() -> None:
    d = Destruction("r", (1,), 5, 7)
    assert d.scrubbed is True


# ---------------------------------------------------------------------------- end to end


def _photo() -> bytes:
    return png_bytes(11, (200, 160))


def test_destroying_a_real_report_through_the_whole_service(
    service: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    """A franked, sealed report with an image, through ``create_app``; destroyed by the
    command line; the real master keys open nothing; the API keeps the facts."""
    import hashlib

    from client_scan.report_format import Reason
    from report_service.storage.evidence import list_evidence, read_evidence

    review = service.app.state.review
    mod = {"Authorization": f"Bearer {review.add_moderator('test', 'mo', 'moderator').token}"}
    image = _photo()
    sha = hashlib.sha256(image).hexdigest()
    context = service.frank("bob", "alice", "hey")
    abusive = service.frank("alice", "bob", "look at this", attachments=[(image, "image/png")])
    report = service.report(
        "bob", [context, abusive], reason=Reason.NCII, attachments={sha: image}, comment="mine"
    )
    assert service.submit("bob", report).status_code == 201

    monkeypatch.setenv("FRANKLY_DATABASE_URL", service.app.state.settings.resolved_database_url)
    status = main(
        ["evidence", "destroy", report.report_id, "--reason", REASON, "--data", str(tmp_path)]
    )
    assert status == 0, capsys.readouterr().err

    keys = service.keys
    with service.app.state.session_factory() as s:
        pieces = list_evidence(s, report.report_id)
        assert ("attachment", sha) in pieces
        assert ("message", "0") in pieces
        for kind, ref in pieces:
            with pytest.raises(EvidenceDestroyed):
                read_evidence(s, keys, report.report_id, kind, ref)
        for blob in s.scalars(select(EvidenceBlob)):
            for master in keys.master:
                with pytest.raises(EvidenceDestroyed):
                    evidence.open_blob(
                        master.key, blob.report_id, blob.kind, blob.ref, blob.ciphertext
                    )

    bob = service.auth("bob")
    assert service.client.get(f"/v1/reports/{report.report_id}", headers=bob).json() == {
        "report_id": report.report_id,
        "status": "received",
    }
    item = service.client.post("/v1/review/queues/general/claim", headers=mod).json()["item"]["id"]
    detail = service.client.get(f"/v1/review/items/{item}", headers=mod).json()
    assert detail["evidence_destroyed"] is True
    assert detail["verified"]["message"]["sender_id"] == "alice"
    assert [m["text"] for m in detail["transcript"]] == [None, None]
    [att] = detail["verified"]["attachments"]
    assert (att["sha256"], att["evidence_destroyed"]) == (sha, True)
    assert att["pdq"] is not None
    r = service.client.get(att["thumbnail_url"], headers=mod)
    assert (r.status_code, r.json()["error"]["code"]) == (410, "evidence_destroyed")
    r = service.client.post(
        f"/v1/review/items/{item}/decision",
        headers=mod,
        json={"decision": "suspend_sender", "policy": "ncii/2.0"},
    )
    assert r.status_code == 200, r.text
    status = service.client.get(f"/v1/reports/{report.report_id}", headers=bob).json()
    assert isinstance(status.pop("notice"), str)
    assert status == {
        "report_id": report.report_id,
        "status": "decided",
        "outcome": "suspend_sender",
    }
