"""Report building and sealing: selection of context, attachments, and seal round trips."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey

from client_scan.errors import (
    AttachmentMismatch,
    InvalidInput,
    NotParty,
    RecordNotFound,
    ReportFormatError,
)
from client_scan.franking import commit, encode_payload, parse_payload
from client_scan.franking.message import FrankedMessage
from client_scan.franking.verify_report import verify_report
from client_scan.messaging import attachment_ref
from client_scan.records import Direction, MemoryRecordStore, MessageRecord, PinnedKey
from client_scan.report_builder import build_report, compose_report, seal, select_messages
from client_scan.report_format import MAX_MESSAGES, Reason, encode_report, parse_report
from client_scan.sealing import open_sealed_report

from .franking import helpers as fixtures

PICTURE = b"picture bytes" * 7


def record(
    i: int,
    *,
    sender: str = "alice",
    recipient: str = "bob",
    conv: str = "c1",
    body: str | None = None,
    attachments: tuple[bytes, ...] = (),
) -> MessageRecord:
    refs = [attachment_ref(a, "image/png", f"a{j}") for j, a in enumerate(attachments)]
    payload = encode_payload(
        body if body is not None else f"message {i}",
        refs,
        payload_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{conv}/{i}")),
    )
    fk = hashlib.sha256(f"fk{i}".encode()).digest()
    message = FrankedMessage(
        payload.raw, fk, commit(fk, payload.raw), bytes(32), "k1", sender, recipient, conv, 1000 + i
    )
    direction = Direction.RECEIVED if recipient == "bob" else Direction.SENT
    return MessageRecord(message, payload, direction, f"relay-{i}")


def copy_of(
    original: MessageRecord, *, sender: str, conv: str, stamp: bytes, t: int
) -> MessageRecord:
    """Another stamped copy of ``original``'s exact ``(fk, P)`` (a relay or re-send): same
    payload and commitment, another sender, conversation, stamp and time."""
    message = dataclasses.replace(
        original.message, sender_id=sender, conversation_id=conv, stamp=stamp, timestamp_ms=t
    )
    return dataclasses.replace(original, message=message, relay_message_id=f"relay-{t}")


def conversation(n: int) -> list[MessageRecord]:
    """Alternating received (from alice) and sent (by bob) messages."""
    return [
        record(i) if i % 2 == 0 else record(i, sender="bob", recipient="alice") for i in range(n)
    ]


def test_context_is_nearest_messages_both_directions_in_time_order() -> None:
    conv = conversation(20)
    chosen = select_messages(list(reversed(conv)), [conv[10].id], context=4)
    assert [r.timestamp_ms - 1000 for r in chosen] == [8, 9, 10, 11, 12]
    assert {r.direction for r in chosen} == {Direction.SENT, Direction.RECEIVED}
    assert select_messages(conv, [conv[0].id], context=3) == tuple(conv[:4])
    assert select_messages(conv, [conv[19].id], context=0) == (conv[19],)
    everything = select_messages(conv, [conv[4].id], context=100)
    assert everything == tuple(conv)


def test_context_never_exceeds_the_report_limit() -> None:
    conv = conversation(MAX_MESSAGES + 30)
    chosen = select_messages(conv, [conv[0].id, conv[40].id], context=500)
    assert len(chosen) == MAX_MESSAGES
    assert conv[0] in chosen
    assert conv[40] in chosen


def test_selection_refuses_bad_requests() -> None:
    conv = conversation(4)
    with pytest.raises(InvalidInput):
        select_messages(conv, [], context=1)
    with pytest.raises(InvalidInput):
        select_messages(conv, [conv[0].id, conv[0].id], context=1)
    with pytest.raises(InvalidInput):
        select_messages(conv, [conv[0].id], context=-1)
    with pytest.raises(RecordNotFound):
        select_messages(conv, ["nope"], context=1)


def _build(conv: list[MessageRecord], reported: list[str], **kw: object) -> object:
    return build_report(
        conv,
        reported,
        report_id=str(uuid.uuid4()),
        reporter_id="bob",
        reason=Reason.HARASSMENT,
        **kw,  # type: ignore[arg-type]
    )


def test_only_received_messages_can_be_reported() -> None:
    conv = conversation(4)
    with pytest.raises(NotParty):
        _build(conv, [conv[1].id])  # bob sent this one


def test_attachments_must_belong_to_a_reported_message_and_match() -> None:
    conv = [record(0, attachments=(PICTURE,)), record(1)]
    digest = hashlib.sha256(PICTURE).hexdigest()
    report = build_report(
        conv,
        [conv[0].id],
        report_id=str(uuid.uuid4()),
        reporter_id="bob",
        reason=Reason.NCII,
        attachments={digest: PICTURE},
    )
    assert report.attachments == {digest: PICTURE}
    with pytest.raises(AttachmentMismatch):
        _build(conv, [conv[1].id], attachments={digest: PICTURE})  # not in the reported one
    with pytest.raises(AttachmentMismatch):
        _build(conv, [conv[0].id], attachments={digest: PICTURE + b"!"})


def test_wire_limits_are_checked_while_building() -> None:
    conv = conversation(2)
    with pytest.raises(ReportFormatError):
        _build(conv, [conv[0].id], comment="x" * 1001)
    with pytest.raises(ReportFormatError):
        build_report(
            conv, [conv[0].id], report_id="not-a-uuid", reporter_id="bob", reason=Reason.SPAM
        )


def test_compose_report_reads_the_store() -> None:
    store = MemoryRecordStore()
    for r in [record(0, attachments=(PICTURE,)), record(1, sender="bob", recipient="alice")]:
        store.add_message(r)
    store.add_message(record(0, conv="other"))
    digest = hashlib.sha256(PICTURE).hexdigest()
    store.put_attachment(digest, PICTURE)
    first = store.conversation("c1")[0]
    report = compose_report(
        store,
        [first.id],
        reporter_id="bob",
        reason=Reason.HARASSMENT,
        context=5,
        include_attachments=[digest],
        device_matches=[{"sha256": digest, "list_id": "l", "distance": 3}],
    )
    assert len(report.messages) == 2
    assert {m.conversation_id for m in report.messages} == {"c1"}
    assert report.attachments == {digest: PICTURE}
    assert report.device_matches == ({"sha256": digest, "list_id": "l", "distance": 3},)
    with pytest.raises(RecordNotFound):
        compose_report(
            store, [first.id], reporter_id="bob", reason=Reason.SPAM, include_attachments=["0" * 64]
        )


SERVICE_KEY = PrivateKey(hashlib.sha256(b"service").digest())


@given(
    n=st.integers(min_value=1, max_value=12),
    pick=st.integers(min_value=0, max_value=100),
    context=st.integers(min_value=0, max_value=12),
    reason=st.sampled_from(Reason),
    comment=st.one_of(st.none(), st.text(min_size=1, max_size=200)),
    body=st.text(max_size=100),
)
def test_build_seal_open_parse_round_trip(
    n: int, pick: int, context: int, reason: Reason, comment: str | None, body: str
) -> None:
    conv = conversation(n)
    target = (pick % ((n + 1) // 2)) * 2  # a received one
    conv[target] = record(target, body=body, attachments=(PICTURE,))
    digest = hashlib.sha256(PICTURE).hexdigest()
    report = build_report(
        conv,
        [conv[target].id],
        report_id=str(uuid.uuid4()),
        reporter_id="bob",
        reason=reason,
        comment=comment,
        context=context,
        attachments={digest: PICTURE},
        device_matches=[{"sha256": digest, "list_id": "l1", "distance": 2}],
    )
    sealed = seal(report, PinnedKey("rk1", bytes(SERVICE_KEY.public_key)))
    assert sealed.report_id == report.report_id
    assert sealed.key_id == "rk1"
    opened = parse_report(open_sealed_report(sealed.sealed, bytes(SERVICE_KEY)))
    assert opened == report
    assert len(opened.messages) == min(n, context + 1)


@given(
    n=st.integers(min_value=1, max_value=70),
    picks=st.sets(st.integers(min_value=0, max_value=69), min_size=1, max_size=5),
    context=st.integers(min_value=0, max_value=80),
)
def test_selection_matches_a_brute_force_oracle(n: int, picks: set[int], context: int) -> None:
    conv = conversation(n)
    subject = sorted({p % n for p in picks})
    chosen = select_messages(conv, [conv[i].id for i in subject], context)
    positions = [conv.index(r) for r in chosen]
    assert positions == sorted(positions)  # ordered by time
    assert set(subject) <= set(positions)
    room = min(context, MAX_MESSAGES - len(subject), n - len(subject))
    assert len(positions) == len(subject) + room

    # Oracle: every left-out message is at least as far from a reported one as every
    # chosen context message (ties broken towards earlier messages).
    def rank(i: int) -> tuple[int, int]:
        return (min(abs(i - s) for s in subject), i)

    others = [i for i in positions if i not in subject]
    left_out = [i for i in range(n) if i not in positions]
    if others and left_out:
        assert max(rank(i) for i in others) < min(rank(i) for i in left_out)


def _with_copies(n: int, copies: list[tuple[int, str]]) -> list[MessageRecord]:
    """A conversation of ``n`` messages plus, for each ``(i, sender)``, a stamped copy of
    message ``i`` relayed into the same conversation later by ``sender``."""
    conv = conversation(n)
    extra = [
        copy_of(conv[i], sender=sender, conv="c1", stamp=bytes([j + 1]) * 32, t=5000 + j)
        for j, (i, sender) in enumerate(copies)
    ]
    return conv + extra


def test_a_report_cites_the_chosen_copy_of_a_message_and_no_other() -> None:
    # bob holds alice's message and mallory's relayed copy of it, in one conversation.
    alice = record(0, body="you will regret this")
    mallory = copy_of(alice, sender="mallory", conv="c1", stamp=b"\x05" * 32, t=1001)
    conv = [alice, mallory, record(2)]
    for chosen, other in ((mallory, alice), (alice, mallory)):
        report = _build(conv, [chosen.id], context=10)
        assert report.reported == (chosen.payload_id,)  # type: ignore[attr-defined]
        cited = report.messages  # type: ignore[attr-defined]
        assert chosen.message in cited
        assert other.message not in cited  # one copy per payload id (duplicate_message)
        assert len(cited) == 2
        parse_report(encode_report(report))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="its own report"):
        _build(conv, [alice.id, mallory.id])


@given(
    n=st.integers(min_value=1, max_value=30),
    copies=st.lists(
        st.tuples(st.integers(0, 29), st.sampled_from(["mallory", "dave"])), max_size=8
    ),
    picks=st.sets(st.integers(min_value=0, max_value=40), min_size=1, max_size=4),
    context=st.integers(min_value=0, max_value=60),
)
def test_a_report_never_holds_two_copies_of_one_payload(
    n: int, copies: list[tuple[int, str]], picks: set[int], context: int
) -> None:
    conv = _with_copies(n, [(i % n, s) for i, s in copies])
    ordered = sorted(conv, key=lambda r: (r.timestamp_ms, r.id))
    subject: dict[str, MessageRecord] = {}
    for p in sorted(picks):
        r = ordered[p % len(ordered)]
        subject.setdefault(r.payload_id, r)  # one copy of each payload may be reported
    chosen = select_messages(conv, [r.id for r in subject.values()], context)
    payload_ids = [r.payload_id for r in chosen]
    assert len(payload_ids) == len(set(payload_ids))
    assert set(subject.values()) <= set(chosen)  # the copies the user chose, not others
    distinct = len({r.payload_id for r in conv})
    room = min(context, MAX_MESSAGES - len(subject), distinct - len(subject))
    assert len(chosen) == len(subject) + room


@settings(max_examples=60, deadline=None)
@given(
    plan=st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(["alice", "mallory", "dave", "bob"])),
        min_size=1,
        max_size=14,
    ),
    picks=st.sets(st.integers(0, 20), min_size=1, max_size=4),
    context=st.integers(0, 20),
)
def test_any_report_of_chosen_copies_verifies_and_names_their_stamped_senders(
    plan: list[tuple[int, str]], picks: set[int], context: int
) -> None:
    # bob's conversation holds real stamped messages, several of them copies of one
    # (fk, P) sent by different people (bob's own among them). Whatever copies he picks to
    # report (one per payload), the built report passes the service's verifier, and the
    # verified reported messages are exactly those copies with their own stamped senders.
    ring = fixtures.keyring()
    conv: list[MessageRecord] = []
    for t, (seed, sender) in enumerate(plan):
        recipient = "alice" if sender == "bob" else "bob"
        message = fixtures.franked(
            ring,
            f"body {seed}",
            sender=sender,
            recipient=recipient,
            conversation="c1",
            t=fixtures.NOW_MS - 60_000 + t,
            seed=f"payload-{seed}",
        )
        direction = Direction.SENT if sender == "bob" else Direction.RECEIVED
        conv.append(MessageRecord(message, parse_payload(message.payload), direction, f"r{t}"))
    received = [r for r in conv if r.direction is Direction.RECEIVED]
    chosen: dict[str, MessageRecord] = {}
    for p in sorted(picks):
        if received:
            r = received[p % len(received)]
            chosen.setdefault(r.payload_id, r)
    if not chosen:
        return
    report = build_report(
        conv,
        [r.id for r in chosen.values()],
        report_id=str(uuid.uuid4()),
        reporter_id="bob",
        reason=Reason.HARASSMENT,
        context=context,
    )
    verified = verify_report(report, "bob", ring, fixtures.NOW_MS)
    cited = {(v.message.sender_id, v.payload.id) for v in verified.reported_messages}
    assert cited == {(r.message.sender_id, r.payload_id) for r in chosen.values()}
    assert {v.message for v in verified.reported_messages} == {r.message for r in chosen.values()}
