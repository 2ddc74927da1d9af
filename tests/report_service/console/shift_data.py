"""A report service with a realistic shift's worth of review items, for the console's
browser tests and for the screenshots in docs/review.md (``tools/console_screenshots.py``).

Everything goes through the real service: users frank and stamp messages, reporters seal
reports to the service's key and submit them over HTTP; the service verifies them, hashes
the pictures, matches its bank and queues the items. Moderators of every role are created
through :class:`~report_service.review.service.ReviewService`.

Items (ids in queue order of creation):

1. general, harassment: alice -> bob, a three-message transcript whose last message carries
   a near-copy of a banked picture (a bank match), reported by bob with a comment;
2. general, spam: alice -> dave, text only (another item about alice);
3. child safety: erin -> carol, a picture, reported by carol as child safety.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from fastapi import FastAPI
from PIL import Image

from client_scan.franking.commitment import commit, new_franking_key
from client_scan.franking.message import FrankedMessage
from client_scan.franking.payload import AttachmentRef, encode_payload, parse_payload
from client_scan.franking.stamp import stamp
from client_scan.report_format import Reason, Report, encode_report
from client_scan.sealing import seal_report
from hashes.values import Algorithm, HashValue
from report_service.app import create_app
from report_service.banks import hash_media
from report_service.demo import demo_image, near_copy
from report_service.keys import KeyMaterial, generate_key_material
from report_service.settings import Settings
from report_service.storage.users import add_user
from report_service.tokens import hash_token, new_token

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
ROLES = {
    "mia": "moderator",
    "cleo": "child_safety",
    "lee": "lead",
    "aldo": "auditor",
    "ada": "admin",
}


class Clock:
    """A settable service clock (ms)."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


def color_picture(seed: int, size: int = 384) -> bytes:
    """A colourful, detailed PNG (strong colour and high-frequency content)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(size // 16, size // 16, 3), dtype=np.uint8)
    arr = np.kron(blocks, np.ones((16, 16, 1), dtype=np.uint8))
    y, x = np.mgrid[0:size, 0:size]
    arr[..., 0] = np.where((x // 4 + y // 4) % 2 == 0, arr[..., 0], 255 - arr[..., 0])
    out = io.BytesIO()
    Image.fromarray(arr, "RGB").save(out, format="PNG")
    return out.getvalue()


@dataclass
class Shift:
    """The app, its clock and keys, the moderators' tokens, the items and their media."""

    app: FastAPI
    clock: Clock
    keys: KeyMaterial
    tokens: dict[str, str] = field(default_factory=dict)
    pictures: dict[int, bytes] = field(default_factory=dict, repr=False)  # item id -> original
    users: dict[str, str] = field(default_factory=dict)

    def frank(
        self,
        sender: str,
        recipient: str,
        body: str,
        conversation: str,
        attachments: Sequence[tuple[bytes, str]] = (),
    ) -> FrankedMessage:
        refs = [
            AttachmentRef(f"a{i}", hashlib.sha256(data).hexdigest(), len(data), mime)
            for i, (data, mime) in enumerate(attachments)
        ]
        payload = encode_payload(body, refs)
        fk = new_franking_key()
        c = commit(fk, payload.raw)
        self.clock.advance(20_000)
        t = self.clock() - 1000
        st = stamp(self.keys.franking, c, sender, recipient, conversation, t)
        return FrankedMessage(
            payload=payload.raw,
            franking_key=fk,
            commitment=c,
            stamp=st.tag,
            key_id=st.key_id,
            sender_id=sender,
            recipient_id=recipient,
            conversation_id=conversation,
            timestamp_ms=t,
        )

    def submit(
        self,
        http: httpx.Client,
        reporter: str,
        messages: Sequence[FrankedMessage],
        reason: Reason,
        comment: str | None,
        attachments: dict[str, bytes],
    ) -> None:
        report = Report(
            report_id=str(uuid.uuid4()),
            reporter_id=reporter,
            reason=reason,
            messages=tuple(messages),
            reported=(parse_payload(messages[-1].payload).id,),
            comment=comment,
            attachments=attachments,
        )
        sealed = seal_report(encode_report(report), self.keys.active_sealing.public_key)
        r = http.post(
            "/v1/reports",
            content=sealed,
            headers={
                "Authorization": f"Bearer {self.users[reporter]}",
                "Content-Type": "application/octet-stream",
            },
        )
        if r.status_code != 201:
            raise RuntimeError(f"report refused: {r.status_code} {r.text}")


def build_app(data_dir: Path, database_url: str | None = None, now: int = T0) -> Shift:
    """A fresh service in ``data_dir`` with moderators of every role (no items yet)."""
    keys = generate_key_material(os.urandom, now)
    clock = Clock(now)
    settings = Settings(
        environment="development",
        data_dir=data_dir,
        database_url=database_url or f"sqlite:///{data_dir / 'console.db'}",
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings, keys=keys, clock=clock)
    shift = Shift(app=app, clock=clock, keys=keys)
    for name, role in ROLES.items():
        shift.tokens[name] = app.state.review.add_moderator("setup", name, role).token
    with app.state.session_factory() as session:
        for user in ("alice", "bob", "carol", "dave", "erin"):
            token = new_token()
            add_user(session, user, hash_token(token), now)
            shift.users[user] = token
    return shift


def seed(shift: Shift, base_url: str) -> None:
    """Submit the three reports of the module docstring through the running server."""
    original = demo_image()
    facts, _ = hash_media(original, "image/jpeg")
    if facts.pdq is None:
        raise RuntimeError("the demo picture has no PDQ hash")
    shift.app.state.banks.add_entry(
        HashValue.from_hex(Algorithm.PDQ, facts.pdq), "harassment", "known-0001", shift.clock()
    )
    sent = near_copy(original)
    child = color_picture(7)
    with httpx.Client(base_url=base_url, timeout=30) as http:
        m1 = shift.frank("bob", "alice", "why did you post that about me?", "alice-bob")
        m2 = shift.frank("alice", "bob", "because you deserve it", "alice-bob")
        m3 = shift.frank(
            "alice", "bob", "everyone will see this", "alice-bob", [(sent, "image/jpeg")]
        )
        shift.submit(
            http,
            "bob",
            [m1, m2, m3],
            Reason.HARASSMENT,
            "alice keeps sending me this picture of me",
            {hashlib.sha256(sent).hexdigest(): sent},
        )
        spam = shift.frank("alice", "dave", "cheap followers at example.invalid", "alice-dave")
        shift.submit(http, "dave", [spam], Reason.SPAM, None, {})
        cs = shift.frank(
            "erin", "carol", "keep this between us", "erin-carol", [(child, "image/png")]
        )
        shift.submit(
            http,
            "carol",
            [cs],
            Reason.CHILD_SAFETY,
            "an adult sent this to my child's account",
            {hashlib.sha256(child).hexdigest(): child},
        )
    shift.pictures = {1: sent, 3: child}
