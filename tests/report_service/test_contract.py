"""DESIGN.md "HTTP contract (reporter and relay side)", row by row, over real HTTP.

A real uvicorn serves the app on a 127.0.0.1 socket (the ``live_url`` fixture) and the
tests talk to it as an independent client would. The main report and every verification
failure are built by hand from the design's text (payload JSON, ``lp``/HMAC franking,
report JSON, ``SealedBox``), so that these tests do not lean on ``client_scan``'s
serializers; one test also drives the service through ``client_scan``'s own client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.public import PublicKey, SealedBox

from client_scan.errors import ReportRejected
from client_scan.report_format import encode_report
from client_scan.service_client import ServiceClient

from .conftest import Service, loopback_client

RECEIPT_KEYS = {"message_id", "stamp", "key_id", "timestamp_ms"}
DELIVERY_KEYS = {
    "message_id",
    "ciphertext",
    "commitment",
    "stamp",
    "key_id",
    "sender_id",
    "recipient_id",
    "conversation_id",
    "timestamp_ms",
}
FRANKED_MESSAGE_KEYS = DELIVERY_KEYS - {"message_id", "ciphertext"} | {"payload", "franking_key"}
VERIFICATION_CODES = (
    "unknown_key",
    "stamp_expired",
    "timestamp_invalid",
    "not_party",
    "stamp_invalid",
    "commitment_mismatch",
    "payload_invalid",
    "attachment_mismatch",
    "mixed_conversations",
)
STD_B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
SEALED = "application/octet-stream"
CONV = "alice-bob"


# -------------------------------------------------------------- the design, by hand


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object) -> bytes:
    """Decode a value the service sent, checking it is canonical standard padded base64."""
    assert isinstance(text, str)
    assert STD_B64.fullmatch(text), f"not standard padded base64: {text!r}"
    data = base64.b64decode(text, validate=True)
    assert b64(data) == text
    return data


def lp(x: bytes) -> bytes:
    return len(x).to_bytes(4, "big") + x


def mac(key: bytes, label: str, *fields: bytes) -> bytes:
    """``MAC(k, label, f1..fn) = HMAC-SHA256(k, lp(label) || lp(f1) || ... || lp(fn))``."""
    data = lp(label.encode()) + b"".join(lp(f) for f in fields)
    return hmac.new(key, data, hashlib.sha256).digest()


def commit_by_hand(fk: bytes, p: bytes) -> bytes:
    return mac(fk, "frankly/v1/commit", p)


def stamp_by_hand(secret: bytes, c: bytes, s: str, r: str, conv: str, t: int, kid: str) -> bytes:
    fields = (c, s.encode(), r.encode(), conv.encode(), t.to_bytes(8, "big"), kid.encode())
    return mac(secret, "frankly/v1/stamp", *fields)


def payload_by_hand(body: str, attachments: list[dict[str, Any]] | None = None) -> bytes:
    return json.dumps(
        {"v": 1, "id": str(uuid.uuid4()), "body": body, "attachments": attachments or []}
    ).encode()


def payload_id(p: bytes) -> str:
    pid: str = json.loads(p)["id"]
    return pid


class Hand:
    """Builds franked messages and reports from DESIGN.md's text, playing the platform
    with the service's own franking key (as the reference relay would)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.key = service.keys.franking.active

    def message(
        self,
        sender: str,
        recipient: str,
        body: str = "hello",
        *,
        conv: str = CONV,
        t: int | None = None,
        p: bytes | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        p = payload_by_hand(body, attachments) if p is None else p
        fk = os.urandom(32)
        c = commit_by_hand(fk, p)
        t = self.service.clock() - 1000 if t is None else t
        st = stamp_by_hand(self.key.secret, c, sender, recipient, conv, t, self.key.kid)
        return {
            "payload": b64(p),
            "franking_key": b64(fk),
            "commitment": b64(c),
            "stamp": b64(st),
            "key_id": self.key.kid,
            "sender_id": sender,
            "recipient_id": recipient,
            "conversation_id": conv,
            "timestamp_ms": t,
        }

    @staticmethod
    def report(
        reporter: str,
        messages: list[dict[str, Any]],
        reported: list[str] | None = None,
        attachments: dict[str, bytes] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        if reported is None:
            reported = [payload_id(base64.b64decode(messages[-1]["payload"]))]
        return {
            "v": 1,
            "report_id": str(uuid.uuid4()),
            "reporter_id": reporter,
            "reason": "harassment",
            "messages": messages,
            "reported": reported,
            "attachments": {k: b64(v) for k, v in (attachments or {}).items()},
            **extra,
        }


def seal(report: dict[str, Any] | bytes, public_key: bytes) -> bytes:
    raw = report if isinstance(report, bytes) else json.dumps(report).encode()
    return SealedBox(PublicKey(public_key)).encrypt(raw)


# ------------------------------------------------------------------------- plumbing


@pytest.fixture
def http(live_url: str) -> Iterator[httpx.Client]:
    with loopback_client(live_url) as client:
        yield client


def bearer(service: Service, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.tokens[user]}"}


def json_of(response: httpx.Response) -> Any:
    assert response.headers["content-type"].split(";")[0] == "application/json"
    return response.json()


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error object of a contract error answer, checked for shape."""
    assert response.status_code == status, response.text
    body = json_of(response)
    assert set(body) == {"error"}
    err: dict[str, Any] = body["error"]
    assert set(err) in ({"code", "message"}, {"code", "message", "message_index"})
    assert err["code"] == code
    assert isinstance(err["message"], str)
    assert err["message"]
    if "message_index" in err:
        assert type(err["message_index"]) is int
    return err


def public_key(http: httpx.Client) -> bytes:
    return unb64(json_of(http.get("/v1/keys/report"))["public_key"])


def submit(http: httpx.Client, service: Service, user: str, sealed: bytes) -> httpx.Response:
    return http.post(
        "/v1/reports", content=sealed, headers={**bearer(service, user), "Content-Type": SEALED}
    )


def relay_send(
    http: httpx.Client, service: Service, sender: str, recipient: str, ct: bytes, c: bytes
) -> httpx.Response:
    return http.post(
        "/v1/relay/messages",
        json={
            "recipient_id": recipient,
            "conversation_id": CONV,
            "ciphertext": b64(ct),
            "commitment": b64(c),
        },
        headers=bearer(service, sender),
    )


# -------------------------------------------------------------------------- the rows


def test_report_key_row(service: Service, http: httpx.Client) -> None:
    """``GET /v1/keys/report`` -> ``{key_id, public_key}`` (X25519, base64), no bearer."""
    response = http.get("/v1/keys/report")
    assert response.status_code == 200
    body = json_of(response)
    assert set(body) == {"key_id", "public_key"}
    assert isinstance(body["key_id"], str)
    assert body["key_id"]
    key = unb64(body["public_key"])
    assert len(key) == 32
    assert body["key_id"] == service.keys.active_sealing.kid
    assert key == service.keys.active_sealing.public_key
    PublicKey(key)  # a usable X25519 key


def test_relay_rows_and_a_hand_built_report(service: Service, http: httpx.Client) -> None:
    """The whole reporter-side flow by hand: relay send, inbox, report key, sealed
    report (201, then 200 with the same body), status for the reporter only."""
    session_key = os.urandom(32)
    picture = b"\x89PNG not really, but bytes the sender committed to" * 3
    digest = hashlib.sha256(picture).hexdigest()
    ref = {"id": "a0", "sha256": digest, "size": len(picture), "mime": "image/png"}
    body = "you will regret this"
    while True:  # make the ciphertext's base64 end in padding
        p = payload_by_hand(body, [ref])
        if (1 + 24 + 32 + len(p) + 16) % 3:
            break
        body += "!"
    fk = os.urandom(32)
    c = commit_by_hand(fk, p)
    nonce = os.urandom(24)
    # DESIGN's reference envelope: XChaCha20-Poly1305 over fk || P with c as associated data.
    ct = b"\x01" + nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(fk + p, c, nonce, session_key)

    # POST /v1/relay/messages -> {message_id, stamp, key_id, timestamp_ms}
    sent = relay_send(http, service, "alice", "bob", ct, c)
    assert sent.status_code == 200
    receipt = json_of(sent)
    assert set(receipt) == RECEIPT_KEYS
    assert isinstance(receipt["message_id"], str)
    assert receipt["message_id"]
    assert isinstance(receipt["key_id"], str)
    assert receipt["key_id"]
    assert type(receipt["timestamp_ms"]) is int
    assert receipt["timestamp_ms"] == service.clock()
    st = unb64(receipt["stamp"])
    secret = service.keys.franking.get(receipt["key_id"]).secret
    t = receipt["timestamp_ms"]
    assert st == stamp_by_hand(secret, c, "alice", "bob", CONV, t, receipt["key_id"])

    # GET /v1/relay/inbox -> {"deliveries": [nine fields]}; deliveries stay until acknowledged
    got = http.get("/v1/relay/inbox", headers=bearer(service, "bob"))
    assert got.status_code == 200
    inbox = json_of(got)
    assert set(inbox) == {"deliveries"}
    [d] = inbox["deliveries"]
    assert set(d) == DELIVERY_KEYS
    assert d["message_id"] == receipt["message_id"]
    assert unb64(d["ciphertext"]) == ct
    assert d["ciphertext"].endswith("=")
    assert unb64(d["commitment"]) == c
    assert unb64(d["stamp"]) == st
    assert (d["key_id"], d["timestamp_ms"]) == (receipt["key_id"], t)
    assert (d["sender_id"], d["recipient_id"], d["conversation_id"]) == ("alice", "bob", CONV)
    # a second fetch (the first answer may have been lost) delivers the same again
    assert json_of(http.get("/v1/relay/inbox", headers=bearer(service, "bob"))) == inbox
    assert json_of(http.get("/v1/relay/inbox", headers=bearer(service, "alice"))) == {
        "deliveries": []
    }

    # POST /v1/relay/inbox/ack {message_ids} -> {acknowledged: N}: only the caller's own
    # deliveries are removed, and repeating it is harmless
    def ack(user: str, ids: list[str]) -> dict[str, Any]:
        response = http.post(
            "/v1/relay/inbox/ack", json={"message_ids": ids}, headers=bearer(service, user)
        )
        assert response.status_code == 200
        body: dict[str, Any] = json_of(response)
        return body

    assert ack("alice", [d["message_id"]]) == {"acknowledged": 0}
    assert json_of(http.get("/v1/relay/inbox", headers=bearer(service, "bob"))) == inbox
    assert ack("bob", [d["message_id"]]) == {"acknowledged": 1}
    assert ack("bob", [d["message_id"]]) == {"acknowledged": 0}
    assert json_of(http.get("/v1/relay/inbox", headers=bearer(service, "bob"))) == {
        "deliveries": []
    }

    # bob opens and checks the message as DESIGN's "Receive" says
    plain = crypto_aead_xchacha20poly1305_ietf_decrypt(ct[25:], c, ct[1:25], session_key)
    got_fk, got_p = plain[:32], plain[32:]
    assert commit_by_hand(got_fk, got_p) == c

    # bob's own earlier message to alice, as context; the relay stamps bob's copy for him
    hand = Hand(service)
    context = hand.message("bob", "alice", "who is this?", t=t - 5000)
    reported = {
        "payload": b64(got_p),
        "franking_key": b64(got_fk),
        "commitment": d["commitment"],
        "stamp": d["stamp"],
        "key_id": d["key_id"],
        "sender_id": d["sender_id"],
        "recipient_id": d["recipient_id"],
        "conversation_id": d["conversation_id"],
        "timestamp_ms": d["timestamp_ms"],
    }
    assert set(reported) == FRANKED_MESSAGE_KEYS
    report = Hand.report(
        "bob",
        [context, reported],
        attachments={digest: picture},
        comment="he keeps sending these",
        device_matches=[],
    )
    sealed = seal(report, public_key(http))

    # POST /v1/reports -> 201 {report_id, status}; the same report again -> 200, same body
    first = submit(http, service, "bob", sealed)
    assert first.status_code == 201, first.text
    answer = json_of(first)
    assert set(answer) == {"report_id", "status"}
    assert answer["report_id"] == report["report_id"]
    assert isinstance(answer["status"], str)
    assert answer["status"]
    again = submit(http, service, "bob", sealed)
    assert again.status_code == 200
    assert json_of(again) == answer
    resealed = submit(http, service, "bob", seal(report, public_key(http)))
    assert resealed.status_code == 200
    assert json_of(resealed) == answer

    # GET /v1/reports/{report_id} -> {report_id, status, outcome?} for the reporter only
    status = http.get(f"/v1/reports/{report['report_id']}", headers=bearer(service, "bob"))
    assert status.status_code == 200
    assert json_of(status) == {"report_id": report["report_id"], "status": answer["status"]}


def test_verification_failures_are_422_naming_the_message(
    service: Service, http: httpx.Client
) -> None:
    """Every row of DESIGN's verification table, each report built by hand: HTTP 422, the
    code, the index of the failing message, and nothing stored."""
    hand = Hand(service)
    key = public_key(http)
    now = service.clock()
    zero_fk = bytes(32)
    bad_p = b'{"v":2,"id":"x","body":"?"}'
    stray = b"bytes no reported message commits to"

    def case(code: str) -> tuple[dict[str, Any], int | None]:
        context = hand.message("bob", "alice", "context")
        subject = hand.message("alice", "bob", "subject")
        reported: list[str] | None = None
        attachments: dict[str, bytes] = {}
        index: int | None = 1
        if code == "unknown_key":
            subject["key_id"] = "fk-not-in-the-keyring"
        elif code == "stamp_expired":
            subject = hand.message("alice", "bob", t=hand.key.created_at_ms - 1)
        elif code == "timestamp_invalid":
            subject = hand.message("alice", "bob", t=now + 3_600_000)
        elif code == "not_party":
            subject = hand.message("alice", "carol")
        elif code == "not_party/reported":  # bob may cite his own message, not report it
            subject = hand.message("bob", "alice")
        elif code == "stamp_invalid":
            subject["stamp"] = b64(bytes(32))
        elif code == "commitment_mismatch":
            subject["franking_key"] = b64(zero_fk)
        elif code == "payload_invalid":
            context = hand.message("alice", "bob", "the reported one, received by bob")
            subject = hand.message("alice", "bob", p=bad_p)
            reported = [payload_id(base64.b64decode(context["payload"]))]
        elif code == "attachment_mismatch":
            attachments = {hashlib.sha256(stray).hexdigest(): stray}
            index = None  # no message is at fault: see test_attachment_mismatch_index
        elif code == "mixed_conversations":
            subject = hand.message("alice", "bob", conv="another-conversation")
        return Hand.report("bob", [context, subject], reported, attachments), index

    for code in (*VERIFICATION_CODES, "not_party/reported"):
        report, index = case(code)
        response = submit(http, service, "bob", seal(report, key))
        err = error_of(response, 422, code.split("/")[0])
        assert err.get("message_index") == index, code
        gone = http.get(f"/v1/reports/{report['report_id']}", headers=bearer(service, "bob"))
        error_of(gone, 404, "not_found")


def test_attachment_mismatch_index(service: Service, http: httpx.Client) -> None:
    """Substituted bytes for an attachment committed in the reported message at index 1:
    422 ``attachment_mismatch``; ``message_index``, when given, names that message."""
    hand = Hand(service)
    real, fake = b"the committed picture", b"another picture"
    digest = hashlib.sha256(real).hexdigest()
    ref = {"id": "a0", "sha256": digest, "size": len(real), "mime": "image/png"}
    messages = [hand.message("bob", "alice", "hi"), hand.message("alice", "bob", attachments=[ref])]
    report = Hand.report("bob", messages, attachments={digest: fake})
    err = error_of(
        submit(http, service, "bob", seal(report, public_key(http))), 422, "attachment_mismatch"
    )
    assert err.get("message_index", 1) == 1


MALFORMED = [
    ("random bytes", 400, "seal_invalid"),
    ("sealed to another key", 400, "seal_invalid"),
    ("not JSON", 400, "report_invalid"),
    ("not an object", 400, "report_invalid"),
    ("version 2", 400, "unsupported_version"),
    ("unpadded base64", 400, "report_invalid"),
    ("url-safe base64", 400, "report_invalid"),
    ("report_id not a UUID", 400, "report_invalid"),
    ("51 messages", 422, "too_many_messages"),
    ("long comment", 422, "comment_too_long"),
    ("reporter is someone else", 422, "reporter_mismatch"),
    ("wrong content type", 415, "unsupported_media_type"),
    ("oversize", 413, "body_too_large"),
]


def test_malformed_reports_get_their_own_4xx_code(service: Service, http: httpx.Client) -> None:
    """Anything else malformed: a 4xx with its own code, no ``message_index``, never a
    5xx, and nothing stored."""
    hand = Hand(service)
    key = public_key(http)
    for what, status, code in MALFORMED:
        report = Hand.report("bob", [hand.message("alice", "bob")])
        content_type = SEALED
        body: bytes
        if what == "random bytes":
            body = os.urandom(200)
        elif what == "sealed to another key":
            body = seal(report, bytes(PublicKey(os.urandom(32))))
        elif what == "not JSON":
            body = seal(b"{not json", key)
        elif what == "not an object":
            body = seal(b"[1, 2]", key)
        elif what == "version 2":
            body = seal({**report, "v": 2}, key)
        elif what == "unpadded base64":
            report["messages"][0]["stamp"] = report["messages"][0]["stamp"].rstrip("=")
            body = seal(report, key)
        elif what == "url-safe base64":
            fk = report["messages"][0]["franking_key"]
            report["messages"][0]["franking_key"] = "-_" + fk[2:]
            body = seal(report, key)
        elif what == "report_id not a UUID":
            body = seal({**report, "report_id": "report-1"}, key)
        elif what == "51 messages":
            many = [hand.message("alice", "bob") for _ in range(51)]
            body = seal(Hand.report("bob", many), key)
        elif what == "long comment":
            body = seal({**report, "comment": "x" * 1001}, key)
        elif what == "reporter is someone else":
            body = seal({**report, "reporter_id": "carol"}, key)
        elif what == "wrong content type":
            body, content_type = seal(report, key), "application/json"
        else:
            body = os.urandom(service.app.state.settings.max_body_bytes + 1)
        response = http.post(
            "/v1/reports",
            content=body,
            headers={**bearer(service, "bob"), "Content-Type": content_type},
        )
        err = error_of(response, status, code)
        assert "message_index" not in err, what
        gone = http.get(f"/v1/reports/{report['report_id']}", headers=bearer(service, "bob"))
        error_of(gone, 404, "not_found")


def test_report_status_row(service: Service, http: httpx.Client) -> None:
    """``GET /v1/reports/{id}``: the reporter sees ``{report_id, status}`` and, once a
    moderator decided, ``outcome`` and ``notice``; anyone else gets the answer an unknown
    id gets."""
    hand = Hand(service)
    report = Hand.report("bob", [hand.message("alice", "bob", "spam")])
    assert submit(http, service, "bob", seal(report, public_key(http))).status_code == 201
    rid = report["report_id"]
    mine = http.get(f"/v1/reports/{rid}", headers=bearer(service, "bob"))
    assert mine.status_code == 200
    assert json_of(mine) == {"report_id": rid, "status": "received"}
    upper = http.get(f"/v1/reports/{rid.upper()}", headers=bearer(service, "bob"))
    assert json_of(upper) == {"report_id": rid, "status": "received"}

    theirs = http.get(f"/v1/reports/{rid}", headers=bearer(service, "carol"))
    unknown = http.get(f"/v1/reports/{uuid.uuid4()}", headers=bearer(service, "carol"))
    assert 400 <= theirs.status_code < 500
    assert theirs.status_code == unknown.status_code
    assert json_of(theirs) == json_of(unknown)
    error_of(theirs, 404, "not_found")

    # a moderator decides, over the same socket
    lead = service.app.state.review.add_moderator("cli", "lena", "lead").token
    moderator = {"Authorization": f"Bearer {lead}"}
    claimed = http.post("/v1/review/queues/general/claim", headers=moderator)
    assert claimed.status_code == 200, claimed.text
    item = claimed.json()["item"]["id"]
    decided = http.post(
        f"/v1/review/items/{item}/decision",
        json={"decision": "warn_sender", "policy": "harassment/1"},
        headers=moderator,
    )
    assert decided.status_code == 200, decided.text
    final = json_of(http.get(f"/v1/reports/{rid}", headers=bearer(service, "bob")))
    # The contract's fields, plus the plain-words notice of a decided report (DSA Art.
    # 16(5), 17; docs/service.md): what was decided, under which policy, how to appeal.
    assert set(final) == {"report_id", "status", "outcome", "notice"}
    assert "harassment/1" in final["notice"]
    assert "Article 20" in final["notice"]
    assert final["report_id"] == rid
    assert isinstance(final["status"], str)
    assert final["status"] != "received"
    assert final["outcome"] == "warn_sender"
    assert json_of(http.get(f"/v1/reports/{rid}", headers=bearer(service, "carol"))) == json_of(
        unknown
    )


def test_every_call_but_the_report_key_takes_a_bearer(service: Service, http: httpx.Client) -> None:
    hand = Hand(service)
    report = Hand.report("bob", [hand.message("alice", "bob")])
    sealed = seal(report, public_key(http))
    send_body = {
        "recipient_id": "bob",
        "conversation_id": CONV,
        "ciphertext": b64(b"ct"),
        "commitment": b64(bytes(32)),
    }
    for authorization in (
        None,
        "",
        "Bearer",
        "Bearer not-a-token",
        f"Basic {b64(b'bob:secret')}",
        f"Token {service.tokens['bob']}",
        service.tokens["bob"],
    ):
        headers = {} if authorization is None else {"Authorization": authorization}
        calls = [
            http.post("/v1/relay/messages", json=send_body, headers=headers),
            http.get("/v1/relay/inbox", headers=headers),
            http.post("/v1/relay/inbox/ack", json={"message_ids": []}, headers=headers),
            http.post("/v1/reports", content=sealed, headers={**headers, "Content-Type": SEALED}),
            http.get(f"/v1/reports/{report['report_id']}", headers=headers),
        ]
        for response in calls:
            error_of(response, 401, "unauthorized")
            assert response.headers["www-authenticate"].startswith("Bearer")
        # and the report key needs none, whatever comes along
        assert http.get("/v1/keys/report", headers=headers).status_code == 200
    # nothing was queued or stored on the way
    assert json_of(http.get("/v1/relay/inbox", headers=bearer(service, "bob"))) == {
        "deliveries": []
    }
    gone = http.get(f"/v1/reports/{report['report_id']}", headers=bearer(service, "bob"))
    error_of(gone, 404, "not_found")


def test_relay_send_is_idempotent_by_client_message_id_and_the_inbox_pages(
    service: Service, http: httpx.Client
) -> None:
    """The optional ``client_message_id`` of ``POST /v1/relay/messages``: a repeat gets the
    first answer; another request under it is 409 ``client_message_id_reused``. The inbox
    answers in pages: ``next_cursor`` (only when more follow) is passed back as ``after``."""
    cid = str(uuid.uuid4())
    body = {
        "recipient_id": "bob",
        "conversation_id": CONV,
        "ciphertext": b64(b"one"),
        "commitment": b64(bytes(32)),
        "client_message_id": cid,
    }
    first = http.post("/v1/relay/messages", json=body, headers=bearer(service, "alice"))
    assert first.status_code == 200
    assert set(json_of(first)) == RECEIPT_KEYS
    again = http.post("/v1/relay/messages", json=body, headers=bearer(service, "alice"))
    assert (again.status_code, json_of(again)) == (200, json_of(first))
    other = {**body, "ciphertext": b64(b"two")}
    refused = http.post("/v1/relay/messages", json=other, headers=bearer(service, "alice"))
    error_of(refused, 409, "client_message_id_reused")
    service.clock.now_ms += 1  # deliveries come in (timestamp_ms, message_id) order
    relay_send(http, service, "alice", "bob", b"three", bytes(32))
    page = json_of(http.get("/v1/relay/inbox?limit=1", headers=bearer(service, "bob")))
    assert set(page) == {"deliveries", "next_cursor"}
    assert [d["message_id"] for d in page["deliveries"]] == [json_of(first)["message_id"]]
    rest = json_of(
        http.get(
            "/v1/relay/inbox",
            params={"limit": 1, "after": page["next_cursor"]},
            headers=bearer(service, "bob"),
        )
    )
    assert set(rest) == {"deliveries"}
    assert len(rest["deliveries"]) == 1
    assert set(rest["deliveries"][0]) == DELIVERY_KEYS
    bad = http.get("/v1/relay/inbox?after=nonsense", headers=bearer(service, "bob"))
    error_of(bad, 400, "invalid_cursor")


NOT_STANDARD_B64 = [
    ("commitment", b64(bytes(32)).rstrip("=")),  # no padding
    ("commitment", b64(b"\xfb\xff" + bytes(30)).replace("+", "-").replace("/", "_")),
    ("commitment", " " + b64(bytes(32))),
    ("commitment", b64(bytes(31))),  # base64, but not 32 bytes
    ("ciphertext", b64(b"ciphertext!").rstrip("=")),
    ("ciphertext", "Y2lwaGVy\ndGV4dA=="),
]


def test_relay_takes_standard_padded_base64_only(service: Service, http: httpx.Client) -> None:
    for field, value in NOT_STANDARD_B64:
        body = {
            "recipient_id": "bob",
            "conversation_id": CONV,
            "ciphertext": b64(b"ciphertext!"),
            "commitment": b64(bytes(32)),
            field: value,
        }
        response = http.post("/v1/relay/messages", json=body, headers=bearer(service, "alice"))
        assert 400 <= response.status_code < 500, (field, value)
        err = error_of(response, response.status_code, json_of(response)["error"]["code"])
        assert "message_index" not in err
    assert json_of(http.get("/v1/relay/inbox", headers=bearer(service, "bob"))) == {
        "deliveries": []
    }


def test_client_scan_client_speaks_the_same_contract(service: Service, live_url: str) -> None:
    """``client_scan``'s own client against the live socket: a report built with the
    library's builders, its repeat, its status, and a typed rejection."""
    with ServiceClient(live_url, service.tokens["bob"]) as bob:
        key = bob.report_key()
        assert key.public_key == service.keys.active_sealing.public_key
        report = service.report("bob", [service.frank("alice", "bob", "builders")])
        sealed = service.seal(report)
        first, again = bob.submit_report(sealed), bob.submit_report(sealed)
        assert (first.created, again.created) == (True, False)
        assert first.report_id == again.report_id == report.report_id
        assert bob.report_status(report.report_id).status == first.status
        context = service.frank("bob", "alice", "hello")
        bad = service.report("bob", [context, service.frank("alice", "carol")])
        with pytest.raises(ReportRejected) as rejected:
            bob.submit_report(service.seal(encode_report(bad)))
        assert (rejected.value.status, rejected.value.code) == (422, "not_party")
        assert rejected.value.message_index == 1
