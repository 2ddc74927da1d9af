"""Query variants: dihedral names, flat-border trimming, and matching on any variant."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from hashes.compute import hash_image
from hashes.decode import decode_image
from hashes.errors import HashFormatError
from hashes.index import brute_force_range_search
from hashes.lists import build_list
from hashes.matching import Matcher
from hashes.pdq import DIHEDRAL_NAMES, pdq_dihedral, pdq_hash
from hashes.values import Algorithm, HashValue
from hashes.variants import _TRANSPOSE, TrimBox, TrimPolicy, flat_border, variant_hashes

from .imaging_support import encode


def _smooth_photo(seed: int) -> Image.Image:
    """Blurred random cells: structure at PDQ's scale, no flat rows or columns."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, (18, 24, 3), dtype=np.uint8)
    return Image.fromarray(cells).resize((320, 240), Image.Resampling.BICUBIC)


PICTURE = _smooth_photo(3)


def _luma(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("F"))


def _pad(
    image: Image.Image, top: int, bottom: int, left: int, right: int, colour: int
) -> Image.Image:
    canvas = Image.new(
        "RGB", (image.width + left + right, image.height + top + bottom), (colour,) * 3
    )
    canvas.paste(image, (left, top))
    return canvas


def _list_of(*values: HashValue) -> Matcher:
    hash_list = build_list(
        list_id="l",
        version=1,
        issued_at_ms=0,
        algorithm=values[0].algorithm,
        threshold=31 if values[0].algorithm is Algorithm.PDQ else 10,
        categories=["c"],
        hashes=list(values),
        entry_categories=[0] * len(values),
        entry_ids=[f"e{i}" for i in range(len(values))],
    )
    return Matcher(hash_list)


def test_transpose_names_are_pdqs_dihedral_names() -> None:
    """Each PIL transpose used for pHash/dHash is the one PDQ's variant of that name means."""
    pixels = np.asarray(PICTURE)
    variants = pdq_dihedral(pixels)
    for name, op in _TRANSPOSE.items():
        rehashed, _ = pdq_hash(np.asarray(PICTURE.transpose(op)))
        nearest = min(DIHEDRAL_NAMES, key=lambda n: variants[n].distance(rehashed))
        assert nearest == name
        assert variants[name].distance(rehashed) <= 31


@settings(max_examples=40, deadline=None)
@given(
    top=st.integers(0, 60),
    bottom=st.integers(0, 60),
    left=st.integers(0, 80),
    right=st.integers(0, 80),
    colour=st.integers(0, 255),
)
def test_flat_border_finds_exactly_the_added_border(
    top: int, bottom: int, left: int, right: int, colour: int
) -> None:
    padded = _pad(PICTURE, top, bottom, left, right, colour)
    box = flat_border(_luma(padded))
    policy = TrimPolicy()

    def kept(cut: int, side: int) -> int:
        return cut if cut >= np.ceil(policy.min_border * side) else 0

    expected = (
        kept(top, padded.height),
        kept(bottom, padded.height),
        kept(left, padded.width),
        kept(right, padded.width),
    )
    if expected == (0, 0, 0, 0):
        assert box is None
    else:
        assert box == TrimBox(*expected)


def test_no_border_means_no_trimmed_variant_and_unchanged_hashes() -> None:
    data = encode(PICTURE, "JPEG", quality=90)
    plain = hash_image(data, ["pdq", "phash", "dhash"])
    result = hash_image(data, ["pdq", "phash", "dhash"], variants=True)
    assert result.variants is not None
    assert tuple(result.variants) == DIHEDRAL_NAMES
    assert dict(result.variants["original"]) == dict(plain.hashes)
    assert result.hashes == plain.hashes


@pytest.mark.parametrize(
    "name", ["hubble_deep_field.jpg", "retina.jpg", "moon.png", "coins.png", "astronaut.png"]
)
def test_real_dark_or_bright_edges_are_not_trimmed(name: str) -> None:
    """Photographs whose edges are genuinely dark (night sky, a fundus image's black
    surround) or bright keep their content: their edges vary by more than the tolerance."""
    skimage = pytest.importorskip("skimage")
    from pathlib import Path

    path = Path(skimage.__file__).resolve().parent / "data" / name
    decoded = decode_image(path.read_bytes(), draft_size=(256, 256))
    assert flat_border(_luma(decoded.image)) is None


def test_uniform_thin_and_huge_borders_are_left_alone() -> None:
    assert flat_border(np.full((200, 300), 17.0)) is None  # nothing would remain
    framed = _pad(PICTURE, 1, 1, 1, 1, 0)  # a one-pixel frame is thinner than 2 %
    assert flat_border(_luma(framed)) is None
    sliver = _pad(PICTURE.resize((320, 20)), 300, 300, 0, 0, 255)  # under 20 % remains
    assert flat_border(_luma(sliver)) is None
    with pytest.raises(HashFormatError):
        flat_border(np.zeros((4, 4, 3)))
    with pytest.raises(HashFormatError):
        TrimPolicy(min_border=0)


def test_trimmed_variant_of_a_letterboxed_copy_matches_the_original() -> None:
    original = hash_image(encode(PICTURE, "PNG"), ["pdq"])[Algorithm.PDQ]
    letterboxed = _pad(PICTURE, 0, 0, 93, 93, 0)  # 4:3 -> 16:9 with black bars
    result = hash_image(encode(letterboxed, "JPEG", quality=85), ["pdq"], variants=True)
    assert result.variants is not None
    assert "trimmed" in result.variants
    (match,) = _list_of(original).match_variants(
        {n: h[Algorithm.PDQ] for n, h in result.variants.items()}
    )
    assert match.variant == "trimmed"
    assert match.distance <= 31
    assert _list_of(original).match(result[Algorithm.PDQ]) == []  # the original misses


@pytest.mark.parametrize("algorithm", [Algorithm.PDQ, Algorithm.PHASH, Algorithm.DHASH])
@pytest.mark.parametrize(
    ("edit", "variant"),
    [
        (ImageOps.mirror, "flipy"),
        (ImageOps.flip, "flipx"),
        (lambda im: im.transpose(Image.Transpose.ROTATE_270), "rotate90"),
        (lambda im: im.transpose(Image.Transpose.ROTATE_90), "rotate270"),
    ],
)
def test_mirrors_and_rotations_match_through_the_named_variant(
    algorithm: Algorithm, edit: object, variant: str
) -> None:
    assert callable(edit)
    original = hash_image(encode(PICTURE, "PNG"), [algorithm])[algorithm]
    edited = hash_image(encode(edit(PICTURE), "JPEG", quality=85), [algorithm], variants=True)
    assert edited.variants is not None
    matches = _list_of(original).match_variants(
        [(n, h[algorithm]) for n, h in edited.variants.items()]
    )
    assert [m.variant for m in matches] == [variant]


@settings(max_examples=60, deadline=None)
@given(
    entries=st.lists(st.binary(min_size=8, max_size=8), min_size=1, max_size=30),
    queries=st.lists(st.binary(min_size=8, max_size=8), min_size=1, max_size=5),
    threshold=st.integers(0, 64),
)
def test_match_variants_is_the_nearest_variant_per_entry(
    entries: list[bytes], queries: list[bytes], threshold: int
) -> None:
    values = [HashValue(Algorithm.PHASH, e) for e in entries]
    matcher = _list_of(*values)
    named = [(f"v{i}", HashValue(Algorithm.PHASH, q)) for i, q in enumerate(queries)]
    got = matcher.match_variants(named, threshold)
    rows = np.frombuffer(b"".join(entries), dtype=np.uint8).reshape(-1, 8)
    best: dict[int, tuple[int, int]] = {}
    for i, q in enumerate(queries):
        for position, distance in brute_force_range_search(rows, q, threshold).pairs():
            if position not in best or distance < best[position][0]:
                best[position] = (distance, i)
    expected = sorted((d, p, f"v{i}") for p, (d, i) in best.items())
    assert [(m.distance, m.position, m.variant) for m in got] == expected


def test_variant_hashes_ignores_byte_hashes_and_exact_path_agrees() -> None:
    data = encode(_pad(PICTURE, 40, 40, 0, 0, 255), "PNG")
    decoded = decode_image(data)
    assert variant_hashes(decoded, [Algorithm.SHA256]) == {}
    exact = variant_hashes(decoded, [Algorithm.PDQ], fast=False)
    fast = variant_hashes(decoded, [Algorithm.PDQ], fast=True)
    assert set(exact) == set(fast)
    assert "trimmed" in exact
    reference, _ = pdq_hash(np.asarray(PICTURE))
    assert exact["trimmed"][Algorithm.PDQ] == reference  # the exact crop, bit for bit


def test_jpeg_bytes_of_a_bordered_picture_trim_on_the_fast_path() -> None:
    bordered = _pad(PICTURE, 120, 120, 0, 0, 250)  # a picture inside a white screenshot
    data = io.BytesIO()
    bordered.resize((bordered.width * 4, bordered.height * 4)).save(data, "JPEG", quality=80)
    result = hash_image(data.getvalue(), ["pdq"], variants=True)
    assert result.variants is not None
    assert "trimmed" in result.variants
    original = hash_image(encode(PICTURE, "PNG"), ["pdq"])[Algorithm.PDQ]
    assert result.variants["trimmed"][Algorithm.PDQ].distance(original) <= 31


def test_entries_sharing_an_id_are_one_match_through_the_nearest() -> None:
    near = HashValue(Algorithm.PHASH, bytes.fromhex("ffff0000ffff0003"))
    nearer = HashValue(Algorithm.PHASH, bytes.fromhex("ffff0000ffff0001"))
    other = HashValue(Algorithm.PHASH, bytes.fromhex("ffff0000ffff0007"))
    hash_list = build_list(
        list_id="l",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PHASH,
        threshold=10,
        categories=["c"],
        hashes=[near, nearer, other, other],
        entry_categories=[0, 0, 0, 0],
        entry_ids=["pic", "pic", None, None],
    )
    query = HashValue(Algorithm.PHASH, bytes.fromhex("ffff0000ffff0000"))
    got = Matcher(hash_list).match_variants({"original": query})
    # "pic" once, through its nearer hash; entries without an id stay separate.
    assert [(m.entry_id, m.position, m.distance) for m in got] == [
        ("pic", 1, 1),
        (None, 2, 3),
        (None, 3, 3),
    ]
    assert len(Matcher(hash_list).match(query)) == 4  # plain match is unchanged


@settings(max_examples=15, deadline=None)
@given(
    vertical=st.booleans(),
    share=st.floats(0.1, 0.6),
    colour=st.sampled_from([0, 16, 128, 240, 255]),
)
def test_any_plain_border_sent_as_jpeg_is_trimmed_back_to_a_match(
    vertical: bool, share: float, colour: int
) -> None:
    """Bars of any plain colour, on two opposite sides, survive JPEG and the fast path."""
    bar = round((PICTURE.height if vertical else PICTURE.width) * share / 2)
    padded = _pad(PICTURE, *((bar, bar, 0, 0) if vertical else (0, 0, bar, bar)), colour)
    original = hash_image(encode(PICTURE, "PNG"), ["pdq"])[Algorithm.PDQ]
    result = hash_image(encode(padded, "JPEG", quality=85), ["pdq"], variants=True)
    assert result.variants is not None
    assert "trimmed" in result.variants
    assert result.variants["trimmed"][Algorithm.PDQ].distance(original) <= 31
