"""The real pictures the hashing benchmarks use: those bundled with scikit-image.

They ship inside the package (the bench extra), so nothing is downloaded. motorcycle_right
is left out: it is the other half of a stereo pair with motorcycle_left.
"""

from __future__ import annotations

from pathlib import Path

import skimage

SKIMAGE_DATA = Path(skimage.__file__).resolve().parent / "data"
PHOTOS = (
    "astronaut.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "moon.png",
    "motorcycle_left.png",
    "retina.jpg",
    "rocket.jpg",
    "page.png",
    "brick.png",
    "grass.png",
    "gravel.png",
)
