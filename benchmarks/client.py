"""On-device costs of the client library, as ratios to a baseline measured in the same run.

    .venv/bin/python benchmarks/client.py [--entries 100000] [--messages 50]
        [--megapixels 1.0] [--seconds 1.0] [--rounds 7]

What an app developer pays on the device, through the public ``client_scan`` / ``hashes``
APIs, each step next to the cheapest thing that step cannot avoid doing:

(a) list update: ``Scanner.load_list`` on a signed list of ``--entries`` random PDQ
    hashes (parse, SHA-256 digest, Ed25519 signature, trust checks, and the matcher's
    multi-index build). Baseline: ``hashlib.sha256`` of the same list bytes, the least
    any integrity check of the file must do. ``parse_list`` and ``load_list`` are shown
    on the way to the full step.
(b) scan: ``Scanner.scan`` of one synthetic photo-like JPEG of ``--megapixels`` against
    that list, once for a picture whose near-duplicate is listed (a match) and once for
    an unrelated one. Baseline: ``hashes.compute.hash_image(jpeg, [PDQ])`` on the same
    bytes, so the ratio is what the query variants (mirrors, rotations, a trimmed
    border: ``hash_image(..., variants=True)``), matching them, SHA-256/MD5 and the
    result objects add (``benchmarks/robustness.py`` gives the variants' own cost).
(c) report: ``report_builder.build_report`` of ``--messages`` franked messages (one
    reported, the rest context, with the scan's device-match hints) and
    ``report_builder.seal`` to a pinned service key. Baseline: raw
    ``nacl.public.SealedBox(pk).encrypt`` of the same report JSON bytes.
(d) receive: ``messaging.open_delivery`` of one message in the reference envelope
    (XChaCha20-Poly1305 open, commitment recomputed and compared, payload parsed).
    Baseline: the raw ``crypto_aead_xchacha20poly1305_ietf_decrypt`` of the same
    ciphertext.

Every figure is measured in this one process, each step's operations interleaved with
its baseline, best of ``--rounds`` rounds (so a burst of load from other jobs hits them
alike), and printed as a rate and as a ratio to its step's baseline:
ratio = rate / baseline rate, so 1.00 is "as cheap as the baseline" and 0.25 "four
times its cost". Ratios, not absolute numbers, because machines are shared and noisy.
Test data is made here (numpy, Pillow); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nacl.signing
import numpy as np
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
from nacl.public import PrivateKey, SealedBox
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from client_scan.franking import FrankedMessage, FrankingKey, Keyring, commit, stamp
from client_scan.franking.commitment import verify_commitment
from client_scan.franking.envelope import NONCE_BYTES, open_envelope
from client_scan.franking.payload import encode_payload
from client_scan.messaging import frank_outgoing, open_delivery
from client_scan.records import Direction, MessageRecord, PinnedKey
from client_scan.report_builder import build_report, seal
from client_scan.report_format import Reason, Report, encode_report
from client_scan.scanner import Scanner
from client_scan.service_client import Delivery
from hashes.compute import hash_image
from hashes.lists import TrustPolicy, build_list, load_list, parse_list, sign_list
from hashes.values import Algorithm

NOW = 1_780_000_000_000
PDQ = (Algorithm.PDQ,)


@dataclass(frozen=True)
class Row:
    step: str
    name: str
    rate: float
    baseline: str
    baseline_rate: float

    @property
    def ratio(self) -> float:
        return self.rate / self.baseline_rate


def rates(fns: list[Callable[[], object]], seconds: float, rounds: int) -> list[float]:
    """Calls per second of each function: interleaved rounds of about ``seconds / rounds``
    each, the best round of each function."""
    counts = []
    for fn in fns:  # calibrate (and warm up)
        n = 1
        while True:
            start = time.perf_counter()
            for _ in range(n):
                fn()
            elapsed = time.perf_counter() - start
            if elapsed > seconds / (4 * rounds):
                break
            n *= 2
        counts.append(max(1, int(n * (seconds / rounds) / elapsed)))
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, (fn, n) in enumerate(zip(fns, counts, strict=True)):
            start = time.perf_counter()
            for _ in range(n):
                fn()
            best[i] = min(best[i], (time.perf_counter() - start) / n)
    return [1.0 / b for b in best]


def photo_jpeg(seed: int, megapixels: float) -> bytes:
    """A photo-like JPEG (smooth colour fields, edges and grain) of about ``megapixels``."""
    rng = np.random.default_rng(seed)
    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = round(width * 3 / 4)
    coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    fields = np.asarray(
        Image.fromarray(coarse, "RGB").resize((width, height), Image.Resampling.BICUBIC),
        dtype=np.float64,
    )
    y, x = np.mgrid[0:height, 0:width]
    for _ in range(12):  # a few hard-edged shapes, so the picture has structure
        cx, cy = rng.integers(0, width), rng.integers(0, height)
        r = rng.integers(height // 20, height // 5)
        inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        fields[inside] = fields[inside] * 0.4 + rng.integers(0, 256, 3) * 0.6
    pixels = np.clip(fields + rng.normal(0, 6, fields.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def signed_list(entries: int, near: bytes, key: nacl.signing.SigningKey) -> bytes:
    """A signed PDQ list of ``entries`` random hashes plus ``near`` with 6 bits flipped."""
    rng = np.random.default_rng(11)
    rows = rng.integers(0, 256, (entries, 32), dtype=np.uint8)
    listed = np.frombuffer(near, dtype=np.uint8).copy()
    for bit in rng.choice(256, 6, replace=False):
        listed[bit // 8] ^= 0x80 >> (bit % 8)
    rows[entries // 2] = listed
    hash_list = build_list(
        list_id="bench-pdq",
        version=1,
        issued_at_ms=NOW,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=("csam", "terror", "ncii"),
        hashes=rows,
        entry_categories=rng.integers(0, 3, entries, dtype=np.uint16),
        entry_ids=None,
    )
    return sign_list(hash_list, key)


def conversation(count: int, ring: Keyring) -> list[MessageRecord]:
    """``count`` franked, stamped messages between alice and bob, alternating, as bob's
    device keeps them (the last one received from alice)."""
    records = []
    for i in range(count):
        sender, recipient = ("alice", "bob") if (count - i) % 2 == 1 else ("bob", "alice")
        payload = encode_payload(f"message {i}: a typical chat line of some sixty characters.")
        fk = hashlib.sha256(b"fk%d" % i).digest()
        c = commit(fk, payload.raw)
        t = NOW - (count - i) * 60_000
        st = stamp(ring, c, sender, recipient, "conv-bench", t)
        message = FrankedMessage(
            payload.raw, fk, c, st.tag, st.key_id, sender, recipient, "conv-bench", t
        )
        direction = Direction.RECEIVED if recipient == "bob" else Direction.SENT
        records.append(MessageRecord(message, payload, direction, f"relay-{i}"))
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=100_000, help="PDQ hashes in the list")
    parser.add_argument("--messages", type=int, default=50, help="messages in the report")
    parser.add_argument("--megapixels", type=float, default=1.0, help="size of the JPEG")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    args = parser.parse_args()
    rows: list[Row] = []

    def step(
        label: str,
        baseline: tuple[str, Callable[[], object]],
        *measured: tuple[str, Callable[[], object]],
    ) -> None:
        found = rates([baseline[1], *(fn for _, fn in measured)], args.seconds, args.rounds)
        rows.append(Row(label, baseline[0] + " (baseline)", found[0], baseline[0], found[0]))
        for (name, _), value in zip(measured, found[1:], strict=True):
            rows.append(Row(label, name, value, baseline[0], found[0]))

    # (a) list update
    curator = nacl.signing.SigningKey(hashlib.sha256(b"bench curator").digest())
    policy = TrustPolicy({"curator": bytes(curator.verify_key)}, threshold=1)
    listed_jpeg = photo_jpeg(1, args.megapixels)
    other_jpeg = photo_jpeg(2, args.megapixels)
    data = signed_list(args.entries, hash_image(listed_jpeg, PDQ)[Algorithm.PDQ].digest, curator)

    def fresh_scanner() -> Scanner:
        scanner = Scanner(policy)
        scanner.load_list(data)
        return scanner

    step(
        f"(a) load a signed {args.entries:,}-entry PDQ list ({len(data) / 1e6:.1f} MB)",
        ("hashlib.sha256(list bytes)", lambda: hashlib.sha256(data).digest()),
        ("parse_list (format checks + SHA-256)", lambda: parse_list(data)),
        ("load_list (+ Ed25519 signature, trust)", lambda: load_list(data, policy)),
        ("Scanner.load_list (load_list + matcher)", fresh_scanner),
    )

    # (b) scan
    scanner = fresh_scanner()
    hit, miss = scanner.scan(listed_jpeg), scanner.scan(other_jpeg)
    if not hit.matched or miss.matched:
        raise RuntimeError("the listed picture must match and the other one not")
    if hit.low_quality or miss.low_quality:
        raise RuntimeError("the test pictures have too little detail for PDQ")
    mpx = f"{args.megapixels:g} Mpx JPEG"
    step(
        f"(b) scan a {mpx} ({len(listed_jpeg) // 1024} KB), listed: match",
        ("hash_image(jpeg, [PDQ])", lambda: hash_image(listed_jpeg, PDQ)),
        ("Scanner.scan", lambda: scanner.scan(listed_jpeg)),
    )
    step(
        f"(b) scan a {mpx} ({len(other_jpeg) // 1024} KB), not listed",
        ("hash_image(jpeg, [PDQ])", lambda: hash_image(other_jpeg, PDQ)),
        ("Scanner.scan", lambda: scanner.scan(other_jpeg)),
    )

    # (c) report
    ring = Keyring((FrankingKey("k1", hashlib.sha256(b"bench platform").digest(), 0),), "k1")
    records = conversation(args.messages, ring)
    service_key = PrivateKey(hashlib.sha256(b"bench service").digest())
    pinned = PinnedKey("rk1", bytes(service_key.public_key))
    hints = hit.hints()
    report_id = str(uuid.UUID(int=7, version=4))

    def build() -> Report:
        return build_report(
            records,
            [records[-1].id],
            report_id=report_id,
            reporter_id="bob",
            reason=Reason.HARASSMENT,
            comment="they keep sending these",
            context=args.messages - 1,
            device_matches=hints,
        )

    report = build()
    if len(report.messages) != args.messages:
        raise RuntimeError(f"the report holds {len(report.messages)} messages")
    report_json = encode_report(report)
    box = SealedBox(service_key.public_key)
    step(
        f"(c) build and seal a report of {args.messages} messages ({len(report_json) // 1024} KB)",
        ("SealedBox(pk).encrypt(report JSON)", lambda: box.encrypt(report_json)),
        ("build_report", build),
        ("seal (encode + seal)", lambda: seal(report, pinned)),
        ("build_report + seal", lambda: seal(build(), pinned)),
    )

    # (d) receive
    session_key = hashlib.sha256(b"bench session").digest()
    payload = encode_payload("see you at 8, bring the photos from saturday please")
    fk = hashlib.sha256(b"bench fk").digest()
    outgoing = frank_outgoing(session_key, payload, fk, b"\x05" * NONCE_BYTES)
    st = stamp(ring, outgoing.commitment, "alice", "bob", "conv-bench", NOW)
    delivery = Delivery(
        "relay-1",
        outgoing.ciphertext,
        outgoing.commitment,
        st.tag,
        st.key_id,
        "alice",
        "bob",
        "conv-bench",
        NOW,
    )
    nonce, sealed = outgoing.ciphertext[1 : 1 + NONCE_BYTES], outgoing.ciphertext[1 + NONCE_BYTES :]

    def open_and_verify() -> None:
        key, raw = open_envelope(session_key, delivery.ciphertext, delivery.commitment)
        verify_commitment(key, raw, delivery.commitment)

    if open_delivery(session_key, delivery, recipient_id="bob").payload != payload:
        raise RuntimeError("the delivery did not open to the sent payload")
    step(
        f"(d) receive one message ({len(outgoing.ciphertext)} B envelope)",
        (
            "raw XChaCha20-Poly1305 decrypt",
            lambda: crypto_aead_xchacha20poly1305_ietf_decrypt(
                sealed, outgoing.commitment, nonce, session_key
            ),
        ),
        ("open_envelope + verify_commitment", open_and_verify),
        (
            "open_delivery (+ payload parse)",
            lambda: open_delivery(session_key, delivery, recipient_id="bob"),
        ),
    )

    print("| step | operation | ops/s | ms/op | ratio to baseline |")
    print("| --- | --- | ---: | ---: | ---: |")
    shown = ""
    for row in rows:
        label, shown = ("" if row.step == shown else row.step), row.step
        print(
            f"| {label} | {row.name} | {row.rate:,.1f} | {1000 / row.rate:.3f} | {row.ratio:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
