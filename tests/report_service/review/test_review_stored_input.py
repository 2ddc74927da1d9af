"""Rows stored by an older version, before intake bounded free-form fields, must never break
the item view: malformed device hints are left out with a note, a payload that no longer
parses shows no text, and the answer is always 200 (issue 10, section 2). SQLite and
PostgreSQL, through the review API."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from report_service import evidence
from report_service.storage.models import EvidenceBlob, ReportMessage
from tests.report_service.review.review_support import Env, SyncClient, auth

DATA_KEY = b"\x01" * 32  # the first reporter's data key in ``seed_item``


def _replace_blob(env: Env, report_id: str, kind: str, ref: str, plain: bytes) -> None:
    with env.sf.begin() as session:
        row = session.scalars(
            select(EvidenceBlob).where(
                EvidenceBlob.report_id == report_id,
                EvidenceBlob.kind == kind,
                EvidenceBlob.ref == ref,
            )
        ).one()
        row.ciphertext = evidence.seal_blob(
            DATA_KEY, report_id, kind, ref, plain, uuid.uuid4().bytes + b"\0" * 8
        )


def _subject_payload_id(env: Env, report_id: str) -> str:
    with env.sf() as session:
        return session.scalars(
            select(ReportMessage.payload_id).where(
                ReportMessage.report_id == report_id, ReportMessage.reported.is_(True)
            )
        ).one()


def _view(env: Env, client: SyncClient, item_id: int) -> Any:
    lead = auth(env.tokens["lead"])
    response = client.get(f"/v1/review/items/{item_id}", headers=lead)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    "stored",
    [
        b'[{"a":' + b"[" * 300 + b"]" * 300 + b"}]",  # the reproduction
        b"[" * 5000 + b"]" * 5000,
        b'[{"distance":' + b"9" * 5000 + b"}]",
        b'{"not": "a list"}',
        b"\xff\xfe not json",
        b'[{"k":' + json.dumps("x" * 10_000).encode() + b"}]",
    ],
    ids=["nested-300", "nested-5000", "huge-int", "object", "not-utf8", "long-value"],
)
def test_stored_malformed_device_hints_are_dropped_with_a_note(
    env: Env, client: SyncClient, stored: bytes
) -> None:
    seed = env.seed()
    _replace_blob(env, seed.report_ids[0], "device_matches", "", stored)
    for _ in range(2):  # "answers 500 forever" before: the second view too
        body = _view(env, client, seed.item_id)
        [claim] = body["reporter_claims"]
        assert claim["device_matches"] is None
        [note] = body["notes"]
        assert seed.report_ids[0] in note
        assert "device_matches" in note
        assert body["verified"]["message"]["text"] == "you will regret this"


@pytest.mark.parametrize(
    "payload",
    [
        b'{"v":1,"id":"p","body":"x","deep":' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"v":1,"id":"p","body":"x","n":' + b"9" * 5000 + b"}",
        b'{"v":1,"id":"p","body":"x","attachments":[{"id":' + b"[" * 200 + b"]" * 200 + b"}]}",
    ],
    ids=["nested-5000", "huge-int", "nested-descriptor"],
)
def test_stored_payload_that_no_longer_parses_never_breaks_the_view(
    env: Env, client: SyncClient, payload: bytes
) -> None:
    seed = env.seed()
    rid = seed.report_ids[0]
    _replace_blob(env, rid, "payload", _subject_payload_id(env, rid), payload)
    body = _view(env, client, seed.item_id)
    message = body["verified"]["message"]
    assert message["text"] in (None, "x")
    for attachment in message["attachments"]:
        assert all(isinstance(v, str | int) for v in attachment.values())


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=70), inner),
    max_leaves=30,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(hints=_json)
def test_any_stored_json_as_device_hints_is_shown_or_noted_never_500(
    env: Env, client: SyncClient, hints: object
) -> None:
    seed = env.seed()
    stored = json.dumps(hints).encode()
    _replace_blob(env, seed.report_ids[0], "device_matches", "", stored)
    body = _view(env, client, seed.item_id)
    [claim] = body["reporter_claims"]
    if claim["device_matches"] is None:
        assert len(body["notes"]) == 1
    else:
        assert claim["device_matches"] == hints
