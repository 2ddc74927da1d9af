"""Write ``tests/vectors/video/frames.csv`` and the videos beside it: for each test video that
``tests/hashes/video_support.py`` builds, the frames vPDQ chooses, the SHA-256 of each
frame's decoded RGB pixels, and the PDQ hash and quality that the ``pdqhash`` binding
(ThreatExchange's C++ PDQ; bench extra) computes from those pixels.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python tools/make_video_vectors.py

The test (``tests/hashes/test_video_conformance.py``) decodes the same videos, checks the
pixels' SHA-256 (so the vectors pin the decoder too) and our PDQ against these rows.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pdqhash  # noqa: E402

from hashes.video._decode import decode_frames, open_video  # noqa: E402
from hashes.video.compute import frame_interval  # noqa: E402
from hashes.video.limits import DEFAULT_VIDEO_LIMITS  # noqa: E402
from tests.hashes import video_support  # noqa: E402

OUT = ROOT / "tests" / "vectors" / "video" / "frames.csv"


def main() -> None:
    rows: list[list[str]] = []
    for name, data in video_support.conformance_videos().items():
        (OUT.parent / name).write_bytes(data)  # the test decodes these very bytes
        opened = open_video(data, DEFAULT_VIDEO_LIMITS)
        try:
            every = frame_interval(opened.info.fps, 1.0)
            for decoded in decode_frames(opened, DEFAULT_VIDEO_LIMITS):
                if decoded.number % every:
                    continue
                pixels = decoded.rgb()
                vector, quality = pdqhash.compute(pixels)
                bits = "".join(str(int(b)) for b in vector)
                hex_text = f"{int(bits, 2):064x}"
                digest = hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()
                rows.append([name, str(decoded.number), digest, hex_text, str(int(quality))])
        finally:
            opened.close()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video", "frame_number", "rgb_sha256", "pdq", "pdq_quality"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
