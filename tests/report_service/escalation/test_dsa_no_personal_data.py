"""Through the real decision path (intake, review, the statement hook): whatever the
sender's and reporter's ids, the conversation, the message text, the reporter's comment
and the moderator's note, none of them appears in the statement stored for the EU
database, and the statement passes the API's rules (Hypothesis, SQLite)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from client_scan.report_format import Reason
from report_service.escalation.dsa.builder import (
    StatementFacts,
    build_statement,
    validate_statement,
)
from report_service.escalation.dsa.config import STATEMENT_DECISIONS
from report_service.escalation.dsa.mapping import load_mapping
from report_service.escalation.dsa.models import StatementRow

_n = itertools.count()
MAPPING = load_mapping(None, STATEMENT_DECISIONS)
FIXED_WORDING = {
    d: "".join(
        json.dumps(
            build_statement(
                StatementFacts(d, "p/1", r.value, False, 1_767_225_600_000, 1_767_225_600_000),
                MAPPING,
                "frankly-sor-0",
            ),
            ensure_ascii=False,
        )
        for r in Reason
    )
    for d in STATEMENT_DECISIONS
}
ident = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=8,
    max_size=30,
)
words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=8, max_size=200
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sender=ident,
    reporter=ident,
    conversation=ident,
    text=words,
    comment=words,
    note=words,
    decision=st.sampled_from(
        ["warn_sender", "restrict_sender", "suspend_sender", "escalate_legal"]
    ),
    reason=st.sampled_from([Reason.HARASSMENT, Reason.HATE, Reason.SCAM, Reason.OTHER]),
)
def test_the_stored_statement_holds_nothing_personal(
    sqlite_service: Any,
    sender: str,
    reporter: str,
    conversation: str,
    text: str,
    comment: str,
    note: str,
    decision: str,
    reason: Reason,
) -> None:
    # A "secret" that is itself part of the fixed wording cannot be told apart from it.
    fixed = FIXED_WORDING[decision]
    assume(not any(x in fixed for x in (text, comment[:1000], note)))
    service = sqlite_service
    n = next(_n)
    sender, reporter, conversation = f"{sender}{n}", f"{reporter}{n}", f"{conversation}{n}"
    if sender == reporter:
        return
    service.add_user(sender)
    service.add_user(reporter)
    msg = service.frank(sender, reporter, text, conversation=conversation)
    report = service.report(reporter, [msg], reason=reason, comment=comment[:1000])
    assert service.submit(reporter, report).status_code == 201
    mod_name = f"mod{n}"
    token = service.app.state.review.add_moderator("test", mod_name, "moderator").token
    mod = {"Authorization": f"Bearer {token}"}
    item = service.client.post("/v1/review/queues/general/claim", headers=mod).json()["item"]
    r = service.client.post(
        f"/v1/review/items/{item['id']}/decision",
        headers=mod,
        json={"decision": decision, "policy": "p/1", "note": note},
    )
    assert r.status_code == 200, r.text
    with service.app.state.session_factory() as session:
        row = session.scalars(select(StatementRow).where(StatementRow.item_id == item["id"])).one()
    payload = json.loads(row.payload)
    assert validate_statement(payload) == {}
    flat = json.dumps(payload, ensure_ascii=False)
    for secret in (sender, reporter, conversation, text, comment[:1000], note, mod_name):
        assert secret not in flat
    assert row.subject_id == sender  # kept for the user's own copy only
