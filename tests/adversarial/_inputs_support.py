"""The running service the input and review-hole attacks are made against (no conftest:
other attack files in this folder have their own set-ups)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from report_service.keys import generate_key_material
from tests.report_service.conftest import T0, FakeClock, Service, make_service

USERS = ("alice", "bob", "carol", "mallory")


def running_service(database_url: str, tmp_path: Path, **settings: Any) -> Iterator[Service]:
    """The whole app (``create_app``) on ``database_url`` with users alice, bob, carol and
    mallory, driven over real HTTP through httpx's ASGI transport."""
    keys = generate_key_material(os.urandom, T0)
    for svc in make_service(database_url, tmp_path, keys, FakeClock(), **settings):
        for name in USERS:
            svc.add_user(name)
        yield svc


def moderator(service: Service, name: str, role: str) -> dict[str, str]:
    """Headers of a new moderator account of ``role``."""
    token = service.app.state.review.add_moderator("test", name, role).token
    return {"Authorization": f"Bearer {token}"}
