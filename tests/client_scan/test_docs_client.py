"""The Python examples in docs/client.md run as written, in order, against the real service
app (in-process, no network): open, send, receive, accept, scan, report, outbox, outcome.

Only the placeholders the page leaves to the app are filled in here (tokens, keys, the
picture, the callbacks); the client's network goes to the app through its one transport.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nacl.signing
import numpy as np
import pytest

import client_scan.client
from client_scan.client import FranklyClient
from client_scan.messaging import Attachment
from client_scan.outbox import OutboxStatus
from client_scan.scanner import Scanner
from client_scan.service_client import ServiceClient
from hashes.lists import TrustPolicy, build_list, parse_list, sign_list
from hashes.values import Algorithm

from .conftest import SESSION_KEY
from .test_client_e2e import T0, Clock, SyncASGITransport

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def _jpeg() -> bytes:
    from PIL import Image

    rng = np.random.default_rng(7)
    ramp = np.linspace(0, 255, 256)
    pixels = np.zeros((256, 256, 3), np.uint8)
    pixels[..., 0] = ramp[None, :]
    pixels[..., 1] = ramp[:, None]
    pixels[..., 2] = rng.integers(0, 255, (8, 8)).repeat(32, 0).repeat(32, 1)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def _signed_pdq_list(picture: bytes, *curators: nacl.signing.SigningKey) -> bytes:
    from hashes.compute import hash_image

    value = hash_image(picture, (Algorithm.PDQ,)).hashes[Algorithm.PDQ]
    hash_list = build_list(
        list_id="example",
        version=1,
        issued_at_ms=T0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=("csam",),
        hashes=[value],
        entry_categories=[0],
    )
    data = b""
    for curator in curators:
        data = sign_list(hash_list, curator)
        hash_list, _ = parse_list(data)
    return data


@pytest.fixture
def app_transport(tmp_path: Path) -> Iterator[tuple[httpx.BaseTransport, dict[str, str]]]:
    pytest.importorskip("report_service.app")
    from report_service.app import create_app
    from report_service.keys import generate_key_material
    from report_service.settings import Settings
    from report_service.storage.users import add_user
    from report_service.tokens import hash_token, new_token

    clock = Clock()
    settings = Settings(
        environment="development",
        data_dir=tmp_path / "service",
        database_url=f"sqlite:///{tmp_path / 'service.sqlite'}",
    )
    app = create_app(settings, keys=generate_key_material(os.urandom, T0), clock=clock)
    tokens = {name: new_token() for name in ("alice", "bob")}
    for name, token in tokens.items():
        with app.state.session_factory() as session:
            add_user(session, name, hash_token(token), clock())
    try:
        yield SyncASGITransport(app), tokens
    finally:
        app.state.engine.dispose()


def test_the_doc_has_every_step() -> None:
    code = "\n".join(BLOCKS)
    for call in ("FranklyClient(", ".send(", ".receive(", ".accept_attachment(", ".scan("):
        assert call in code
    for call in (".report(", ".flush_outbox(", ".report_status("):
        assert call in code


def test_the_doc_examples_run_in_order_against_the_real_service(
    app_transport: tuple[httpx.BaseTransport, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, tokens = app_transport

    def service_client(
        base_url: str, token: str, *, transport: httpx.BaseTransport | None = None
    ) -> ServiceClient:
        return ServiceClient(base_url, token, transport=app)

    # The page's client is built with no transport= (as an app would): route it to the app.
    monkeypatch.setattr(client_scan.client, "ServiceClient", service_client)

    picture = _jpeg()
    curator_a, curator_b = nacl.signing.SigningKey.generate(), nacl.signing.SigningKey.generate()
    # Alice, on her own phone, sends Bob the picture the page's Bob receives and reports.
    with FranklyClient(
        user_id="alice", base_url="https://reports.example", token=tokens["alice"],
        data_dir=tmp_path / "alice",
    ) as alice:  # fmt: skip
        alice.send(SESSION_KEY, "bob", "conv-42", "look",
                   [Attachment(picture, "image/jpeg", id="img-1")])  # fmt: skip

    shown: list[str] = []
    warned: list[str] = []
    saved: list[Any] = []
    ns: dict[str, Any] = {
        "bearer_token": tokens["bob"],
        "app_private_dir": tmp_path / "bob",
        "session_key": SESSION_KEY,
        "session_key_for": lambda conversation_id: SESSION_KEY,
        "jpeg_bytes": picture,
        "downloaded_bytes": picture,
        "attachment_bytes": picture,
        "show": lambda body, attachments: shown.append(body),
        "log": logging.getLogger("app"),
        "curator_a_pubkey": bytes(curator_a.verify_key),
        "curator_b_pubkey": bytes(curator_b.verify_key),
        "saved_states": (),
        "list_bytes": _signed_pdq_list(picture, curator_a, curator_b),
        "save": saved.append,
        "warn_user": warned.append,
    }
    try:
        for index, block in enumerate(BLOCKS):
            exec(compile(block, f"{DOC.name} example {index + 1}", "exec"), ns)  # noqa: S102
    finally:
        if "client" in ns:
            ns["client"].close()

    assert shown == ["look"]
    assert ns["ref"].sha256 == ns["record"].payload.attachments[0].sha256
    assert warned == ["csam"]
    assert ns["entry"].status is OutboxStatus.SENT
    assert ns["flushed"].sent == ()
    assert ns["status"].report_id == ns["entry"].report_id
    assert ns["status"].status == "received"
    # What the page saves restarts a scanner that refuses rollbacks.
    (states,) = saved
    restarted = Scanner(TrustPolicy({"a": bytes(curator_a.verify_key)}), trusted=states)
    assert restarted.trusted_states == states
