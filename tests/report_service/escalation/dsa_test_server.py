"""A stand-in for the DSA Transparency Database's multiple-statements endpoint, served
for real on 127.0.0.1 by the tests: ``POST /api/v1/statements``.

It checks what the public API documentation says the database checks, written here
apart from the code under test: the bearer token (401), the body ``{"statements": [...]}``
with 1 to 100 entries (422), each statement's required fields, allowed values, ground
rules, date forms and PUID form (422 ``statement_N``), and PUIDs unique within the
platform (422 ``existing_puids``; then nothing is created). ``fail_next`` injects
answers: an HTTP status to return instead, or ``"lost"`` to store the batch and answer
500 as if the answer were lost on the way back.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

TOKEN = "X|test-token-for-the-stand-in"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PUID = re.compile(r"^[a-zA-Z0-9_-]+$")
REQUIRED = [
    "decision_ground",
    "content_type",
    "category",
    "content_date",
    "application_date",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
    "puid",
]
ALLOWED: dict[str, set[str]] = {
    "decision_ground": {"DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"},
    "decision_account": {"DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"},
    "decision_provision": {
        "DECISION_PROVISION_PARTIAL_SUSPENSION",
        "DECISION_PROVISION_TOTAL_SUSPENSION",
        "DECISION_PROVISION_PARTIAL_TERMINATION",
        "DECISION_PROVISION_TOTAL_TERMINATION",
    },
    "source_type": {
        "SOURCE_ARTICLE_16",
        "SOURCE_TRUSTED_FLAGGER",
        "SOURCE_TYPE_OTHER_NOTIFICATION",
        "SOURCE_VOLUNTARY",
    },
    "automated_detection": {"Yes", "No"},
    "category": {
        "STATEMENT_CATEGORY_" + c
        for c in [
            "ANIMAL_WELFARE",
            "CONSUMER_INFORMATION",
            "CYBER_VIOLENCE",
            "CYBER_VIOLENCE_AGAINST_WOMEN",
            "DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
            "ILLEGAL_OR_HARMFUL_SPEECH",
            "INTELLECTUAL_PROPERTY_INFRINGEMENTS",
            "NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
            "NOT_SPECIFIED_NOTICE",
            "OTHER_VIOLATION_TC",
            "PROTECTION_OF_MINORS",
            "RISK_FOR_PUBLIC_SECURITY",
            "SCAMS_AND_FRAUD",
            "SELF_HARM",
            "UNSAFE_AND_PROHIBITED_PRODUCTS",
            "VIOLENCE",
        ]
    },
    "automated_decision": {
        "AUTOMATED_DECISION_FULLY",
        "AUTOMATED_DECISION_PARTIALLY",
        "AUTOMATED_DECISION_NOT_AUTOMATED",
    },
}
ALLOWED_LISTS: dict[str, set[str]] = {
    "decision_visibility": {
        "DECISION_VISIBILITY_CONTENT_REMOVED",
        "DECISION_VISIBILITY_CONTENT_DISABLED",
        "DECISION_VISIBILITY_CONTENT_DEMOTED",
        "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
        "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
        "DECISION_VISIBILITY_CONTENT_LABELLED",
        "DECISION_VISIBILITY_OTHER",
    },
    "content_type": {
        "CONTENT_TYPE_APP",
        "CONTENT_TYPE_AUDIO",
        "CONTENT_TYPE_IMAGE",
        "CONTENT_TYPE_PRODUCT",
        "CONTENT_TYPE_SYNTHETIC_MEDIA",
        "CONTENT_TYPE_TEXT",
        "CONTENT_TYPE_VIDEO",
        "CONTENT_TYPE_OTHER",
    },
    "territorial_scope": set(
        [
            "AT",
            "BE",
            "BG",
            "CY",
            "CZ",
            "DE",
            "DK",
            "EE",
            "ES",
            "FI",
            "FR",
            "GR",
            "HR",
            "HU",
            "IE",
            "IS",
            "IT",
            "LI",
            "LT",
            "LU",
            "LV",
            "MT",
            "NL",
            "NO",
            "PL",
            "PT",
            "RO",
            "SE",
            "SI",
            "SK",
        ]
    ),
}


def check(s: Any) -> dict[str, list[str]]:
    """The documented validation of one statement."""
    if not isinstance(s, dict):
        return {"statement": ["not an object"]}
    errors: dict[str, list[str]] = {}
    for key in REQUIRED:
        if not s.get(key):
            errors.setdefault(key, []).append(f"The {key} field is required.")
    if not any(
        s.get(k)
        for k in (
            "decision_visibility",
            "decision_monetary",
            "decision_provision",
            "decision_account",
        )
    ):
        errors.setdefault("decision_visibility", []).append("a decision field is required")
    for key, allowed in ALLOWED.items():
        if key in s and s[key] not in allowed:
            errors.setdefault(key, []).append(f"The selected {key} is invalid.")
    for key, allowed in ALLOWED_LISTS.items():
        if key in s and not (isinstance(s[key], list) and s[key] and set(s[key]) <= allowed):
            errors.setdefault(key, []).append(f"The selected {key} is invalid.")
    ground = str(s.get("decision_ground"))
    needs: dict[str, tuple[str, ...]] = {
        "DECISION_GROUND_ILLEGAL_CONTENT": (
            "illegal_content_legal_ground",
            "illegal_content_explanation",
        ),
        "DECISION_GROUND_INCOMPATIBLE_CONTENT": (
            "incompatible_content_ground",
            "incompatible_content_explanation",
        ),
    }
    for key in needs.get(ground, ()):
        if not s.get(key):
            errors.setdefault(key, []).append(f"The {key} field is required.")
    if "DECISION_VISIBILITY_OTHER" in (s.get("decision_visibility") or []) and not s.get(
        "decision_visibility_other"
    ):
        errors.setdefault("decision_visibility_other", []).append("required")
    for key in ("content_date", "application_date"):
        if key in s and not _DATE.match(str(s[key])):
            errors.setdefault(key, []).append("does not match the format YYYY-MM-DD")
    if len(str(s.get("decision_facts", ""))) > 5000:
        errors.setdefault("decision_facts", []).append("too long")
    puid = s.get("puid")
    if puid is not None and not (isinstance(puid, str) and _PUID.match(puid) and len(puid) <= 500):
        errors.setdefault("puid", []).append("The puid format is invalid.")
    return errors


@dataclass
class Database:
    """What the stand-in holds and how it misbehaves."""

    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[int] = field(default_factory=list)  # batch sizes received
    fail_next: list[int | str] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/statements")
        async def statements(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                return JSONResponse({"message": "Unauthenticated."}, status_code=401)
            if request.headers.get("content-type") != "application/json":
                return JSONResponse({"message": "json expected"}, status_code=415)
            body = await request.json()
            batch = body.get("statements") if isinstance(body, dict) else None
            if not isinstance(batch, list) or not 1 <= len(batch) <= 100:
                return JSONResponse(
                    {"errors": {"statements": ["between 1 and 100"]}}, status_code=422
                )
            self.calls.append(len(batch))
            injected = self.fail_next.pop(0) if self.fail_next else None
            if isinstance(injected, int):
                return JSONResponse({"message": "injected"}, status_code=injected)
            errors = {f"statement_{i}": e for i, s in enumerate(batch) if (e := check(s))}
            if errors:
                return JSONResponse({"errors": errors}, status_code=422)
            existing = [s["puid"] for s in batch if s["puid"] in self.created]
            if existing:
                return JSONResponse(
                    {
                        "message": "The platform identifier(s) are not all unique.",
                        "errors": {"puid": ["not unique"], "existing_puids": existing},
                    },
                    status_code=422,
                )
            out = []
            for s in batch:
                stored = {**s, "uuid": str(uuid.uuid4())}
                self.created[s["puid"]] = stored
                out.append(stored)
            if injected == "lost":
                return JSONResponse({"message": "Server Error"}, status_code=500)
            return JSONResponse({"statements": out}, status_code=201)

        return app
