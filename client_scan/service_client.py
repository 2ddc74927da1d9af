"""The client's one way to the network: an httpx client for DESIGN.md's HTTP contract.

Every request goes through the single injectable ``transport`` (an
:class:`httpx.BaseTransport`; tests pass :class:`httpx.MockTransport` or
:class:`httpx.ASGITransport`-style adapters, apps may pass their own). Nothing here sends
content, hashes or match results anywhere on its own: it only carries what the caller hands
it (ciphertexts to the relay, a sealed report the user asked for).

Failures map onto :mod:`client_scan.errors`:

- no answer (connection, timeout), 5xx, 429: :class:`SubmissionDeferred` (retryable;
  ``retry_after_s`` from a ``Retry-After`` header given in seconds);
- any other 4xx: :class:`ReportRejected` with the service's ``code``, the HTTP ``status``
  and the ``message_index`` when the service names a message;
- a success answer that does not follow the contract: :class:`SubmissionError`.

The bearer token is never put in an error message or a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from client_scan.bounded_json import JsonInputError, parse_json
from client_scan.errors import ReportRejected, SubmissionDeferred, SubmissionError

__all__ = [
    "Delivery",
    "InboxPage",
    "RelayReceipt",
    "ReportStatus",
    "ServiceClient",
    "ServiceKey",
    "SubmitResult",
    "parse_delivery",
    "parse_retry_after",
]

DEFAULT_TIMEOUT_S = 15.0
MAX_RETRY_AFTER_S = 24 * 3600.0
MAX_ACK_IDS = 1000
"""The relay takes at most this many ids per acknowledgement; :meth:`ServiceClient.ack`
splits longer lists."""


@dataclass(frozen=True, slots=True)
class RelayReceipt:
    """The relay's answer to a send: the sender's copy of the stamp."""

    message_id: str
    stamp: bytes
    key_id: str
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One relay delivery ``(ciphertext, c, st, kid, s, r, conv, t)`` plus its relay id."""

    message_id: str
    ciphertext: bytes
    commitment: bytes
    stamp: bytes
    key_id: str
    sender_id: str
    recipient_id: str
    conversation_id: str
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class InboxPage:
    """One page of ``GET /v1/relay/inbox``; ``next_cursor`` is set when more follow."""

    deliveries: tuple[Delivery, ...]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceKey:
    """The service's report-sealing public key (X25519) and its id."""

    key_id: str
    public_key: bytes


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The service accepted a report: ``created`` is False when it had it already."""

    report_id: str
    status: str
    created: bool


@dataclass(frozen=True, slots=True)
class ReportStatus:
    """A report's status and, once decided, its outcome (as the service words it)."""

    report_id: str
    status: str
    outcome: Any = None


class _Malformed(Exception):
    pass


def _field(obj: dict[str, Any], name: str, kind: type) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Malformed(f"field {name!r} is missing or not {kind.__name__}")
    return value


def _b64_field(obj: dict[str, Any], name: str) -> bytes:
    try:
        return base64.b64decode(_field(obj, name, str), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _Malformed(f"field {name!r} is not base64") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header in its delta-seconds form (bounded to a day);
    ``None`` when absent or in the HTTP-date form (the backoff then decides alone)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER_S)


def parse_delivery(obj: object) -> Delivery:
    """Parse one delivery object of ``GET /v1/relay/inbox``.

    Raises:
        SubmissionError: the object does not follow the contract.
    """
    try:
        if not isinstance(obj, dict):
            raise _Malformed("a delivery must be an object")
        return Delivery(
            message_id=str(_field(obj, "message_id", str)),
            ciphertext=_b64_field(obj, "ciphertext"),
            commitment=_b64_field(obj, "commitment"),
            stamp=_b64_field(obj, "stamp"),
            key_id=_field(obj, "key_id", str),
            sender_id=_field(obj, "sender_id", str),
            recipient_id=_field(obj, "recipient_id", str),
            conversation_id=_field(obj, "conversation_id", str),
            timestamp_ms=_field(obj, "timestamp_ms", int),
        )
    except _Malformed as exc:
        raise SubmissionError(f"malformed relay delivery: {exc}") from exc


def _error_from(response: httpx.Response) -> SubmissionError:
    """The exception for a non-2xx answer."""
    status = response.status_code
    if status == 429 or status >= 500:
        return SubmissionDeferred(
            f"service answered {status}; retry later",
            retry_after_s=parse_retry_after(response.headers.get("Retry-After")),
        )
    code, message, index = "http_error", response.reason_phrase or "", None
    try:
        body = parse_json(response.content, max_bytes=64 * 1024)
        err = body["error"]
        code = str(err["code"])
        message = str(err.get("message", ""))
        raw_index = err.get("message_index")
        if isinstance(raw_index, int) and not isinstance(raw_index, bool):
            index = raw_index
    except (ValueError, KeyError, TypeError):
        pass
    return ReportRejected(code, message, status=status, message_index=index)


class ServiceClient:
    """A client for the report service and relay (DESIGN.md, "HTTP contract").

    ``transport`` is the only network seam; ``None`` means httpx's default (real network).
    Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._token = token
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout_s,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"ServiceClient(base_url={str(self._http.base_url)!r})"

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[httpx.Response, Any]:
        all_headers = {"Accept": "application/json", **(headers or {})}
        if auth:
            all_headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = self._http.request(
                method, path, json=json_body, content=content, headers=all_headers, params=params
            )
        except httpx.TransportError as exc:
            # The message names the failure kind only (never the request or headers).
            raise SubmissionDeferred(
                f"service unreachable ({type(exc).__name__}); retry later"
            ) from None
        if not response.is_success:
            raise _error_from(response)
        try:
            # The service's answer is input too: a huge number or deep nesting must not
            # escape as a plain ValueError or RecursionError.
            body = parse_json(response.content, max_bytes=None)
        except JsonInputError as exc:
            raise SubmissionError(f"{method} {path}: answer is not JSON") from exc
        if not isinstance(body, dict):
            raise SubmissionError(f"{method} {path}: answer is not a JSON object")
        return response, body

    def relay_send(
        self,
        recipient_id: str,
        conversation_id: str,
        ciphertext: bytes,
        commitment: bytes,
        *,
        client_message_id: str | None = None,
    ) -> RelayReceipt:
        """``POST /v1/relay/messages``: hand ``(ciphertext, c)`` to the relay.

        With ``client_message_id`` the send is idempotent: repeating the same request
        returns the first receipt (same ``message_id`` and stamp), so a send whose answer
        was lost can be retried safely.

        Raises:
            SubmissionDeferred: network failure, 5xx or 429 (quota: ``retry_after_s``).
            ReportRejected: another 4xx (its ``code`` is the service's; 409
                ``client_message_id_reused`` for another request under the same id).
            SubmissionError: the answer does not follow the contract.
        """
        request: dict[str, str] = {
            "recipient_id": recipient_id,
            "conversation_id": conversation_id,
            "ciphertext": _b64(ciphertext),
            "commitment": _b64(commitment),
        }
        if client_message_id is not None:
            request["client_message_id"] = client_message_id
        _, body = self._request("POST", "/v1/relay/messages", json_body=request)
        try:
            return RelayReceipt(
                message_id=str(_field(body, "message_id", str)),
                stamp=_b64_field(body, "stamp"),
                key_id=_field(body, "key_id", str),
                timestamp_ms=_field(body, "timestamp_ms", int),
            )
        except _Malformed as exc:
            raise SubmissionError(f"malformed relay answer: {exc}") from exc

    def inbox(self) -> list[Delivery]:
        """The first page of :meth:`inbox_page`. Fetching removes nothing: acknowledge
        what you stored with :meth:`ack`.

        Raises:
            SubmissionDeferred, ReportRejected, SubmissionError: as for :meth:`relay_send`.
        """
        return list(self.inbox_page().deliveries)

    def inbox_page(self, *, after: str | None = None, limit: int | None = None) -> InboxPage:
        """``GET /v1/relay/inbox``: one page of pending deliveries, oldest first, from
        after the cursor ``after`` (a page's ``next_cursor``). The deliveries stay on the
        relay until acknowledged (:meth:`ack`) or their TTL passes.

        Raises:
            SubmissionDeferred, ReportRejected, SubmissionError: as for :meth:`relay_send`.
        """
        params: dict[str, str] = {}
        if after is not None:
            params["after"] = after
        if limit is not None:
            params["limit"] = str(limit)
        _, body = self._request("GET", "/v1/relay/inbox", params=params or None)
        items = body.get("deliveries")
        if not isinstance(items, list):
            raise SubmissionError("malformed inbox answer: 'deliveries' is not a list")
        cursor = body.get("next_cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise SubmissionError("malformed inbox answer: 'next_cursor' is not a string")
        return InboxPage(tuple(parse_delivery(item) for item in items), cursor or None)

    def ack(self, message_ids: Sequence[str]) -> int:
        """``POST /v1/relay/inbox/ack``: tell the relay these deliveries are stored, so it
        removes them. Only the caller's own deliveries are removed; repeating is harmless.
        Returns how many were removed by this call.

        Raises:
            SubmissionDeferred, ReportRejected, SubmissionError: as for :meth:`relay_send`.
        """
        acknowledged = 0
        ids = list(message_ids)
        for start in range(0, len(ids), MAX_ACK_IDS):
            _, body = self._request(
                "POST",
                "/v1/relay/inbox/ack",
                json_body={"message_ids": ids[start : start + MAX_ACK_IDS]},
            )
            try:
                acknowledged += int(_field(body, "acknowledged", int))
            except _Malformed as exc:
                raise SubmissionError(f"malformed ack answer: {exc}") from exc
        return acknowledged

    def report_key(self) -> ServiceKey:
        """``GET /v1/keys/report``: the service's current report-sealing key (unpinned:
        see :func:`client_scan.pinning.fetch_and_pin`).

        Raises:
            SubmissionDeferred, ReportRejected, SubmissionError: as for :meth:`relay_send`.
        """
        _, body = self._request("GET", "/v1/keys/report", auth=False)
        try:
            key = ServiceKey(_field(body, "key_id", str), _b64_field(body, "public_key"))
        except _Malformed as exc:
            raise SubmissionError(f"malformed key answer: {exc}") from exc
        if len(key.public_key) != 32 or not key.key_id:
            raise SubmissionError("malformed key answer: not a 32-byte X25519 key with an id")
        return key

    def submit_report(self, sealed: bytes) -> SubmitResult:
        """``POST /v1/reports``: submit a sealed report (idempotent by its report id).

        Raises:
            SubmissionDeferred: network failure, 5xx or 429 (``retry_after_s`` when given).
            ReportRejected: refused for good, with the service's code and message index.
            SubmissionError: the answer does not follow the contract.
        """
        response, body = self._request(
            "POST",
            "/v1/reports",
            content=sealed,
            headers={"Content-Type": "application/octet-stream"},
        )
        try:
            return SubmitResult(
                report_id=_field(body, "report_id", str),
                status=_field(body, "status", str),
                created=response.status_code == 201,
            )
        except _Malformed as exc:
            raise SubmissionError(f"malformed report answer: {exc}") from exc

    def report_status(self, report_id: str) -> ReportStatus:
        """``GET /v1/reports/{report_id}``: the report's status and outcome.

        Raises:
            SubmissionDeferred, ReportRejected, SubmissionError: as for :meth:`relay_send`
            (a report the service does not know is a :class:`ReportRejected` with 404).
        """
        _, body = self._request("GET", f"/v1/reports/{quote(report_id, safe='')}")
        try:
            return ReportStatus(
                report_id=_field(body, "report_id", str),
                status=_field(body, "status", str),
                outcome=body.get("outcome"),
            )
        except _Malformed as exc:
            raise SubmissionError(f"malformed status answer: {exc}") from exc
