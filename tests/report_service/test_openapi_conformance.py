"""The service answers as its OpenAPI document says (schemathesis, issue 12 defect 13).

Every operation of ``/openapi.json`` is exercised with schema-generated requests (valid
and invalid) under every identity: a reporter's token, a token of each moderator role,
and no token. Schemathesis' default checks must all pass: no 5xx, only documented status
codes, content types and headers, answers matching their schemas, schema-valid requests
not rejected as invalid, schema-invalid ones rejected, 405 with ``Allow`` for methods an
operation lacks. The run is bounded (a few examples per operation and identity, seconds
in total) and deterministic (``derandomize``)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from report_service.app import create_app
from report_service.keys import generate_key_material
from report_service.settings import Settings
from tests.report_service.conftest import T0, FakeClock, Service, SyncClient
from tests.report_service.review.review_support import ROLES, png_bytes

MAX_EXAMPLES = 5
IDENTITIES = ("reporter", *ROLES, "anonymous")
# Schema-valid requests these operations must still refuse, for reasons no JSON schema can
# state: a report body is only valid if it opens under the service's sealing key and
# verifies cryptographically; a relayed message needs a recipient that exists and bytes
# that decode to a 32-byte commitment; an inbox page cursor (`after`) is opaque and valid
# only if this relay gave it out. Every other check still runs on them.
SEMANTIC_BODIES = {"POST /v1/reports", "POST /v1/relay/messages", "GET /v1/relay/inbox"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    """The real app (SQLite) with two users, a reviewed report and one moderator per role."""
    tmp: Path = tmp_path_factory.mktemp("openapi")
    keys = generate_key_material(os.urandom, T0)
    clock = FakeClock()
    cfg = Settings(
        environment="development",
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'frankly.sqlite'}",
        rate_limit_per_minute=100_000,
        rate_limit_burst=100_000,
    )
    app = create_app(cfg, keys=keys, clock=clock)
    svc = Service(app=app, client=SyncClient(app), keys=keys, clock=clock)
    svc.add_user("st-reporter")
    svc.add_user("st-sender")
    picture = png_bytes(3)
    sha = hashlib.sha256(picture).hexdigest()
    msg = svc.frank("st-sender", "st-reporter", "hi", attachments=[(picture, "image/png")])
    assert svc.submit("st-reporter", svc.report("st-reporter", [msg], attachments={sha: picture}))
    tokens = {"reporter": svc.tokens["st-reporter"]}
    for role in ROLES:
        tokens[role] = app.state.review.add_moderator("cli", f"st-{role}", role).token
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app), tokens
    finally:
        app.state.engine.dispose()


def operations() -> list[str]:
    keys = generate_key_material(os.urandom, T0)
    cfg = Settings(
        environment="development", data_dir=Path("/nonexistent"), database_url="sqlite://"
    )
    app = create_app(cfg, keys=keys)
    spec = app.openapi()
    app.state.engine.dispose()
    return [
        f"{method.upper()} {path}"
        for path, methods in spec["paths"].items()
        for method in methods
        if method in ("get", "post", "put", "patch", "delete")
    ]


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("label", operations())
def test_operation_conforms(world: tuple[Any, dict[str, str]], label: str, identity: str) -> None:
    schema, tokens = world
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    headers = {} if identity == "anonymous" else {"Authorization": f"Bearer {tokens[identity]}"}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: Any) -> None:
        excluded = [positive_data_acceptance] if label in SEMANTIC_BODIES else []
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    conforms()
