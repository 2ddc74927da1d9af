"""The OpenAPI document says what the service does (issue 12, defect 13): listed error
answers, the ``Allow`` header of a 405, and examples that are valid instances."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import BaseModel

from report_service.api.schemas import InboxResponse, RelaySendRequest
from report_service.review.decisions.schemas import DecideOut
from report_service.review.items.schemas import AttachmentOut, ItemDetailOut
from report_service.review.moderators.schemas import ModeratorCreatedOut
from report_service.review.moderators.token_schemas import TokenIssuedOut, UserOut
from report_service.review.search.items import ItemPageOut
from tests.report_service.conftest import Service


def spec(service: Service) -> dict[str, Any]:
    document: dict[str, Any] = service.app.openapi()
    return document


def test_error_answers_are_listed(sqlite_service: Service) -> None:
    paths = spec(sqlite_service)["paths"]
    assert "503" in paths["/v1/reports"]["post"]["responses"]
    decision = paths["/v1/review/items/{item_id}/decision"]["post"]["responses"]
    example = decision["503"]["content"]["application/json"]["example"]
    assert example["error"]["code"] == "bank_unavailable"
    for path, methods in paths.items():
        post = methods.get("post")
        if path.startswith("/v1/review") and post and "requestBody" in post:
            assert "400" in post["responses"], path


def test_unparseable_review_body_is_the_listed_400(sqlite_service: Service) -> None:
    review = sqlite_service.app.state.review
    token = review.add_moderator("cli", "mia", "moderator").token
    # JSON nested too deeply to parse: refused before validation, as a 400.
    r = sqlite_service.client.post(
        "/v1/review/items/1/decision",
        content=b"[" * 100_000,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/reports", {"POST"}),
        ("DELETE", "/v1/keys/report", {"GET"}),
        ("GET", "/v1/relay/messages", {"POST"}),
        ("PATCH", "/v1/review/moderators/someone", {"DELETE"}),
    ],
)
def test_405_names_the_allowed_methods(
    sqlite_service: Service, method: str, path: str, allowed: set[str]
) -> None:
    r = sqlite_service.client.request(method, path)
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= allowed


@pytest.mark.parametrize(
    "model",
    [
        ItemDetailOut,
        DecideOut,
        AttachmentOut,
        ModeratorCreatedOut,
        ItemPageOut,
        UserOut,
        TokenIssuedOut,
        RelaySendRequest,
        InboxResponse,
    ],
)
def test_examples_are_valid_instances(model: type[BaseModel]) -> None:
    examples = model.model_json_schema().get("examples")
    assert examples, f"{model.__name__} has no example"
    for example in examples:
        model.model_validate(example)


def test_relay_examples_are_standard_base64() -> None:
    examples = [
        *RelaySendRequest.model_json_schema()["examples"],
        *(d for e in InboxResponse.model_json_schema()["examples"] for d in e["deliveries"]),
    ]
    for example in examples:
        for field in ("ciphertext", "commitment"):
            base64.b64decode(example[field], validate=True)
        assert len(base64.b64decode(example["commitment"])) == 32
