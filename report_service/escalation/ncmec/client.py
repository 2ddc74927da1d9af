"""The HTTP client of the CyberTipline reporting web service (one call per step).

Routes, relative to the configured base URL (NCMEC's test or production service):
``POST /submit`` (a ``report`` document, ``text/xml``), ``POST /upload`` (multipart:
``id`` = report id, ``file``), ``POST /fileinfo`` (a ``fileDetails`` document),
``POST /finish`` and ``POST /retract`` (form: ``id``). Every call uses HTTP Basic
authentication. Answers are parsed by :func:`.xml.parse_response`.

Failures are sorted by what the caller does next: :class:`NcmecUnavailable` (timeouts,
connection errors, 5xx, 429: try again later) or :class:`NcmecRejected` (any other
non-2xx, or a non-zero ``responseCode``: the same request will not succeed). The
credentials never appear in an error message or a log line.
"""

from __future__ import annotations

import httpx

from report_service.escalation.ncmec.errors import NcmecRejected, NcmecUnavailable, SchemaViolation
from report_service.escalation.ncmec.model import Response
from report_service.escalation.ncmec.xml import MAX_RESPONSE_BYTES, parse_response

XML_TYPE = "text/xml; charset=utf-8"


class CyberTiplineClient:
    """Calls to one CyberTipline endpoint. ``transport`` is for tests only."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=httpx.BasicAuth(username, password),
            timeout=timeout_s,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def submit(self, report_xml: bytes) -> int:
        """Open a report; NCMEC's report id.

        Raises:
            NcmecUnavailable, NcmecRejected: see the module docstring.
        """
        answer = self._call("/submit", content=report_xml, headers={"Content-Type": XML_TYPE})
        if answer.report_id is None:
            raise NcmecRejected("the submit answer carries no reportId", answer.response_code)
        return answer.report_id

    def upload(self, report_id: int, file_name: str, data: bytes, mime: str) -> Response:
        """Upload one file to an open report; the answer holds ``file_id`` and NCMEC's
        ``file_hash`` (MD5) of what it received.

        Raises:
            NcmecUnavailable, NcmecRejected: see the module docstring.
        """
        answer = self._call(
            "/upload", data={"id": str(report_id)}, files={"file": (file_name, data, mime)}
        )
        if not answer.file_id:
            raise NcmecRejected("the upload answer carries no fileId", answer.response_code)
        return answer

    def file_info(self, details_xml: bytes) -> None:
        """Send one file's ``fileDetails``.

        Raises:
            NcmecUnavailable, NcmecRejected: see the module docstring.
        """
        self._call("/fileinfo", content=details_xml, headers={"Content-Type": XML_TYPE})

    def finish(self, report_id: int) -> Response:
        """Finish (file) an open report.

        Raises:
            NcmecUnavailable, NcmecRejected: see the module docstring.
        """
        return self._call("/finish", data={"id": str(report_id)})

    def retract(self, report_id: int) -> None:
        """Cancel a report that was opened but not finished.

        Raises:
            NcmecUnavailable, NcmecRejected: see the module docstring.
        """
        self._call("/retract", data={"id": str(report_id)})

    def _call(self, route: str, **kw: object) -> Response:
        try:
            with self._client.stream("POST", route, **kw) as resp:  # type: ignore[arg-type]
                body = b""
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise NcmecRejected(f"{route}: answer larger than 64 KiB")
                status = resp.status_code
        except httpx.TimeoutException:
            raise NcmecUnavailable(f"{route}: timed out") from None
        except httpx.TransportError as exc:
            raise NcmecUnavailable(f"{route}: {type(exc).__name__}") from None
        if status >= 500 or status == 429:
            raise NcmecUnavailable(f"{route}: HTTP {status}", answered=True)
        try:
            answer = parse_response(body)
        except SchemaViolation as exc:
            if status >= 400:
                raise NcmecRejected(f"{route}: HTTP {status}") from None
            raise NcmecRejected(f"{route}: unreadable answer ({exc})") from None
        if status >= 400 or not answer.ok:
            raise NcmecRejected(
                f"{route}: HTTP {status}, responseCode {answer.response_code}"
                + (f" ({answer.description[:200]})" if answer.description else ""),
                answer.response_code,
            )
        return answer
