"""The real pictures the hashing benchmarks use.

- Those bundled with scikit-image (the bench extra): nothing is downloaded.
  motorcycle_right is left out: it is the other half of a stereo pair with motorcycle_left.
- Photographs from Debian's wallpaper packages (``WALLPAPERS``), used when installed:
  ``apt-get install lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds``.
  They are benchmark data, not part of the repository; each entry records the package,
  the author and the licence given in ``/usr/share/doc/<package>/copyright``. Only
  photographs were chosen (no renders or illustrations). Infinite-Sea is a night sky
  with a dark edge; Storm has a dark lower edge.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

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
TEXTURES = frozenset({"page.png", "brick.png", "grass.png", "gravel.png"})
"""Fine repetitive texture and a scanned text page, reported apart: their detail sits at
or below PDQ's 64x64 resolution."""


class Wallpaper(NamedTuple):
    """A photograph from a Debian wallpaper package."""

    path: str
    package: str
    author: str
    licence: str


_LOMIRI = "lomiri-wallpapers-16.04"
_MATE = "mate-backgrounds"
_BG = "/usr/share/backgrounds/"
WALLPAPERS = (
    Wallpaper(_BG + "Bridge_by_Sander_Klootwijk.jpg", _LOMIRI, "Sander Klootwijk", "CC-BY-SA-4.0"),
    Wallpaper(_BG + "Dragonfly_by_Bolly.jpg", _LOMIRI, "Bolly", "CC-BY-SA-4.0"),
    Wallpaper(_BG + "Picture_0B_by_freespace.jpg", _LOMIRI, 'Trevor "Freespace"', "CC-BY-4.0"),
    Wallpaper(_BG + "Picture_1A_by_freespace.jpg", _LOMIRI, 'Trevor "Freespace"', "CC-BY-4.0"),
    Wallpaper(_BG + "Wine_by_Jakkub_Mede.jpg", _LOMIRI, "Jakub Mede", "CC-BY-4.0"),
    Wallpaper(
        _BG + "aitzgorri_by_Aitzol_Berasategi.jpg", _LOMIRI, "Aitzol Berasategi", "CC-BY-4.0"
    ),
    Wallpaper(_BG + "free_by_Peter_Nerlich.jpg", _LOMIRI, "Peter Nerlich", "CC-BY-SA-4.0"),
    Wallpaper(_BG + "friends_by_Aitzol_Berasategi.jpg", _LOMIRI, "Aitzol Berasategi", "CC-BY-4.0"),
    Wallpaper(_BG + "greentock_by_Peter_Nerlich.jpg", _LOMIRI, "Peter Nerlich", "CC-BY-SA-4.0"),
    Wallpaper(_BG + "life_by_Aitzol_Berasategi.jpg", _LOMIRI, "Aitzol Berasategi", "CC-BY-4.0"),
    Wallpaper(
        _BG + "picosdeeuropa_by_Aitzol_Berasategi.jpg", _LOMIRI, "Aitzol Berasategi", "CC-BY-4.0"
    ),
    Wallpaper(_BG + "seeding_by_Clements_Engelhardt.jpg", _LOMIRI, "Clemens Engelhardt", "CC0-1.0"),
    Wallpaper(_BG + "sunset_by_Aitzol_Berasategi.jpg", _LOMIRI, "Aitzol Berasategi", "CC-BY-4.0"),
    Wallpaper(
        _BG + "Infinite-Sea_by_Aury88.jpg", "lomiri-wallpapers-20.04", "Aury88", "CC-BY-SA-3.0"
    ),
    Wallpaper(
        _BG + "Kleiber_by_Lukas_Baubkus.jpg",
        "lomiri-wallpapers-20.04",
        "Lukas Baubkus",
        "CC-BY-SA-3.0",
    ),
    Wallpaper(_BG + "mate/nature/Aqua.jpg", _MATE, "Charles Barbin", "GPL-2+"),
    Wallpaper(_BG + "mate/nature/Blinds.jpg", _MATE, "Lennart Poettering", "GPL-2+"),
    Wallpaper(_BG + "mate/nature/Dune.jpg", _MATE, "Marco Cogoni", "GPL-2+"),
    Wallpaper(_BG + "mate/nature/FreshFlower.jpg", _MATE, "Jens Ansorg", "GPL-2+"),
    Wallpaper(_BG + "mate/nature/GreenMeadow.jpg", _MATE, "Timothy Schellhase", "GPL-2+"),
    Wallpaper(_BG + "mate/nature/RainDrops.jpg", _MATE, '"blackcombwhistler07"', "GPL-2+"),
    Wallpaper(_BG + "mate/nature/Storm.jpg", _MATE, "Sergey Nazarov", "GPL-2+"),
    Wallpaper(_BG + "mate/nature/TwoWings.jpg", _MATE, "Charles Barbin", "GPL-2+"),
    Wallpaper(_BG + "mate/nature/Wood.jpg", _MATE, "Jean-François Fortin Tam", "GPL-2+"),
)


def photograph_paths() -> list[Path]:
    """Every photograph available here: scikit-image's (no textures), then the installed
    wallpapers."""
    paths = [SKIMAGE_DATA / name for name in PHOTOS if name not in TEXTURES]
    paths += [Path(w.path) for w in WALLPAPERS]
    return [p for p in paths if p.is_file()]
