"""How well matching survives the edits people really make, on the path a phone runs.

    .venv/bin/python benchmarks/robustness.py [--max-side 1024] [--no-exact]
        [--entries 100000] [--rounds 5]

Photographs: the scikit-image ones (``benchmarks/_photos.py``, textures left out) and the
Debian wallpaper photographs listed there with their package, author and licence (when
installed; nothing is downloaded or committed). Each is scaled to ``--max-side`` (what a
messenger sends) and sent as JPEG q=85: that file is what a curator lists
(``frankly list build --images``, fast path) and, on the exact path, ``hash_image(...,
fast=False)`` of it.

Each edit below is applied to the picture and the result is sent as JPEG q=85. The
device hashes those bytes exactly as ``Scanner.scan`` does (``hash_image(data,
variants=True)``: fast path, JPEG draft decode) and the best distance to each listed
picture is computed for:

- ``today``: the picture as received, against the listed hash (the old scanner);
- ``dihedral``: the 8 rotations and flips of the query (``hashes.variants``);
- ``+trim``: also the flat-border-trimmed query and its 8 variants (the new scanner);
- ``+augment``: the same query variants against a list that also holds the hashes of
  ``hashes.augment.STANDARD_EDITS`` of every picture (``frankly list build --augment``).

Recall is the share of pictures whose own entry is within the threshold. The scanner
itself is also run on every query (``scanner`` columns: a signed list, ``Scanner.scan``,
matched entry id) to check that the library numbers are the device's. False matches are
counted over every ordered pair of distinct pictures (a picture's variants against
another picture's entries) and over every edited query against every other picture, with
a one-sided 95 % Clopper-Pearson upper bound (for zero events, about 3 / n: the rule of
three). Finally the cost of ``Scanner.scan`` with variants is measured against the
scanner without them, interleaved, on the same bytes, against ``--entries`` random PDQ
hashes plus the pictures.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import nacl.signing
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._photos import WALLPAPERS, photograph_paths
from client_scan.scanner import Scanner
from hashes.augment import STANDARD_EDITS, augmented_hashes
from hashes.compute import hash_image
from hashes.lists import TrustPolicy, build_list, sign_list
from hashes.pdq import DIHEDRAL_NAMES
from hashes.values import Algorithm, HashValue

THRESHOLDS = {Algorithm.PDQ: 31, Algorithm.PHASH: 10, Algorithm.DHASH: 10}
SWEEP = {
    Algorithm.PDQ: (16, 24, 31, 40, 48, 56, 64),
    Algorithm.PHASH: (4, 6, 8, 10, 12, 14),
    Algorithm.DHASH: (4, 6, 8, 10, 12, 14),
}
SENT_QUALITY = 85
KEY = nacl.signing.SigningKey(hashlib.sha256(b"robustness").digest())
POLICY = TrustPolicy({"bench": bytes(KEY.verify_key)})

Edit = Callable[[Image.Image], Image.Image]


def jpeg(im: Image.Image, quality: int = SENT_QUALITY) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def reencode_chain(im: Image.Image) -> Image.Image:
    """Three forwards: each scales to 90 % and recompresses at quality 75."""
    for _ in range(3):
        im = im.resize((round(im.width * 0.9), round(im.height * 0.9)), Image.Resampling.BILINEAR)
        im = Image.open(io.BytesIO(jpeg(im, 75))).convert("RGB")
    return im


def crop(left: float, top: float, right: float, bottom: float) -> Edit:
    def edit(im: Image.Image) -> Image.Image:
        w, h = im.width, im.height
        return im.crop(
            (round(w * left), round(h * top), w - round(w * right), h - round(h * bottom))
        )

    return edit


def square(im: Image.Image) -> Image.Image:
    side = min(im.width, im.height)
    left, top = (im.width - side) // 2, (im.height - side) // 2
    return im.crop((left, top, left + side, top + side))


def rotate(degrees: float) -> Edit:
    return lambda im: im.rotate(degrees, Image.Resampling.BICUBIC, expand=False)


def letterbox(im: Image.Image) -> Image.Image:
    """Pad to 16:9 (9:16 for portrait) with black bars, as video apps do."""
    if im.width >= im.height:
        width, height = max(im.width, round(im.height * 16 / 9)), im.height
        if width == im.width:
            height = round(im.width * 9 / 16)
    else:
        width, height = im.width, max(im.height, round(im.width * 16 / 9))
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    canvas.paste(im, ((width - im.width) // 2, (height - im.height) // 2))
    return canvas


def _phone(im: Image.Image, background: tuple[int, int, int]) -> tuple[Image.Image, int]:
    """A 9:19.5 portrait screen with the picture across its width, centred."""
    width = 720
    height = round(width * 19.5 / 9)
    picture = im.resize((width, max(1, round(im.height * width / im.width))))
    if picture.height > height * 0.8:
        picture = im.resize((round(im.width * height * 0.8 / im.height), round(height * 0.8)))
    canvas = Image.new("RGB", (width, height), background)
    top = (height - picture.height) // 2
    canvas.paste(picture, ((width - picture.width) // 2, top))
    return canvas, top


def with_borders(im: Image.Image) -> Image.Image:
    """The picture on a plain phone screen (a screenshot cropped to the viewer)."""
    return _phone(im, (246, 246, 246))[0]


def screenshot(im: Image.Image) -> Image.Image:
    """A full chat screenshot: status bar, header, the picture, a message and input bar."""
    canvas, top = _phone(im, (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=26)
    draw.rectangle((0, 0, canvas.width, 50), fill=(20, 20, 20))
    draw.text((20, 10), "12:41      4G  87%", fill=(255, 255, 255), font=font)
    draw.rectangle((0, 50, canvas.width, 150), fill=(30, 110, 200))
    draw.text((90, 80), "Alex  online", fill=(255, 255, 255), font=font)
    draw.text((40, top - 60), "look at this", fill=(30, 30, 30), font=font)
    bottom = canvas.height - 110
    draw.rectangle((0, bottom, canvas.width, canvas.height), fill=(235, 235, 235))
    draw.rounded_rectangle((20, bottom + 20, canvas.width - 110, bottom + 90), 30, fill="white")
    draw.text((50, bottom + 40), "Message", fill=(150, 150, 150), font=font)
    draw.ellipse(
        (canvas.width - 90, bottom + 20, canvas.width - 20, bottom + 90), fill=(30, 110, 200)
    )
    return canvas


def caption(im: Image.Image) -> Image.Image:
    """A meme caption: a white band above the picture with bold black text."""
    band = max(40, im.height // 6)
    canvas = Image.new("RGB", (im.width, im.height + band), (255, 255, 255))
    canvas.paste(im, (0, band))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=band // 2)
    draw.text((im.width * 0.05, band * 0.2), "WHEN THE FRIDAY HITS", fill=(0, 0, 0), font=font)
    return canvas


def watermark(im: Image.Image) -> Image.Image:
    out = im.copy()
    draw = ImageDraw.Draw(out)
    size = max(12, im.height // 12)
    font = ImageFont.load_default(size=size)
    draw.text(
        (im.width * 0.05, im.height - 2 * size),
        "@frankly_demo 2026",
        fill=(255, 255, 255),
        font=font,
        stroke_width=2,
        stroke_fill=(0, 0, 0),
    )
    return out


EDITS: list[tuple[str, Edit]] = [
    ("unedited (sent again)", lambda im: im),
    ("re-encode chain (3 x 90% + q75)", reencode_chain),
    ("resize 0.5", lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)),
    ("brightness +20%", lambda im: ImageEnhance.Brightness(im).enhance(1.2)),
    ("mirror (left-right)", ImageOps.mirror),
    ("flip (top-bottom)", ImageOps.flip),
    ("rotate 90", lambda im: im.transpose(Image.Transpose.ROTATE_270)),
    ("rotate 180", lambda im: im.transpose(Image.Transpose.ROTATE_180)),
    ("rotate 270", lambda im: im.transpose(Image.Transpose.ROTATE_90)),
    ("letterbox 16:9", letterbox),
    ("picture with flat borders", with_borders),
    ("crop left 5%", crop(0.05, 0, 0, 0)),
    ("crop left 10%", crop(0.10, 0, 0, 0)),
    ("crop top 5%", crop(0, 0.05, 0, 0)),
    ("crop 5% (centre)", crop(0.025, 0.025, 0.025, 0.025)),
    ("crop 10% (centre)", crop(0.05, 0.05, 0.05, 0.05)),
    ("square centre crop", square),
    ("rotate 2 degrees", rotate(2)),
    ("rotate -2 degrees", rotate(-2)),
    ("rotate 5 degrees", rotate(5)),
    # Off the augmentation grid: edits that no augmented entry reproduces exactly.
    ("off-grid: crop left 3%", crop(0.03, 0, 0, 0)),
    ("off-grid: crop right 4% + bottom 6%", crop(0, 0, 0.04, 0.06)),
    ("off-grid: crop 7% (centre)", crop(0.035, 0.035, 0.035, 0.035)),
    ("off-grid: rotate 1 degree", rotate(1)),
    ("off-grid: rotate -3 degrees", rotate(-3)),
    ("text watermark", watermark),
    ("meme caption", caption),
    ("screenshot with interface", screenshot),
]
TARGETS = {
    "mirror (left-right)": 0.97,
    "flip (top-bottom)": 0.97,
    "rotate 90": 0.97,
    "rotate 180": 0.97,
    "rotate 270": 0.97,
    "letterbox 16:9": 0.97,
    "picture with flat borders": 0.97,
    "crop 5% (centre)": 0.90,
    "crop left 5%": 0.90,
    "rotate 2 degrees": 0.90,
}
AUGMENT_SETS: list[tuple[str, tuple[str, ...]]] = [
    ("none", ()),
    ("one-sided crops 5%", ("crop_left_5", "crop_right_5", "crop_top_5", "crop_bottom_5")),
    (
        "+ centre crops 5%, 10%",
        (
            "crop_left_5",
            "crop_right_5",
            "crop_top_5",
            "crop_bottom_5",
            "crop_centre_5",
            "crop_centre_10",
        ),
    ),
    ("+ rotations +-2", tuple(e.name for e in STANDARD_EDITS if e.name != "square")),
    ("all (+ square)", tuple(e.name for e in STANDARD_EDITS)),
]
ENTRY_NAMES = ("original", *(e.name for e in STANDARD_EDITS))
TRIM_NAMES = ("trimmed", *(f"trimmed+{n}" for n in DIHEDRAL_NAMES[1:]))
MODES: dict[str, tuple[str, ...]] = {
    "today": ("original",),
    "dihedral": DIHEDRAL_NAMES,
    "+trim": (*DIHEDRAL_NAMES, *TRIM_NAMES),
}


def load_photos(max_side: int) -> dict[str, Image.Image]:
    photos = {}
    for path in photograph_paths():
        with Image.open(path) as im:
            im.draft("RGB", (max_side, max_side))
            rgb = im.convert("RGB")
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        photos[path.name] = rgb
    return photos


def _matrix(values: Sequence[HashValue | None], nbytes: int) -> npt.NDArray[np.uint8]:
    """Rows of digests; a missing value is all ones and never within a threshold of a
    real hash by accident (it is masked anyway)."""
    rows = [v.digest if v is not None else b"\xff" * nbytes for v in values]
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), nbytes)


def _distances(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    out: npt.NDArray[np.int64] = np.bitwise_count(a[:, None, :] ^ b[None, :, :]).sum(
        axis=2, dtype=np.int64
    )
    return out


def upper_bound(k: int, n: int) -> float:
    """One-sided 95 % Clopper-Pearson upper bound of a rate seen k times in n."""
    if n == 0:
        return 1.0
    if k == 0:
        return float(1 - 0.05 ** (1 / n))
    from scipy.stats import beta

    return float(beta.ppf(0.95, k + 1, n - k))


def best_distances(
    queries: Sequence[Mapping[str, Mapping[Algorithm, HashValue]]],
    entries: Sequence[Mapping[str, HashValue]],
    algorithm: Algorithm,
    query_names: Sequence[str],
    entry_names: Sequence[str],
) -> npt.NDArray[np.int64]:
    """[query, picture] best distance over the query's ``query_names`` variants and the
    picture's ``entry_names`` entries (a huge distance where none exists)."""
    nbytes = algorithm.bits // 8
    n_entry = len(entry_names)
    flat = [e.get(name) for e in entries for name in entry_names]
    table = _matrix(flat, nbytes)
    present = np.array([v is not None for v in flat]).reshape(len(entries), n_entry)
    out = np.full((len(queries), len(entries)), 10**6, dtype=np.int64)
    for qi, query in enumerate(queries):
        values = [query[n][algorithm] for n in query_names if n in query and algorithm in query[n]]
        if not values:
            continue
        d = _distances(_matrix(values, nbytes), table).min(axis=0).reshape(len(entries), n_entry)
        d = np.where(present, d, 10**6)
        out[qi] = d.min(axis=1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-side", type=int, default=1024)
    parser.add_argument("--no-exact", action="store_true", help="skip the exact (slow) path")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()

    photos = load_photos(args.max_side)
    names = list(photos)
    n = len(names)
    installed = {Path(w.path).name for w in WALLPAPERS if Path(w.path).is_file()}
    print(
        f"# Matching robustness on {n} photographs ({n - len(installed)} scikit-image, "
        f"{len(installed)} Debian wallpapers), longest side {args.max_side}, "
        f"sent as JPEG q={SENT_QUALITY}\n"
    )
    sent = {name: jpeg(im) for name, im in photos.items()}
    algorithms = tuple(THRESHOLDS)

    # The curator's entries: the sent picture (fast path) and its augmented edits.
    entries_fast: list[dict[Algorithm, dict[str, HashValue]]] = []
    for name in names:
        per_alg = {a: dict(augmented_hashes(sent[name], a)) for a in algorithms}
        entries_fast.append(per_alg)
    entries_exact = [
        {"original": hash_image(sent[name], [Algorithm.PDQ], fast=False)[Algorithm.PDQ]}
        for name in names
    ]

    # The device's queries: every edit of every picture, sent as JPEG, hashed as the scanner does.
    edit_bytes: list[list[bytes]] = []
    fast_q: list[list[Mapping[str, Mapping[Algorithm, HashValue]]]] = []
    exact_q: list[list[Mapping[str, Mapping[Algorithm, HashValue]]]] = []
    for _, edit in EDITS:
        row_bytes, row_fast, row_exact = [], [], []
        for name in names:
            data = jpeg(edit(photos[name]))
            row_bytes.append(data)
            result = hash_image(data, algorithms, variants=True)
            assert result.variants is not None
            row_fast.append(result.variants)
            if not args.no_exact:
                exact = hash_image(data, [Algorithm.PDQ], fast=False, variants=True)
                assert exact.variants is not None
                row_exact.append(exact.variants)
        edit_bytes.append(row_bytes)
        fast_q.append(row_fast)
        exact_q.append(row_exact)
    print(f"(hashed {len(EDITS) * n} edited copies in {time.perf_counter() - started:.0f} s)\n")

    # distances[(algorithm, mode, augment set)] -> [edit, query picture, listed picture]
    def dist(
        queries: list[list[Mapping[str, Mapping[Algorithm, HashValue]]]],
        entries: Sequence[Mapping[str, HashValue]],
        algorithm: Algorithm,
        mode: tuple[str, ...],
        entry_names: tuple[str, ...],
    ) -> npt.NDArray[np.int64]:
        return np.stack(
            [best_distances(row, entries, algorithm, mode, entry_names) for row in queries]
        )

    plain = ("original",)
    full_aug = ENTRY_NAMES
    results: dict[tuple[str, str, str], npt.NDArray[np.int64]] = {}
    for algorithm in algorithms:
        entries = [e[algorithm] for e in entries_fast]
        for mode, qnames in MODES.items():
            results[(algorithm.value, mode, "fast")] = dist(
                fast_q, entries, algorithm, qnames, plain
            )
        results[(algorithm.value, "+augment", "fast")] = dist(
            fast_q, entries, algorithm, MODES["+trim"], full_aug
        )
    if not args.no_exact:
        for mode in ("today", "+trim"):
            results[("pdq", mode, "exact")] = dist(
                exact_q, entries_exact, Algorithm.PDQ, MODES[mode], plain
            )

    # The device path itself: signed lists, Scanner.scan on the bytes, the matched entry id.
    scanner_recall: dict[str, list[int]] = {}
    for label, augment in (("scanner +trim", False), ("scanner +augment", True)):
        rows, ids = [], []
        for name, per_alg in zip(names, entries_fast, strict=True):
            chosen = full_aug if augment else plain
            for entry in chosen:
                rows.append(per_alg[Algorithm.PDQ][entry])
                ids.append(name)
        hash_list = build_list(
            list_id=label.replace(" ", "-").replace("+", ""),
            version=1,
            issued_at_ms=0,
            algorithm=Algorithm.PDQ,
            threshold=31,
            categories=["bench"],
            hashes=rows,
            entry_categories=[0] * len(rows),
            entry_ids=ids,
        )
        scanner = Scanner(POLICY)
        scanner.load_list(sign_list(hash_list, KEY))
        hits = []
        wrong = 0
        for e in range(len(EDITS)):
            count = 0
            for qi, name in enumerate(names):
                matched = {m.entry_id for m in scanner.scan(edit_bytes[e][qi]).matches}
                count += name in matched
                wrong += len(matched - {name})
            hits.append(count)
        scanner_recall[label] = hits
        scanner_recall[label + " wrong"] = [wrong]

    # Recall per edit.
    for algorithm in algorithms:
        t = THRESHOLDS[algorithm]
        print(f"## Recall per edit: {algorithm.value} <= {t} (n={n} per edit)\n")
        cols = [("today", "fast"), ("dihedral", "fast"), ("+trim", "fast"), ("+augment", "fast")]
        if algorithm is Algorithm.PDQ and not args.no_exact:
            cols += [("today", "exact"), ("+trim", "exact")]
        header = [f"{mode} ({path})" for mode, path in cols]
        if algorithm is Algorithm.PDQ:
            header += ["scanner +trim", "scanner +augment", "target"]
        print("| edit | " + " | ".join(header) + " |")
        print("| --- |" + " ---: |" * len(header))
        for e, (label, _) in enumerate(EDITS):
            cells = []
            for mode, path in cols:
                d = results[(algorithm.value, mode, path)][e]
                cells.append(f"{int(np.sum(np.diag(d) <= t))}/{n}")
            if algorithm is Algorithm.PDQ:
                cells += [
                    f"{scanner_recall['scanner +trim'][e]}/{n}",
                    f"{scanner_recall['scanner +augment'][e]}/{n}",
                ]
                target = TARGETS.get(label)
                cells.append(f">= {target:.0%}" if target else "")
            print(f"| {label} | " + " | ".join(cells) + " |")
        print()
    print(
        "Scanner matches naming another picture's entry id (all edits, PDQ <= 31): "
        f"+trim {scanner_recall['scanner +trim wrong'][0]}, "
        f"+augment {scanner_recall['scanner +augment wrong'][0]}\n"
    )

    # List size against recall.
    print(
        "## Augmented entries: list size against recall (PDQ <= 31, fast path, query variants on)\n"
    )
    focus = [
        "off-grid: crop left 3%",
        "off-grid: crop 7% (centre)",
        "off-grid: rotate 1 degree",
        "off-grid: rotate -3 degrees",
        "crop left 5%",
        "crop left 10%",
        "crop top 5%",
        "crop 5% (centre)",
        "crop 10% (centre)",
        "square centre crop",
        "rotate 2 degrees",
        "rotate -2 degrees",
        "rotate 5 degrees",
    ]
    print(
        "| entries added per picture | hashes per picture | " + " | ".join(focus) + " | all edits |"
    )
    print("| --- | ---: |" + " ---: |" * (len(focus) + 1))
    labels = [label for label, _ in EDITS]
    entries_pdq = [e[Algorithm.PDQ] for e in entries_fast]
    for set_name, extra in AUGMENT_SETS:
        d = dist(fast_q, entries_pdq, Algorithm.PDQ, MODES["+trim"], ("original", *extra))
        recall = [int(np.sum(np.diag(d[labels.index(f)]) <= 31)) for f in focus]
        total = sum(int(np.sum(np.diag(d[e]) <= 31)) for e in range(len(EDITS)))
        print(
            f"| {set_name} | {1 + len(extra)} | "
            + " | ".join(f"{r}/{n}" for r in recall)
            + f" | {total}/{n * len(EDITS)} |"
        )
    print()

    # False matches among distinct pictures, at each threshold.
    off = ~np.eye(n, dtype=bool)
    print("## False matches among distinct pictures\n")
    print(
        "Unedited: each picture's query variants against every *other* picture's entries "
        f"(ordered pairs, n = {n * (n - 1)}). All edits: every edited copy against every other "
        f"picture (n = {len(EDITS) * n * (n - 1)}). Upper bound: one-sided 95 % Clopper-Pearson.\n"
    )
    print(
        "| hash | mode | threshold | unedited: false / pairs | upper bound "
        "| all edits: false / pairs | upper bound | recall, all edits "
        "| smallest distinct distance |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for algorithm in algorithms:
        for mode in ("today", "+trim", "+augment"):
            d = results[(algorithm.value, mode, "fast")]
            unedited = d[0][off]
            everything = np.concatenate([d[e][off] for e in range(len(EDITS))])
            own = np.concatenate([np.diag(d[e]) for e in range(len(EDITS))])
            for t in SWEEP[algorithm]:
                k1, n1 = int(np.sum(unedited <= t)), int(unedited.size)
                k2, n2 = int(np.sum(everything <= t)), int(everything.size)
                own_hits = int(np.sum(own <= t))
                print(
                    f"| {algorithm.value} | {mode} | {t} | {k1}/{n1} | {upper_bound(k1, n1):.2%} | "
                    f"{k2}/{n2} | {upper_bound(k2, n2):.3%} | {own_hits}/{own.size} "
                    f"| {int(everything.min())} |"
                )
    print()

    # Agreement of two algorithms: PDQ and pHash both within their thresholds.
    print("## Requiring two algorithms to agree (fast path, +trim queries, plain entries)\n")
    print("| rule | recall, all edits | false, all edits (pairs) |")
    print("| --- | ---: | ---: |")
    p, h = results[("pdq", "+trim", "fast")], results[("phash", "+trim", "fast")]
    for rule, tp, th in (
        ("PDQ <= 31", 31, None),
        ("pHash <= 10", None, 10),
        ("PDQ <= 31 and pHash <= 10", 31, 10),
        ("PDQ <= 48 and pHash <= 12", 48, 12),
        ("PDQ <= 56 and pHash <= 14", 56, 14),
    ):
        ok = np.ones_like(p, dtype=bool)
        if tp is not None:
            ok &= p <= tp
        if th is not None:
            ok &= h <= th
        agreed = sum(int(np.sum(np.diag(ok[e]))) for e in range(len(EDITS)))
        false = sum(int(np.sum(ok[e][off])) for e in range(len(EDITS)))
        print(f"| {rule} | {agreed}/{len(EDITS) * n} | {false}/{len(EDITS) * n * (n - 1)} |")
    print()

    # Scan cost with and without variants, interleaved.
    rng = np.random.default_rng(5)
    random_rows = rng.integers(0, 256, (args.entries, 32), dtype=np.uint8)
    own_rows = np.stack(
        [np.frombuffer(e[Algorithm.PDQ]["original"].digest, dtype=np.uint8) for e in entries_fast]
    )
    big = build_list(
        list_id="cost",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=["bench"],
        hashes=np.vstack([random_rows, own_rows]),
        entry_categories=np.zeros(args.entries + n, dtype=np.int64),
    )
    signed = sign_list(big, KEY)

    def plain_hasher(data: bytes, algs: Sequence[Algorithm]) -> object:
        return hash_image(data, tuple(algs))

    with_variants = Scanner(POLICY)
    without = Scanner(POLICY, hasher=plain_hasher)  # type: ignore[arg-type]
    with_variants.load_list(signed)
    without.load_list(signed)
    sample = [edit_bytes[e][i] for e in (0, 4, 9, 11) for i in range(n)]
    ratios, per_with, per_without = [], [], []
    for _ in range(args.rounds):
        t_with = t_without = 0.0
        for data in sample:
            start = time.perf_counter()
            without.scan(data)
            t_without += time.perf_counter() - start
            start = time.perf_counter()
            with_variants.scan(data)
            t_with += time.perf_counter() - start
        ratios.append(t_with / t_without)
        per_with.append(1000 * t_with / len(sample))
        per_without.append(1000 * t_without / len(sample))
    print(
        f"## Scan cost on the device (Scanner.scan, {len(sample)} JPEGs, "
        f"list of {args.entries + n} PDQ, "
        f"{args.rounds} interleaved rounds)\n"
    )
    print("| | min | median | max |\n| --- | ---: | ---: | ---: |")
    print(
        f"| without variants, ms per image | {min(per_without):.1f} "
        f"| {statistics.median(per_without):.1f} | {max(per_without):.1f} |"
    )
    print(
        f"| with variants + trim, ms per image | {min(per_with):.1f} "
        f"| {statistics.median(per_with):.1f} | {max(per_with):.1f} |"
    )
    print(
        f"| ratio (with / without) | {min(ratios):.2f}x "
        f"| {statistics.median(ratios):.2f}x | {max(ratios):.2f}x |"
    )
    print(f"\n(Python {sys.version.split()[0]}, {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
