"""Hash banks: signed, chained versions; reload; trust; matching at intake."""

from __future__ import annotations

import hashlib
import os

import pytest
from nacl.signing import SigningKey
from sqlalchemy import select

from hashes.lists import TrustPolicy, build_list, load_list, sign_list
from hashes.values import Algorithm, HashValue
from report_service.banks import SERVICE_LIST_ID, HashBanks, hash_media
from report_service.demo import demo_image, near_copy
from report_service.errors import BankError
from report_service.storage.models import BankMatch, Media, ReviewItem

from .conftest import Service


def pdq_of(data: bytes) -> HashValue:
    facts, _ = hash_media(data, "image/jpeg")
    assert facts.pdq is not None
    return HashValue.from_hex(Algorithm.PDQ, facts.pdq)


def test_add_entry_signs_chains_and_persists(service: Service) -> None:
    banks: HashBanks = service.app.state.banks
    curator = service.keys.curator
    v1 = banks.add_entry(pdq_of(demo_image()), "csam", "e1", 1)
    v2 = banks.add_entry(pdq_of(demo_image(256)), "ncii", "e2", 2)
    assert (v1.version, v2.version) == (1, 2)
    data = banks.export()
    policy = TrustPolicy(curator_keys={"svc": curator.public_key})
    accepted = load_list(data, policy)
    assert accepted.header.previous_digest is not None
    assert len(accepted) == 2
    assert accepted.category(0) == "csam"
    assert accepted.entry_id(1) == "e2"
    # A fresh HashBanks over the same database sees the newest version.
    reloaded = HashBanks(service.app.state.session_factory, curator).load()
    assert reloaded.lists[SERVICE_LIST_ID].header.version == 2
    hits = reloaded.match([pdq_of(near_copy(demo_image()))])
    assert [h.category for h in hits] == ["csam"]
    assert hits[0].severity == 100


def test_untrusted_or_rolled_back_lists_are_refused(sqlite_service: Service) -> None:
    banks: HashBanks = sqlite_service.app.state.banks
    stranger = SigningKey(os.urandom(32))
    value = pdq_of(demo_image())
    unsigned = build_list(
        list_id="other",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=["x"],
        hashes=[value],
        entry_categories=[0],
    )
    with pytest.raises(BankError):
        banks.import_list(sign_list(unsigned, stranger), 0)
    banks.add_entry(value, "x", None, 1)
    old = banks.export()
    banks.add_entry(pdq_of(demo_image(300)), "x", None, 2)
    with pytest.raises(BankError):
        banks.import_list(old, 3)


def test_banking_the_same_hash_again_changes_nothing(service: Service) -> None:
    banks: HashBanks = service.app.state.banks
    value = pdq_of(demo_image())
    assert not banks.holds(value, "csam")
    v1 = banks.add_entry(value, "csam", "e1", 1)
    assert banks.holds(value, "csam")
    assert banks.add_entry(value, "csam", "e1-again", 2) == v1
    assert len(banks.lists[SERVICE_LIST_ID]) == 1
    # The same hash under another category is a new entry.
    assert not banks.holds(value, "ncii")
    assert banks.add_entry(value, "ncii", "e2", 3).version == 2


def test_intake_rehashes_media_and_routes_child_safety(service: Service) -> None:
    banks: HashBanks = service.app.state.banks
    banks.add_entry(pdq_of(demo_image()), "csam", "known-1", 1)
    picture = near_copy(demo_image())
    message = service.frank("alice", "bob", "look", attachments=[(picture, "image/jpeg")])
    digest = hashlib.sha256(picture).hexdigest()
    report = service.report("bob", [message], attachments={digest: picture})
    assert service.submit("bob", report).status_code == 201
    with service.app.state.session_factory() as session:
        media = session.scalars(select(Media)).one()
        assert media.sha256 == digest
        assert media.pdq is not None
        assert media.pdq_quality is not None
        match = session.scalars(select(BankMatch)).one()
        assert (match.category, match.entry_id, match.algorithm) == ("csam", "known-1", "pdq")
        item = session.scalars(select(ReviewItem)).one()
        assert item.child_safety is True
        assert item.queue == "child_safety"
        assert item.max_bank_severity == 100


def test_non_images_are_hashed_by_bytes_only() -> None:
    facts, values = hash_media(b"not a picture", "image/jpeg")
    assert facts.decode_error is not None
    assert facts.pdq is None
    assert [v.algorithm for v in values] == [Algorithm.SHA256]


def test_examine_matches_a_mirrored_copy_and_names_the_variant(sqlite_service: Service) -> None:
    """Regression (issue 15): the service matched the original orientation only."""
    import io

    from PIL import Image, ImageOps

    banks: HashBanks = sqlite_service.app.state.banks
    banks.add_entry(pdq_of(demo_image()), "csam", "e1", 1)
    mirrored = io.BytesIO()
    ImageOps.mirror(Image.open(io.BytesIO(demo_image()))).save(mirrored, "JPEG", quality=80)
    facts, hits = banks.examine(mirrored.getvalue(), "image/jpeg")
    assert facts.pdq is not None
    (hit,) = [h for h in hits if h.algorithm == "pdq"]
    assert (hit.entry_id, hit.category, hit.variant) == ("e1", "csam", "flipy")
    assert banks.match([HashValue.from_hex(Algorithm.PDQ, facts.pdq)]) == []
