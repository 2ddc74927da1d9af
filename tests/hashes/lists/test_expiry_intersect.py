"""The signed expiry and the manifest header fields, check_fresh, and frankly list
intersect (build and --verify) against hand-made source lists."""

from __future__ import annotations

import base64
from pathlib import Path

import nacl.signing
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from frankly.cli import main
from hashes.errors import ListExpired, ListExpiryMissing, ListFormatError
from hashes.lists import (
    HashList,
    TrustPolicy,
    build_list,
    check_fresh,
    load_list,
    parse_list,
    sign_list,
)
from hashes.lists.format import FLAG_EXPIRES, with_expiry
from hashes.lists.intersect import (
    IntersectionMismatch,
    Source,
    intersect_lists,
    verify_intersection,
)
from hashes.values import Algorithm

T0 = 1_767_225_600_000
KEYS = {j: nacl.signing.SigningKey(bytes([i + 1]) * 32) for i, j in enumerate(["US", "UK", "CA"])}


def _list(
    rows: list[bytes], cats: list[int], *, expires: int | None = None, lid: str = "x"
) -> HashList:
    return build_list(
        list_id=lid,
        version=1,
        issued_at_ms=T0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=("csam", "terror"),
        hashes=np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), 32),
        entry_categories=np.asarray(cats),
        expires_at_ms=expires,
    )


def test_a_list_without_expiry_is_byte_for_byte_the_old_format() -> None:
    plain = _list([bytes(32)], [0])
    data = plain.to_bytes()
    assert int.from_bytes(data[10:12], "big") == 0  # no new flag bits
    parsed = parse_list(data)[0]
    assert parsed.header.expires_at_ms is None
    assert parsed.header.manifest is None


@given(st.integers(T0 + 1, 2**64 - 1))
def test_expiry_round_trips_and_is_signed(expires: int) -> None:
    key = KEYS["US"]
    hash_list = _list([bytes(32)], [0], expires=expires)
    data = sign_list(hash_list, key)
    assert int.from_bytes(data[10:12], "big") & FLAG_EXPIRES
    parsed = load_list(data, TrustPolicy({"k": bytes(key.verify_key)}))
    assert parsed.header.expires_at_ms == expires
    assert parsed.digest != _list([bytes(32)], [0]).digest  # the expiry is in the digest
    check_fresh(parsed, expires - 1)
    with pytest.raises(ListExpired):
        check_fresh(parsed, expires)


def test_expiry_rules() -> None:
    with pytest.raises(ListFormatError):
        _list([bytes(32)], [0], expires=T0)  # not after issue
    forever = _list([bytes(32)], [0])
    check_fresh(forever, 2**63)
    with pytest.raises(ListExpiryMissing):
        check_fresh(forever, T0, require_expiry=True)
    assert with_expiry(forever, T0 + 5).header.expires_at_ms == T0 + 5


def _row(i: int) -> bytes:
    return bytes([i]) * 32


def _sources() -> list[Source]:
    us = _list([_row(1), _row(2), _row(3)], [0, 0, 1], lid="us")
    uk = _list([_row(2), _row(3), _row(4)], [0, 1, 1], lid="uk")
    ca = _list([_row(3), _row(5)], [0, 0], lid="ca")
    return [Source(us, "US"), Source(uk, "UK"), Source(ca, "CA")]


def test_intersection_keeps_entries_of_k_jurisdictions_and_verifies() -> None:
    sources = _sources()
    two = intersect_lists(sources, 2, list_id="both", version=1, issued_at_ms=T0, threshold=31)
    assert [two.hashes[i].tobytes() for i in range(len(two))] == [_row(2), _row(3)]
    assert [two.category(i) for i in range(len(two))] == ["csam", "terror"]  # majority
    verify_intersection(parse_list(two.to_bytes())[0], sources)
    three = intersect_lists(sources, 3, list_id="all", version=1, issued_at_ms=T0, threshold=31)
    assert len(three) == 1
    with pytest.raises(IntersectionMismatch):
        verify_intersection(two, sources[:2])  # another set of sources
    relabelled = [Source(sources[0].hash_list, "UK"), *sources[1:]]
    with pytest.raises(IntersectionMismatch):
        verify_intersection(two, relabelled)  # another jurisdiction declared
    same_place = [Source(s.hash_list, "US") for s in sources]
    with pytest.raises(ListFormatError):
        intersect_lists(same_place, 2, list_id="x", version=1, issued_at_ms=T0, threshold=31)


def test_a_result_with_an_entry_added_fails_verification() -> None:
    sources = _sources()
    two = intersect_lists(sources, 2, list_id="both", version=1, issued_at_ms=T0, threshold=31)
    extra = build_list(
        list_id="both",
        version=1,
        issued_at_ms=T0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=two.header.categories,
        hashes=np.vstack([two.hashes, np.frombuffer(_row(9), dtype=np.uint8)[None, :]]),
        entry_categories=np.asarray([*two.categories.tolist(), 0]),
        manifest=two.header.manifest,
    )
    with pytest.raises(IntersectionMismatch):
        verify_intersection(extra, sources)


def test_cli_intersect_build_sign_verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = []
    paths = []
    for s in _sources():
        key = KEYS[s.jurisdiction]
        path = tmp_path / f"{s.hash_list.header.list_id}.list"
        path.write_bytes(sign_list(s.hash_list, key))
        paths.append(str(path))
        lines.append(f"{base64.b64encode(bytes(key.verify_key)).decode()} {s.jurisdiction}")
    curators = tmp_path / "curators.txt"
    curators.write_text("# key jurisdiction\n" + "\n".join(lines) + "\n")
    out = tmp_path / "both.list"
    args = ["list", "intersect", *paths, "--curators", str(curators)]
    assert (
        main(
            [
                *args,
                "--min-sources",
                "2",
                "--out",
                str(out),
                "--list-id",
                "both",
                "--expires-in",
                "7",
            ]
        )
        == 0
    )
    assert "2 entries listed in at least 2 of 3 jurisdictions" in capsys.readouterr().out
    result = parse_list(out.read_bytes())[0]
    assert result.header.expires_at_ms == result.header.issued_at_ms + 7 * 86_400_000
    key_file = tmp_path / "k.key"
    assert main(["list", "keygen", str(key_file)]) == 0
    assert main(["list", "sign", str(out), "--key", str(key_file)]) == 0
    capsys.readouterr()
    assert main([*args, "--verify", str(out)]) == 0
    assert "OK both v1: 2 entries" in capsys.readouterr().out
    two_sources = ["list", "intersect", *paths[:2], "--curators", str(curators)]
    assert main([*two_sources, "--verify", str(out)]) == 1
    assert "IntersectionMismatch" in capsys.readouterr().err


def test_cli_expiry_on_build_sign_and_info(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hexes = tmp_path / "h.txt"
    hexes.write_text("ab" * 32 + "\n")
    out = tmp_path / "v1.list"
    assert (
        main(
            [
                "list",
                "build",
                str(out),
                "--list-id",
                "e",
                "--category",
                "csam",
                "--hex",
                str(hexes),
                "--issued-at-ms",
                str(T0),
            ]
        )
        == 0
    )
    key_file = tmp_path / "k.key"
    main(["list", "keygen", str(key_file)])
    pub = capsys.readouterr().out.split()[-1]
    assert (
        main(["list", "sign", str(out), "--key", str(key_file), "--expires-at", str(T0 + 1000)])
        == 0
    )
    assert parse_list(out.read_bytes())[0].header.expires_at_ms == T0 + 1000
    assert main(["list", "sign", str(out), "--key", str(key_file), "--expires-in", "1"]) == 1
    assert "signed already" in capsys.readouterr().err
    assert main(["list", "verify", str(out), "--trust", pub]) == 1  # expired long ago
    assert "ListExpired" in capsys.readouterr().err
    assert main(["list", "info", str(out)]) == 0
    assert f"({T0 + 1000} ms)" in capsys.readouterr().out


def test_the_leaf_of_a_list_carries_its_signed_expiry() -> None:
    from hashes.transparency.leaf import leaf_for_list, parse_leaf

    signed = parse_list(sign_list(_list([bytes(32)], [0], expires=T0 + 99), KEYS["US"]))[0]
    leaf = leaf_for_list(signed, T0 + 1)
    assert leaf.expires_at_ms == T0 + 99
    assert parse_leaf(leaf.to_bytes()).expires_at_ms == T0 + 99
    unsigned_forever = parse_list(sign_list(_list([bytes(32)], [0]), KEYS["US"]))[0]
    assert leaf_for_list(unsigned_forever, T0 + 1).expires_at_ms is None


@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 7), st.integers(0, 1)), max_size=8),
        min_size=2,
        max_size=4,
    ),
    st.integers(1, 4),
)
def test_intersection_equals_brute_force(raw: list[list[tuple[int, int]]], k: int) -> None:
    places = ["US", "UK", "CA", "US"]  # the fourth source shares a jurisdiction
    sources = []
    for n, entries in enumerate(raw):
        unique = dict(entries)  # one category per hash within a source
        rows = [_row(h) for h in unique]
        lst = _list(rows, list(unique.values()), lid=f"s{n}") if rows else None
        if lst is not None:
            sources.append(Source(lst, places[n]))
    distinct = len({s.jurisdiction for s in sources})
    if not sources or k > distinct:
        return
    result = intersect_lists(sources, k, list_id="r", version=1, issued_at_ms=T0, threshold=31)
    expected = {
        h
        for h in range(8)
        if len(
            {
                s.jurisdiction
                for s in sources
                if _row(h) in {r.tobytes() for r in s.hash_list.hashes}
            }
        )
        >= k
    }
    assert {result.hashes[i].tobytes() for i in range(len(result))} == {_row(h) for h in expected}
    verify_intersection(parse_list(result.to_bytes())[0], sources)


def test_a_source_signed_in_two_jurisdictions_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = _sources()[0].hash_list
    path = tmp_path / "both.list"
    path.write_bytes(sign_list(parse_list(sign_list(s, KEYS["US"]))[0], KEYS["UK"]))
    curators = tmp_path / "c.txt"
    curators.write_text(
        "".join(f"{base64.b64encode(bytes(k.verify_key)).decode()} {j}\n" for j, k in KEYS.items())
    )
    args = ["list", "intersect", str(path), str(path), "--curators", str(curators)]
    assert main([*args, "--min-sources", "1", "--list-id", "x", "--out", str(tmp_path / "o")]) == 1
    assert "2 declared jurisdictions" in capsys.readouterr().err


@given(st.text(min_size=1, max_size=60).filter(lambda t: len(t.encode()) <= 255), st.binary())
def test_peek_list_id_reads_the_header_only(list_id: str, junk: bytes) -> None:
    from hashes.lists.format import peek_list_id

    data = _list([bytes(32)], [0], lid=list_id).to_bytes()
    assert peek_list_id(data) == list_id == parse_list(data)[0].header.list_id
    with pytest.raises(ListFormatError):
        peek_list_id(b"FRKLIST\n" + junk[:20])
    with pytest.raises(ListFormatError):
        peek_list_id(junk[:7] + b"x" + data[8:])
