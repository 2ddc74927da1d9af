"""Every error code of the design's table, each through the report verifier."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from client_scan.errors import (
    FRANKING_ERRORS,
    AttachmentMismatch,
    CommitmentMismatch,
    FrankingError,
    MixedConversations,
    NotParty,
    PayloadInvalid,
    ReportFormatError,
    StampExpired,
    StampInvalid,
    TimestampInvalid,
    UnknownKey,
)
from client_scan.franking import FrankingKey, commit, stamp, verify_report

from .helpers import DAY_MS, NOW_MS, franked, image_ref, key, keyring, payload_id, report


def _reject(rep: object, error: type[FrankingError], index: int | None = 0, **kw: object) -> None:
    ring = kw.pop("ring", keyring())
    now = kw.pop("now", NOW_MS)
    with pytest.raises(FrankingError) as exc:
        verify_report(rep, "bob", ring, now)  # type: ignore[arg-type]
    assert type(exc.value) is error
    assert exc.value.code == error.code
    assert exc.value.message_index == index


def test_honest_report_verifies_with_facts_and_context() -> None:
    ring = keyring()
    photo = b"\xff\xd8 not really a jpeg but bytes"
    ref = image_ref(photo)
    context = franked(ring, "earlier, from bob", sender="bob", recipient="alice", seed="c1")
    subject = franked(ring, "abuse", attachments=[ref], seed="s1")
    rep = report([context, subject], ["s1"], attachments={ref.sha256: photo})
    verified = verify_report(rep, "bob", ring, NOW_MS)
    assert verified.conversation_id == "conv-1"
    assert [m.reported for m in verified.messages] == [False, True]
    assert verified.reported_messages[0].payload.body == "abuse"
    assert verified.attachments == {ref.sha256: photo}
    assert verified.comment == "they keep doing this"


def test_the_error_table_has_nine_distinct_codes() -> None:
    codes = [e.code for e in FRANKING_ERRORS]
    assert codes == [
        "unknown_key",
        "stamp_expired",
        "timestamp_invalid",
        "not_party",
        "stamp_invalid",
        "commitment_mismatch",
        "payload_invalid",
        "attachment_mismatch",
        "mixed_conversations",
    ]


def test_unknown_key() -> None:
    other = keyring()
    other = dataclasses.replace(
        other, keys=(FrankingKey("k9", key("k9"), NOW_MS - DAY_MS),), active_kid="k9"
    )
    _reject(report([franked(other, seed="s1")], ["s1"]), UnknownKey)


def test_stamp_expired_outside_key_validity() -> None:
    ring = keyring(created_at_ms=NOW_MS - DAY_MS)
    msg = franked(ring, t=NOW_MS - 2 * DAY_MS, seed="s1")  # before the key existed
    _reject(report([msg], ["s1"]), StampExpired, ring=ring)


def test_stamp_expired_after_retirement() -> None:
    ring = keyring()
    rotated = ring.rotate(FrankingKey("k2", key("k2"), NOW_MS - 10 * DAY_MS), NOW_MS - 10 * DAY_MS)
    msg = franked(ring, t=NOW_MS - 5 * DAY_MS, seed="s1")  # stamped by k1 after it retired
    _reject(report([msg], ["s1"]), StampExpired, ring=rotated)


def test_stamp_expired_beyond_retention_window() -> None:
    ring = keyring(created_at_ms=0)
    msg = franked(ring, t=NOW_MS - 91 * DAY_MS, seed="s1")
    _reject(report([msg], ["s1"]), StampExpired, ring=ring)


def test_timestamp_in_the_future() -> None:
    ring = keyring()
    msg = franked(ring, t=NOW_MS + 6 * 60 * 1000, seed="s1")
    _reject(report([msg], ["s1"]), TimestampInvalid, ring=ring)


def test_small_clock_skew_is_accepted() -> None:
    ring = keyring()
    msg = franked(ring, t=NOW_MS + 4 * 60 * 1000, seed="s1")
    verify_report(report([msg], ["s1"]), "bob", ring, NOW_MS)


def test_not_party_stranger() -> None:
    ring = keyring()
    msg = franked(ring, recipient="carol", seed="s1")
    _reject(report([msg], ["s1"]), NotParty, ring=ring)


def test_not_party_reporting_own_message() -> None:
    ring = keyring()
    mine = franked(ring, sender="bob", recipient="alice", seed="s1")
    _reject(report([mine], ["s1"]), NotParty, ring=ring)


def test_own_messages_are_fine_as_context() -> None:
    ring = keyring()
    mine = franked(ring, sender="bob", recipient="alice", seed="c1")
    theirs = franked(ring, seed="s1")
    verify_report(report([mine, theirs], ["s1"]), "bob", ring, NOW_MS)


def test_stamp_invalid_when_sender_is_rewritten() -> None:
    ring = keyring()
    msg = dataclasses.replace(franked(ring, seed="s1"), sender_id="mallory")
    _reject(report([msg], ["s1"]), StampInvalid, ring=ring)


def test_commitment_mismatch_when_payload_is_swapped() -> None:
    ring = keyring()
    msg = franked(ring, seed="s1")
    forged = dataclasses.replace(msg, payload=franked(ring, "nicer words", seed="s1").payload)
    forged = dataclasses.replace(forged, payload=forged.payload.replace(b"hello", b"jello"))
    _reject(report([forged], ["s1"]), CommitmentMismatch, ring=ring)


def test_payload_invalid_when_committed_bytes_are_not_a_payload() -> None:
    ring = keyring()
    fk = key("fk-bad")
    raw = b'{"v":2,"id":"x","body":"from the future"}'
    c = commit(fk, raw)
    st = stamp(ring, c, "alice", "bob", "conv-1", NOW_MS - 1000)
    msg = dataclasses.replace(franked(ring, seed="s1"), payload=raw, franking_key=fk, commitment=c)
    msg = dataclasses.replace(msg, stamp=st.tag, timestamp_ms=NOW_MS - 1000)
    _reject(report([msg], ["s1"]), PayloadInvalid, ring=ring)


def test_attachment_mismatch_for_substituted_bytes() -> None:
    ring = keyring()
    photo = b"the committed photo"
    ref = image_ref(photo)
    msg = franked(ring, attachments=[ref], seed="s1")
    other = b"a different photo!!"
    rep = report([msg], ["s1"], attachments={hashlib.sha256(other).hexdigest(): other})
    _reject(rep, AttachmentMismatch, index=None, ring=ring)


def test_attachment_mismatch_when_key_does_not_hash() -> None:
    ring = keyring()
    photo = b"the committed photo"
    ref = image_ref(photo)
    msg = franked(ring, attachments=[ref], seed="s1")
    rep = report([msg], ["s1"], attachments={ref.sha256: photo + b"!"})
    _reject(rep, AttachmentMismatch, index=None, ring=ring)


def test_attachment_only_from_reported_messages() -> None:
    ring = keyring()
    photo = b"context photo"
    ref = image_ref(photo)
    context = franked(ring, attachments=[ref], seed="c1")
    subject = franked(ring, seed="s1")
    rep = report([context, subject], ["s1"], attachments={ref.sha256: photo})
    _reject(rep, AttachmentMismatch, index=None, ring=ring)


def test_mixed_conversations_names_the_stray_message() -> None:
    ring = keyring()
    a = franked(ring, seed="s1")
    b = franked(ring, conversation="conv-2", seed="c2")
    _reject(report([a, b], ["s1"]), MixedConversations, index=1, ring=ring)


def test_first_failure_wins_with_its_index() -> None:
    ring = keyring()
    good = franked(ring, seed="s1")
    bad = dataclasses.replace(franked(ring, seed="c1"), key_id="nope")
    worse = dataclasses.replace(franked(ring, seed="c2"), stamp=bytes(32))
    _reject(report([good, bad, worse], ["s1"]), UnknownKey, index=1, ring=ring)


def test_reported_id_must_name_a_message() -> None:
    ring = keyring()
    rep = report([franked(ring, seed="s1")], ["s1"])
    rep = dataclasses.replace(rep, reported=(payload_id("missing"),))
    with pytest.raises(ReportFormatError) as exc:
        verify_report(rep, "bob", ring, NOW_MS)
    assert exc.value.code == "reported_unknown"


def test_duplicate_payload_ids_are_refused() -> None:
    ring = keyring()
    msg = franked(ring, seed="s1")
    with pytest.raises(ReportFormatError) as exc:
        verify_report(report([msg, msg], ["s1"]), "bob", ring, NOW_MS)
    assert exc.value.code == "duplicate_message"
