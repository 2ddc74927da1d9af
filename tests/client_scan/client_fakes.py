"""A faithful in-process fake of the service's reporter and relay HTTP contract
(DESIGN.md, "HTTP contract"), served through :class:`httpx.MockTransport`.

It stamps with a real :class:`Keyring`, opens reports with the real sealing code and
verifies them with the real :func:`verify_report`, so a report the fake accepts is one the
real service would accept. Failures can be scripted (``fail_next``) and every request is
counted (``requests``).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from nacl.public import PrivateKey

from client_scan.errors import FrankingError, ReportFormatError, SealError
from client_scan.franking import FrankingKey, Keyring, stamp
from client_scan.report_format import normalise_report_id, parse_report
from client_scan.sealing import open_sealed_report

__all__ = ["FakeService", "make_keyring"]

PLATFORM_SECRET = bytes(range(32))


def make_keyring(created_at_ms: int = 0) -> Keyring:
    return Keyring(keys=(FrankingKey("k1", PLATFORM_SECRET, created_at_ms),), active_kid="k1")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _error(status: int, code: str, message: str, index: int | None = None) -> httpx.Response:
    err: dict[str, Any] = {"code": code, "message": message}
    if index is not None:
        err["message_index"] = index
    return httpx.Response(status, json={"error": err})


@dataclass
class StoredReport:
    reporter_id: str
    body: dict[str, Any]
    outcome: str | None = None


@dataclass
class FakeService:
    """The contract's reporter and relay side, in memory."""

    now_ms: Callable[[], int]
    tokens: dict[str, str] = field(default_factory=lambda: {"tok-alice": "alice", "tok-bob": "bob"})
    keyring: Keyring = field(default_factory=make_keyring)
    report_key_id: str = "rk1"
    report_key: PrivateKey = field(default_factory=PrivateKey.generate)
    inboxes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sends: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    page_size: int = 100
    reports: dict[str, StoredReport] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_next: list[httpx.Response | Exception] = field(default_factory=list)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def report_posts(self) -> int:
        return sum(1 for method, path in self.requests if (method, path) == ("POST", "/v1/reports"))

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append((request.method, path))
        if self.fail_next:
            failure = self.fail_next.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        if request.method == "GET" and path == "/v1/keys/report":
            return httpx.Response(
                200,
                json={
                    "key_id": self.report_key_id,
                    "public_key": _b64(bytes(self.report_key.public_key)),
                },
            )
        auth = request.headers.get("Authorization", "")
        user = self.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if user is None:
            return _error(401, "unauthorized", "missing or unknown bearer token")
        if request.method == "POST" and path == "/v1/relay/messages":
            return self._relay(user, json.loads(request.content))
        if request.method == "GET" and path == "/v1/relay/inbox":
            # acknowledged, not drained: deliveries stay until /v1/relay/inbox/ack
            queued = self.inboxes.get(user, [])
            after = request.url.params.get("after")
            start = 0
            if after is not None:
                ids = [d["message_id"] for d in queued]
                start = ids.index(after) + 1 if after in ids else 0
            page = queued[start : start + self.page_size]
            body: dict[str, Any] = {"deliveries": page}
            if start + self.page_size < len(queued):
                body["next_cursor"] = page[-1]["message_id"]
            return httpx.Response(200, json=body)
        if request.method == "POST" and path == "/v1/relay/inbox/ack":
            wanted = set(json.loads(request.content)["message_ids"])
            queued = self.inboxes.get(user, [])
            kept = [d for d in queued if d["message_id"] not in wanted]
            self.inboxes[user] = kept
            return httpx.Response(200, json={"acknowledged": len(queued) - len(kept)})
        if request.method == "POST" and path == "/v1/reports":
            if request.headers.get("Content-Type") != "application/octet-stream":
                return _error(415, "unsupported_media_type", "send application/octet-stream")
            return self._report(user, request.content)
        if request.method == "GET" and path.startswith("/v1/reports/"):
            report_id = path.removeprefix("/v1/reports/")
            stored = self.reports.get(report_id)
            if stored is None or stored.reporter_id != user:
                return _error(404, "not_found", "no such report")
            answer: dict[str, Any] = {"report_id": report_id, "status": stored.body["status"]}
            if stored.outcome is not None:
                answer["outcome"] = stored.outcome
            return httpx.Response(200, json=answer)
        return _error(404, "not_found", "no such route")

    def _relay(self, sender: str, body: dict[str, Any]) -> httpx.Response:
        ciphertext = base64.b64decode(body["ciphertext"], validate=True)
        commitment = base64.b64decode(body["commitment"], validate=True)
        recipient, conv = body["recipient_id"], body["conversation_id"]
        cid = body.get("client_message_id")
        if cid is not None and (sender, cid) in self.sends:
            first_body, answer = self.sends[(sender, cid)]
            if first_body != json.dumps(body, sort_keys=True):
                return _error(409, "client_message_id_reused", "another message under this id")
            return httpx.Response(200, json=answer)
        t = self.now_ms()
        st = stamp(self.keyring, commitment, sender, recipient, conv, t)
        message_id = str(uuid.uuid4())
        self.inboxes.setdefault(recipient, []).append(
            {
                "message_id": message_id,
                "ciphertext": _b64(ciphertext),
                "commitment": _b64(commitment),
                "stamp": _b64(st.tag),
                "key_id": st.key_id,
                "sender_id": sender,
                "recipient_id": recipient,
                "conversation_id": conv,
                "timestamp_ms": t,
            }
        )
        receipt = {
            "message_id": message_id,
            "stamp": _b64(st.tag),
            "key_id": st.key_id,
            "timestamp_ms": t,
        }
        if cid is not None:
            self.sends[(sender, cid)] = (json.dumps(body, sort_keys=True), receipt)
        return httpx.Response(200, json=receipt)

    def _report(self, reporter: str, sealed: bytes) -> httpx.Response:
        try:
            report = parse_report(open_sealed_report(sealed, bytes(self.report_key)))
        except SealError as exc:
            return _error(400, exc.code, "report is not sealed to the service key")
        except ReportFormatError as exc:
            return _error(422, exc.code, exc.detail)
        report_id = normalise_report_id(report.report_id)
        if report_id in self.reports:
            return httpx.Response(200, json=self.reports[report_id].body)
        from client_scan.franking import verify_report

        try:
            verify_report(report, reporter, self.keyring, self.now_ms())
        except FrankingError as exc:
            return _error(422, exc.code, exc.detail, exc.message_index)
        except ReportFormatError as exc:
            return _error(422, exc.code, exc.detail)
        body = {"report_id": report_id, "status": "received"}
        self.reports[report_id] = StoredReport(reporter, body)
        return httpx.Response(201, json=body)
