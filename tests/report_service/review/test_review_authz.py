"""Every endpoint: 401 without (or with a bad or revoked) token, 403 for the wrong role,
404 for child-safety items seen by any role but child_safety. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.report_service.review.review_support import (
    ROLES,
    Attachment,
    Env,
    SyncClient,
    auth,
    png_bytes,
)

SHA = "0" * 64
REASON = {"reason": "blurred view is ambiguous here"}
DECISION = {"decision": "warn_sender", "policy": "harassment/1.0", "note": "n"}

# (method, path, json body, roles allowed past the role check)
REVIEWERS = {"moderator", "child_safety", "lead"}
ENDPOINTS: list[tuple[str, str, Any, set[str]]] = [
    ("GET", "/v1/review/me", None, set(ROLES)),
    ("GET", "/v1/review/queues", None, REVIEWERS),
    ("POST", "/v1/review/queues/general/claim", None, REVIEWERS),
    ("POST", "/v1/review/queues/child_safety/claim", None, {"child_safety"}),
    ("GET", "/v1/review/claims", None, REVIEWERS),
    ("POST", "/v1/review/items/{item}/heartbeat", None, REVIEWERS),
    ("POST", "/v1/review/items/{item}/release", None, REVIEWERS),
    ("GET", "/v1/review/items/{item}", None, REVIEWERS),
    ("GET", "/v1/review/items/{item}/media/{sha}", None, REVIEWERS),
    ("POST", "/v1/review/items/{item}/media/{sha}/reveal", REASON, REVIEWERS),
    ("POST", "/v1/review/items/{item}/decision", DECISION, REVIEWERS),
    # child_safety may reopen child-safety items only: a general item is 403 for it too.
    ("POST", "/v1/review/items/{item}/reopen", REASON, {"lead"}),
    ("POST", "/v1/review/items/{item}/bank", None, REVIEWERS),
    ("GET", "/v1/review/moderators", None, {"admin"}),
    ("POST", "/v1/review/moderators", {"name": "zed", "role": "moderator"}, {"admin"}),
    ("DELETE", "/v1/review/moderators/lead-1", None, {"admin"}),
    ("GET", "/v1/audit", None, {"auditor", "admin"}),
    ("GET", "/v1/audit/verify", None, {"auditor", "admin"}),
]
ITEM_ENDPOINTS = [e for e in ENDPOINTS if "{item}" in e[1]]


def _call(client: SyncClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.request(method, path, json=body, headers=headers)


def _path(template: str, item: int, sha: str = SHA) -> str:
    return template.replace("{item}", str(item)).replace("{sha}", sha)


def test_every_endpoint_needs_a_valid_token(env: Env, client: SyncClient) -> None:
    item = env.seed().item_id
    env.service.revoke_moderator("test", "moderator-1")
    bad = [
        {},
        auth("not-a-token"),
        {"Authorization": "Basic Zm9vOmJhcg=="},
        auth(env.tokens["moderator"]),  # revoked
    ]
    for method, template, body, _ in ENDPOINTS:
        for headers in bad:
            r = _call(client, method, _path(template, item), body, headers)
            assert r.status_code == 401, (method, template, headers, r.text)
            assert r.json()["error"]["code"] == "unauthorized"
            assert r.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "template", "body", "allowed"), ENDPOINTS)
def test_wrong_roles_get_403(
    env: Env, client: SyncClient, method: str, template: str, body: Any, allowed: set[str]
) -> None:
    item = env.seed().item_id
    for role in ROLES:
        r = _call(client, method, _path(template, item), body, auth(env.tokens[role]))
        if role in allowed:
            assert r.status_code != 403, (role, r.text)
            assert r.status_code < 500, (role, r.text)
        else:
            assert r.status_code == 403, (role, r.text)
            assert r.json()["error"]["code"] == "forbidden"


def test_child_safety_items_are_404_for_every_other_role(env: Env, client: SyncClient) -> None:
    image = Attachment(png_bytes(3), pdq="f" * 64)
    item = env.seed(reason="child_safety", child_safety=True, attachments=[image]).item_id
    # The child-safety moderator claims it, so that a lease exists to be hidden too.
    r = client.post(
        "/v1/review/queues/child_safety/claim", headers=auth(env.tokens["child_safety"])
    )
    assert r.status_code == 200
    assert r.json()["item"]["id"] == item
    for role in ("moderator", "lead"):
        for method, template, body, allowed in ITEM_ENDPOINTS:
            if role not in allowed:
                continue
            path = _path(template, item, image.sha256)
            r = _call(client, method, path, body, auth(env.tokens[role]))
            assert r.status_code == 404, (role, method, template, r.text)
            assert r.json()["error"]["code"] == "not_found"
        # The same answer as for an item that does not exist at all.
        r = client.get("/v1/review/items/999999", headers=auth(env.tokens[role]))
        assert r.status_code == 404
        queues = client.get("/v1/review/queues", headers=auth(env.tokens[role])).json()
        assert [q["queue"] for q in queues["queues"]] == ["general"]
    r = client.get(f"/v1/review/items/{item}", headers=auth(env.tokens["child_safety"]))
    assert r.status_code == 200
