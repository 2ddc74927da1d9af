"""Helpers for the hashing tests: the PDQ conformance vectors and small generated images."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

PDQ_DIR = Path(__file__).resolve().parents[1] / "data" / "pdq"


@dataclass(frozen=True)
class VectorRow:
    """One row of ``tests/data/pdq/expected.csv``."""

    file: str
    mode: str
    width: int
    height: int
    sha256: str
    pdq: str
    pdq_quality: int
    phash: str
    dhash: str

    @property
    def path(self) -> Path:
        return PDQ_DIR / self.file


def load_rows() -> list[VectorRow]:
    with (PDQ_DIR / "expected.csv").open(newline="") as handle:
        return [
            VectorRow(
                file=r["file"],
                mode=r["mode"],
                width=int(r["width"]),
                height=int(r["height"]),
                sha256=r["sha256"],
                pdq=r["pdq"],
                pdq_quality=int(r["pdq_quality"]),
                phash=r["phash"],
                dhash=r["dhash"],
            )
            for r in csv.DictReader(handle)
        ]


ROWS = load_rows()


def photo(width: int = 96, height: int = 64, seed: int = 0) -> Image.Image:
    """A small deterministic RGB picture with structure at several scales."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.stack(
        [
            128 + 100 * np.sin(x / (5 + seed % 7)),
            128 + 100 * np.cos(y / 9.0),
            255 * (x + y) / (width + height),
        ],
        axis=2,
    )
    noise = rng.normal(0, 8, size=base.shape)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()
