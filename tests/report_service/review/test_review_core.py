"""Pure cores of the review package: audit chain, priority, roles, leases, decisions, media."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from report_service.review.audit import chain as audit
from report_service.review.decisions import taxonomy as decisions
from report_service.review.errors import AuditChainBroken, InvalidInput, MediaUndecodable
from report_service.review.media import thumbnails as media
from report_service.review.moderators import roles
from report_service.review.queue import leases, priority

details = st.dictionaries(
    st.text(max_size=5),
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
    max_size=3,
)
entry_specs = st.lists(
    st.tuples(st.integers(0, 2**48), st.sampled_from(["alice", "bob"]), details),
    min_size=1,
    max_size=8,
)


def build_chain(specs: list[tuple[int, str, dict[str, object]]]) -> list[audit.AuditEntry]:
    head = audit.EMPTY_HEAD
    out = []
    for at, actor, detail in specs:
        e = audit.next_entry(head, at_ms=at, actor=actor, action="x", item_id=None, detail=detail)
        out.append(e)
        head = audit.ChainHead(e.seq, e.entry_hash)
    return out


def head_of(chain: list[audit.AuditEntry]) -> audit.ChainHead:
    return audit.ChainHead(chain[-1].seq, chain[-1].entry_hash)


def test_hash_is_sha256_of_canonical_json() -> None:
    e = audit.next_entry(
        audit.EMPTY_HEAD, at_ms=5, actor="a", action="claim", item_id=3, detail={"b": 1, "a": "é"}
    )
    expected = (
        '{"action":"claim","actor":"a","at_ms":5,"detail":{"a":"é","b":1},'
        '"item_id":3,"prev_hash":"' + "0" * 64 + '","seq":1}'
    )
    import hashlib

    assert e.entry_hash == hashlib.sha256(expected.encode()).hexdigest()


def test_floats_are_refused() -> None:
    with pytest.raises(InvalidInput):
        audit.next_entry(
            audit.EMPTY_HEAD, at_ms=1, actor="a", action="b", item_id=None, detail={"x": 1.5}
        )


@given(entry_specs)
def test_intact_chain_verifies(specs: list[tuple[int, str, dict[str, object]]]) -> None:
    chain = build_chain(specs)
    assert audit.verify_chain(chain, head_of(chain)) == head_of(chain)


@given(entry_specs, st.data())
def test_any_edit_is_found_at_its_position(
    specs: list[tuple[int, str, dict[str, object]]], data: st.DataObject
) -> None:
    chain = build_chain(specs)
    i = data.draw(st.integers(0, len(chain) - 1))
    field = data.draw(st.sampled_from(["at_ms", "actor", "action", "item_id", "detail"]))
    old = chain[i]
    new_value: Any = {
        "at_ms": old.at_ms + 1,
        "actor": old.actor + "!",
        "action": old.action + "!",
        "item_id": 7 if old.item_id is None else None,
        "detail": {**old.detail, "tampered": True},
    }[field]
    chain[i] = dataclasses.replace(old, **{field: new_value})
    with pytest.raises(AuditChainBroken) as err:
        audit.verify_chain(chain, head_of(build_chain(specs)))
    assert err.value.position == i + 1


@given(entry_specs.filter(lambda s: len(s) >= 2), st.data())
def test_deletion_insertion_and_reordering_are_found(
    specs: list[tuple[int, str, dict[str, object]]], data: st.DataObject
) -> None:
    chain = build_chain(specs)
    head = head_of(chain)
    i = data.draw(st.integers(0, len(chain) - 1))
    deleted = chain[:i] + chain[i + 1 :]
    with pytest.raises(AuditChainBroken) as err:
        audit.verify_chain(deleted, head)
    assert err.value.position == i + 1

    j = data.draw(st.integers(0, len(chain) - 1).filter(lambda j: j != i))
    swapped = list(chain)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    with pytest.raises(AuditChainBroken) as err:
        audit.verify_chain(swapped, head)
    assert err.value.position == min(i, j) + 1

    forged = audit.next_entry(
        audit.ChainHead(i, chain[i - 1].entry_hash if i else audit.GENESIS),
        at_ms=0,
        actor="mallory",
        action="x",
        item_id=None,
        detail={},
    )
    inserted = chain[:i] + [forged] + [dataclasses.replace(e, seq=e.seq + 1) for e in chain[i:]]
    with pytest.raises(AuditChainBroken) as err:
        audit.verify_chain(inserted, head)
    assert err.value.position == i + 2


def test_truncated_tail_is_found_with_the_head() -> None:
    chain = build_chain([(1, "a", {}), (2, "a", {}), (3, "a", {})])
    audit.verify_chain(chain[:2])  # without the head a truncation looks fine
    with pytest.raises(AuditChainBroken) as err:
        audit.verify_chain(chain[:2], head_of(chain))
    assert err.value.position == 3


@given(
    st.integers(0, 20_000), st.integers(0, 20_000), st.integers(0, 10**12), st.integers(0, 10**12)
)
def test_order_key_matches_effective_priority(p1: int, p2: int, c1: int, c2: int) -> None:
    now = 10**12 + 1
    e1 = priority.effective_priority(p1, c1, now)
    e2 = priority.effective_priority(p2, c2, now)
    k1 = priority.order_key(p1, c1, 1)
    k2 = priority.order_key(p2, c2, 2)
    if e1 > e2:
        assert k1 < k2
    elif e2 > e1:
        assert k2 < k1


def test_roles() -> None:
    assert roles.Role.parse("lead") is roles.Role.LEAD
    with pytest.raises(InvalidInput):
        roles.Role.parse("root")
    assert roles.visible_queues(roles.Role.CHILD_SAFETY) == ("child_safety", "general")
    assert roles.visible_queues(roles.Role.AUDITOR) == ()
    assert not roles.may_see_item(roles.Role.LEAD, child_safety=True)
    assert roles.may_see_item(roles.Role.CHILD_SAFETY, child_safety=True)
    assert roles.may_see_item(roles.Role.MODERATOR, child_safety=False)
    assert not roles.may_see_item(roles.Role.ADMIN, child_safety=False)


def test_leases() -> None:
    lease = leases.Lease(1, "m", 0, 100)
    assert lease.held_by("m", 99)
    assert not lease.held_by("m", 100)
    assert not lease.held_by("x", 1)
    assert leases.claimable("open", None, 0)
    assert not leases.claimable("claimed", lease, 50)
    assert leases.claimable("claimed", lease, 100)
    assert not leases.claimable("decided", None, 0)
    assert leases.lease_duration(None) == leases.DEFAULT_LEASE_MS
    with pytest.raises(InvalidInput):
        leases.lease_duration(1)


def test_decisions() -> None:
    assert not decisions.Decision.NO_VIOLATION.violation
    assert decisions.Decision.SUSPEND_SENDER.violation
    e = decisions.effect(decisions.Decision.ESCALATE_CHILD_SAFETY)
    assert (e.status, e.outcome, e.queue) == ("open", None, "child_safety")
    assert decisions.effect(decisions.Decision.WARN_SENDER).outcome == "warn_sender"
    with pytest.raises(InvalidInput):
        decisions.Decision.parse("ban")
    with pytest.raises(InvalidInput):
        decisions.check_policy("Bad Policy")
    with pytest.raises(InvalidInput):
        decisions.check_reason("   short  ")
    assert decisions.check_reason("  need to confirm nudity  ") == "need to confirm nudity"


def test_which_new_reports_requeue_a_decided_item() -> None:
    def requeued(new_reporter: bool, became_child_safety: bool) -> set[decisions.Decision]:
        return {
            d
            for d in decisions.Decision
            if decisions.requeue_reason(
                d, new_reporter=new_reporter, became_child_safety=became_child_safety
            )
        }

    assert requeued(True, False) == {decisions.Decision.NO_VIOLATION}
    assert requeued(False, False) == set()
    assert requeued(True, True) == requeued(False, True) == set(decisions.Decision)


def _noisy_rgb(width: int, height: int) -> bytes:
    import numpy as np

    rng = np.random.default_rng(1)
    arr = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="PNG")
    return buf.getvalue()


def test_thumbnail_is_small_gray_and_blurred() -> None:
    import numpy as np

    original = _noisy_rgb(800, 400)
    thumb = Image.open(io.BytesIO(media.blurred_thumbnail(original)))
    assert thumb.format == "PNG"
    assert thumb.mode == "L"
    assert max(thumb.size) == media.THUMB_SIDE
    assert thumb.size == (256, 128)
    pixels = np.asarray(thumb, dtype=float)
    # Random noise has a standard deviation near 74; the blur flattens it.
    assert pixels.std() < 5
    # Neighbouring pixels barely differ: no detail survives.
    assert np.abs(np.diff(pixels, axis=1)).max() < 5


@pytest.mark.parametrize("data", [b"", b"not an image", _noisy_rgb(10, 10)[:40]])
def test_undecodable_media_is_refused(data: bytes) -> None:
    with pytest.raises(MediaUndecodable):
        media.blurred_thumbnail(data)


def test_pixel_bombs_are_refused_before_decoding() -> None:
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG")
    raw = bytearray(buf.getvalue())
    # Rewrite the IHDR width and height to 20000 x 20000 (the CRC no longer matches, and
    # the size check runs before anything is decoded).
    raw[16:24] = (20000).to_bytes(4, "big") * 2
    with pytest.raises(MediaUndecodable):
        media.blurred_thumbnail(bytes(raw))
