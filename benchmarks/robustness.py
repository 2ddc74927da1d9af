"""How well PDQ, pHash and dHash survive everyday edits, on real photographs.

    python benchmarks/robustness.py

For every photograph bundled with scikit-image (no download), each edit below is applied,
the edited picture is hashed through the library's default (fast) path exactly as an app
would, and the Hamming distance to the unedited picture's hash is recorded. Recall is the
share of photographs still matched at the usual thresholds: PDQ <= 31 (ThreatExchange's
recommendation), pHash <= 10 and dHash <= 10. For mirrors PDQ is also given the best of
its eight dihedral variants (the query's variants against the original's hash), which is
how a matcher finds flipped copies; pHash and dHash have no such variants. The last table
gives the smallest distance between two *different* photographs: a threshold above it
would confuse them.
"""

from __future__ import annotations

import io
import itertools
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._photos import PHOTOS, SKIMAGE_DATA
from hashes.compute import hash_image
from hashes.values import Algorithm, HashValue

# Reported apart: fine repetitive texture and a scanned text page, whose detail sits at or
# below PDQ's 64x64 resolution; they are where perceptual hashes are weakest.
TEXTURES = frozenset({"page.png", "brick.png", "grass.png", "gravel.png"})
THRESHOLDS = {Algorithm.PDQ: 31, Algorithm.PHASH: 10, Algorithm.DHASH: 10}
PERCEPTUAL = tuple(THRESHOLDS)

Edit = Callable[[Image.Image], Image.Image]


def jpeg(quality: int) -> Edit:
    def edit(im: Image.Image) -> Image.Image:
        buffer = io.BytesIO()
        im.save(buffer, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")

    return edit


def resize(factor: float) -> Edit:
    def edit(im: Image.Image) -> Image.Image:
        size = (max(1, round(im.width * factor)), max(1, round(im.height * factor)))
        return im.resize(size, Image.Resampling.LANCZOS)

    return edit


def brightness(factor: float) -> Edit:
    return lambda im: ImageEnhance.Brightness(im).enhance(factor)


def gamma(value: float) -> Edit:
    table = [round(255 * (i / 255) ** value) for i in range(256)] * 3
    return lambda im: im.point(table)


def noise(sigma: float) -> Edit:
    def edit(im: Image.Image) -> Image.Image:
        rng = np.random.default_rng(1234)  # fixed seed: the benchmark is reproducible
        pixels = np.asarray(im, dtype=np.float64)
        noisy = np.clip(pixels + rng.normal(0, sigma, pixels.shape), 0, 255)
        return Image.fromarray(noisy.astype(np.uint8), "RGB")

    return edit


def watermark(im: Image.Image) -> Image.Image:
    out = im.copy()
    draw = ImageDraw.Draw(out)
    size = max(12, im.height // 12)
    font = ImageFont.load_default(size=size)
    text = "@frankly_demo 2026"
    draw.text(
        (im.width * 0.05, im.height - 2 * size),
        text,
        fill=(255, 255, 255),
        font=font,
        stroke_width=2,
        stroke_fill=(0, 0, 0),
    )
    return out


def crop(fraction: float) -> Edit:
    """Remove ``fraction`` of the width and of the height, half on each side."""

    def edit(im: Image.Image) -> Image.Image:
        dx, dy = round(im.width * fraction / 2), round(im.height * fraction / 2)
        return im.crop((dx, dy, im.width - dx, im.height - dy))

    return edit


def rotate(degrees: float) -> Edit:
    return lambda im: im.rotate(degrees, Image.Resampling.BICUBIC, expand=False)


def letterbox(im: Image.Image) -> Image.Image:
    """Pad to 16:9 landscape (or 9:16 for portrait) with black bars, as video apps do."""
    if im.width >= im.height:
        width, height = max(im.width, round(im.height * 16 / 9)), im.height
        if width == im.width:
            height = round(im.width * 9 / 16)
    else:
        width, height = im.width, max(im.height, round(im.width * 16 / 9))
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    canvas.paste(im, ((width - im.width) // 2, (height - im.height) // 2))
    return canvas


EDITS: list[tuple[str, Edit]] = [
    ("JPEG q=75", jpeg(75)),
    ("JPEG q=50", jpeg(50)),
    ("JPEG q=30", jpeg(30)),
    ("resize 0.5", resize(0.5)),
    ("resize 0.25", resize(0.25)),
    ("Gaussian blur r=2", lambda im: im.filter(ImageFilter.GaussianBlur(2))),
    ("brightness +20%", brightness(1.2)),
    ("brightness -20%", brightness(0.8)),
    ("gamma 0.7", gamma(0.7)),
    ("gamma 1.5", gamma(1.5)),
    ("Gaussian noise sigma=10", noise(10)),
    ("text watermark", watermark),
    ("crop 5%", crop(0.05)),
    ("crop 10%", crop(0.10)),
    ("rotate 2 degrees", rotate(2)),
    ("rotate 5 degrees", rotate(5)),
    ("mirror (left-right)", ImageOps.mirror),
    ("letterbox to 16:9", letterbox),
]


def png(im: Image.Image) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, "PNG")
    return buffer.getvalue()


def hashes_of(im: Image.Image) -> dict[Algorithm, HashValue]:
    result = hash_image(png(im), PERCEPTUAL)
    return {a: result[a] for a in PERCEPTUAL}


def best_dihedral_distance(im: Image.Image, original: HashValue) -> int:
    variants = hash_image(png(im), [Algorithm.PDQ], dihedral=True).pdq_dihedral
    if variants is None:
        raise RuntimeError("hash_image returned no dihedral variants")
    return min(v.distance(original) for v in variants.values())


def table(
    names: list[str],
    photos: dict[str, Image.Image],
    originals: dict[str, dict[Algorithm, HashValue]],
    original_pdq: dict[str, HashValue],
) -> None:
    """Print one markdown table of recall and distances for the photographs ``names``."""
    n = len(names)
    print(
        "| edit | PDQ recall (<=31) | PDQ mean / max | pHash recall (<=10) | pHash mean / max "
        "| dHash recall (<=10) | dHash mean / max |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, edit in EDITS:
        distances: dict[Algorithm, list[int]] = {a: [] for a in PERCEPTUAL}
        dihedral: list[int] = []
        for name in names:
            edited_image = edit(photos[name])
            edited = hashes_of(edited_image)
            for algorithm in PERCEPTUAL:
                distances[algorithm].append(edited[algorithm].distance(originals[name][algorithm]))
            if label.startswith("mirror"):
                dihedral.append(best_dihedral_distance(edited_image, original_pdq[name]))
        cells = []
        for algorithm in PERCEPTUAL:
            values = distances[algorithm]
            hits = sum(d <= THRESHOLDS[algorithm] for d in values)
            cells.append(f"{hits}/{n} | {statistics.fmean(values):.1f} / {max(values)}")
        print(f"| {label} | {' | '.join(cells)} |")
        if dihedral:
            hits = sum(d <= THRESHOLDS[Algorithm.PDQ] for d in dihedral)
            mean = statistics.fmean(dihedral)
            print(
                f"| {label}, PDQ best of 8 dihedral variants | {hits}/{n} | "
                f"{mean:.1f} / {max(dihedral)} | n/a | n/a | n/a | n/a |"
            )
    print()


def main() -> int:
    photos: dict[str, Image.Image] = {}
    for name in PHOTOS:
        path = SKIMAGE_DATA / name
        if path.is_file():
            with Image.open(path) as im:
                photos[name] = im.convert("RGB")
    originals = {name: hashes_of(im) for name, im in photos.items()}
    original_pdq = {name: hashes[Algorithm.PDQ] for name, hashes in originals.items()}
    print(f"# Robustness on {len(photos)} scikit-image pictures\n")
    groups = {
        "photographs": [name for name in photos if name not in TEXTURES],
        "textures and a text page (brick, grass, gravel, page)": [
            name for name in photos if name in TEXTURES
        ],
    }
    for group, names in groups.items():
        print(f"## {group} (n={len(names)})\n")
        table(names, photos, originals, original_pdq)
    print("## Smallest distance between two different pictures (all of them)\n")
    print("| hash | threshold | smallest distance | pair |\n| --- | ---: | ---: | --- |")
    for algorithm in PERCEPTUAL:
        pairs = [
            (originals[a][algorithm].distance(originals[b][algorithm]), a, b)
            for a, b in itertools.combinations(sorted(photos), 2)
        ]
        distance, a, b = min(pairs)
        print(f"| {algorithm.value} | {THRESHOLDS[algorithm]} | {distance} | {a} / {b} |")
    print(f"\n({len(photos)} pictures, Python {sys.version.split()[0]}, default fast path)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
