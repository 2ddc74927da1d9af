"""A sender's appeal and a reporter's complaint about the same decision, over real HTTP
(uvicorn on 127.0.0.1) on SQLite and PostgreSQL. Both may be filed (DSA Art. 20 gives
each party the right); they are reviewed jointly: one claim takes both, for one moderator
other than the decider; nobody else can claim either meanwhile; a complaint filed while
the other is held joins that claim; a reversal of one closes the other as ``superseded``
(its decision no longer stands), audited and told to its filer; an upheld one leaves the
other with the same reviewer to answer."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from client_scan.report_format import Reason
from report_service.review.audit.store import AuditFilter
from tests.report_service.conftest import loopback_client
from tests.report_service.escalation.appeal_support import REPORTER, SENDER
from tests.report_service.escalation.appeal_support import mod as _mod

LEASE_MS = 10 * 60 * 1000


def _decided(service: Any, http: httpx.Client, mod: dict[str, str]) -> tuple[str, int, int]:
    """A report decided ``suspend_sender``: report id, item id, statement id."""
    msg = service.frank(SENDER, REPORTER, "a very distinctive abusive sentence")
    report = service.report(REPORTER, [msg], reason=Reason.HARASSMENT)
    assert service.submit(REPORTER, report).status_code == 201
    item = http.post("/v1/review/queues/general/claim", headers=mod).json()["item"]["id"]
    r = http.post(
        f"/v1/review/items/{item}/decision",
        headers=mod,
        json={"decision": "suspend_sender", "policy": "harassment/1.2"},
    )
    assert r.status_code == 200, r.text
    [st] = http.get("/v1/statements", headers=service.auth(SENDER)).json()["statements"]
    return str(report.report_id), item, st["statement_id"]


def _file(service: Any, http: httpx.Client, who: str, body: dict[str, Any]) -> dict[str, Any]:
    r = http.post("/v1/appeals", headers=service.auth(who), json=body)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def _listed(http: httpx.Client, mod: dict[str, str]) -> dict[int, dict[str, Any]]:
    r = http.get("/v1/review/appeals?all=true", headers=mod)
    assert r.status_code == 200, r.text
    return {a["appeal_id"]: a for a in r.json()["appeals"]}


def test_both_are_claimed_together_and_a_reversal_supersedes_the_other(
    service: Any, live_url: str
) -> None:
    mo1, mo2, mo3 = _mod(service, "mo1"), _mod(service, "mo2"), _mod(service, "mo3")
    with loopback_client(live_url) as http:
        report_id, item, statement = _decided(service, http, mo1)
        appeal = _file(service, http, SENDER, {"statement_id": statement, "reason": "a joke"})
        complaint = _file(
            service, http, REPORTER, {"report_id": report_id, "reason": "Far too lenient."}
        )
        a, c = appeal["appeal_id"], complaint["appeal_id"]
        listed = _listed(http, mo2)
        assert listed[a]["joint_with"] == [c]
        assert listed[c]["joint_with"] == [a]
        assert (listed[a]["by"], listed[c]["by"]) == ("sender", "reporter")

        # The decider still can claim neither; the next reviewer takes both.
        assert http.post("/v1/review/appeals/claim", headers=mo1).status_code == 404
        claimed = http.post("/v1/review/appeals/claim", headers=mo2)
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["appeal_id"] == a
        assert claimed.json()["joint_with"] == [c]
        listed = _listed(http, mo2)
        assert listed[c]["status"] == "claimed"
        assert listed[c]["claimed_by"] == "mo2"
        assert listed[c]["lease_until"] == listed[a]["lease_until"]
        # Nobody else can take either side meanwhile.
        assert http.post("/v1/review/appeals/claim", headers=mo3).json()["error"]["code"] == (
            "queue_empty"
        )
        other = http.post(f"/v1/review/appeals/{c}/claim", headers=mo3)
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "invalid_state"
        assert http.get(f"/v1/review/appeals/{c}/item", headers=mo2).status_code == 200

        done = http.post(
            f"/v1/review/appeals/{a}/decision",
            headers=mo2,
            json={"outcome": "reverse", "reason": "context shows banter"},
        )
        assert done.status_code == 200, done.text
        assert done.json()["joint_with"] == []

        mine = http.get(f"/v1/appeals/{c}", headers=service.auth(REPORTER)).json()
        assert mine["status"] == "decided"
        assert mine["outcome"] == "superseded"
        assert "no longer stands" in mine["outcome_reason"]
        status = http.get(f"/v1/reports/{report_id}", headers=service.auth(REPORTER)).json()
        assert status["outcome"] == "no_violation"
        assert "reviewed together with another complaint" in status["notice"]
        # The new decision can be contested in its turn.
        again = http.post(
            "/v1/appeals",
            headers=service.auth(REPORTER),
            json={"report_id": report_id, "reason": "Still wrong."},
        )
        assert again.status_code == 201, again.text
        # Deciding the superseded one is refused: it is decided.
        late = http.post(
            f"/v1/review/appeals/{c}/decision",
            headers=mo2,
            json={"outcome": "reverse", "reason": "too late for this"},
        )
        assert late.status_code == 409
    review = service.app.state.review
    assert review.audit_verify().ok
    entries = review.audit_entries(AuditFilter(item_id=item, limit=100)).entries
    decided = [e.detail for e in entries if e.action == "appeal_decide"]
    assert [(d["appeal_id"], d["outcome"]) for d in decided] == [(a, "reverse"), (c, "superseded")]
    assert decided[1]["superseded_by"] == a
    [claim] = [e.detail for e in entries if e.action == "appeal_claim"]
    assert claim["joint_with"] == [c]


def test_a_complaint_filed_during_a_claim_joins_it_and_an_upheld_appeal_leaves_it_to_the_reviewer(
    service: Any, live_url: str
) -> None:
    mo1, mo2, mo3 = _mod(service, "mo1"), _mod(service, "mo2"), _mod(service, "mo3")
    with loopback_client(live_url) as http:
        report_id, _item, statement = _decided(service, http, mo1)
        a = _file(service, http, SENDER, {"statement_id": statement, "reason": "a joke"})
        assert http.post(f"/v1/review/appeals/{a['appeal_id']}/claim", headers=mo2).status_code == (
            200
        )
        c = _file(service, http, REPORTER, {"report_id": report_id, "reason": "Too lenient."})
        assert c["status"] == "claimed"  # joined mo2's claim
        assert _listed(http, mo2)[c["appeal_id"]]["claimed_by"] == "mo2"
        up = http.post(
            f"/v1/review/appeals/{a['appeal_id']}/decision",
            headers=mo2,
            json={"outcome": "uphold", "reason": "the suspension was right"},
        )
        assert up.status_code == 200, up.text
        # Still mo2's to answer, not anyone else's until the lease runs out.
        assert http.post(f"/v1/review/appeals/{c['appeal_id']}/claim", headers=mo3).status_code == (
            409
        )
        service.clock.now_ms += LEASE_MS + 1
        taken = http.post("/v1/review/appeals/claim", headers=mo3)
        assert taken.status_code == 200, taken.text
        assert taken.json()["appeal_id"] == c["appeal_id"]
        rev = http.post(
            f"/v1/review/appeals/{c['appeal_id']}/decision",
            headers=mo3,
            json={"outcome": "reverse", "reason": "a threat needs a harder look"},
        )
        assert rev.status_code == 200, rev.text
        # The item is open again; the upheld appeal's statement has ended with it.
        [st] = [
            s
            for s in http.get("/v1/statements", headers=service.auth(SENDER)).json()["statements"]
            if s["statement_id"] == statement
        ]
        assert st["standing"] is False
        assert st["ended_because"] == "reopened"
        mine = http.get(f"/v1/appeals/{a['appeal_id']}", headers=service.auth(SENDER)).json()
        assert mine["outcome"] == "uphold"
    assert service.app.state.review.audit_verify().ok


def test_two_reviewers_claiming_the_two_sides_at_once_get_one_claim(
    service: Any, live_url: str
) -> None:
    # Each reviewer asks for a different side of the same decision at the same moment:
    # exactly one gets both, the other a clean 409, and nobody waits forever.
    mo1 = _mod(service, "mo1")
    reviewers = {name: _mod(service, name) for name in ("mo2", "mo3")}
    with loopback_client(live_url) as http:
        report_id, _item, statement = _decided(service, http, mo1)
        a = _file(service, http, SENDER, {"statement_id": statement, "reason": "a joke"})
        c = _file(service, http, REPORTER, {"report_id": report_id, "reason": "Too lenient."})
    answers: dict[str, httpx.Response] = {}
    start = threading.Barrier(2)

    def claim(name: str, appeal_id: int) -> None:
        with loopback_client(live_url) as own:
            start.wait()
            answers[name] = own.post(
                f"/v1/review/appeals/{appeal_id}/claim", headers=reviewers[name]
            )

    threads = [
        threading.Thread(target=claim, args=("mo2", a["appeal_id"])),
        threading.Thread(target=claim, args=("mo3", c["appeal_id"])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers.values())
    assert codes == [200, 409], {k: v.text for k, v in answers.items()}
    [winner] = [k for k, v in answers.items() if v.status_code == 200]
    with loopback_client(live_url) as http:
        listed = _listed(http, reviewers[winner])
    assert {listed[x["appeal_id"]]["claimed_by"] for x in (a, c)} == {winner}
