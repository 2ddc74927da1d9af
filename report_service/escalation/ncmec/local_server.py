"""A local stand-in for NCMEC's CyberTipline test service, over real HTTP (tests and
demos; never a production endpoint). Serve :meth:`CyberTipServer.app` with
:class:`report_service.server.BackgroundServer` and point ``FRANKLY_NCMEC_URL`` at
``<url>/ispws`` with :data:`USER` and :data:`PASSWORD`.

``/submit`` (a ``report`` document) opens a report and answers its id; ``/upload``
(multipart ``id`` + ``file``) stores a file and answers its id and MD5; ``/fileinfo`` (a
``fileDetails`` document) records a file's details; ``/finish`` closes a report;
``/retract`` cancels an unfinished one. Every call needs HTTP Basic credentials; every
XML document received is validated against the package's schema (a 400 with
``responseCode`` 4100 otherwise). Answers are the ``reportResponse`` /
``reportDoneResponse`` documents.

Faults: ``faults[route]`` is a list consumed one per call: ``"500"`` answers HTTP 500,
``"timeout"`` does the work, then holds its answer until the client's next call arrives
(so the client has given up and retried) or ``timeout_sleep_s`` has passed, as a server
whose answer was lost; ``"reject"`` answers ``responseCode`` 1000. Holding until the next
call rather than for a fixed time keeps a slow but healthy retry on a loaded machine from
timing out as well.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response

from report_service.escalation.ncmec.errors import SchemaViolation
from report_service.escalation.ncmec.xml import validate

USER, PASSWORD = "esp-test", "s3cr3t-pa55word"


@dataclass
class Opened:
    report_xml: bytes
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    details: dict[str, bytes] = field(default_factory=dict)
    finished: bool = False
    retracted: bool = False


@dataclass
class CyberTipServer:
    """The server's state, shared with the test."""

    timeout_sleep_s: float = 10.0
    reports: dict[int, Opened] = field(default_factory=dict)
    faults: dict[str, list[str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    refused_auth: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _held: list[asyncio.Event] = field(default_factory=list)

    def finished(self) -> list[Opened]:
        return [r for r in self.reports.values() if r.finished]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/ispws/{route}")
        async def handle(route: str, request: Request) -> Response:
            return await self._handle(route, request)

        return app

    async def _handle(self, route: str, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if request.headers.get("authorization") != expected:
            self.refused_auth += 1
            return Response(status_code=401)
        body = await request.body()
        self._release_held()
        with self._lock:
            self.calls.append(route)
            fault = self.faults.get(route, [])
            action = fault.pop(0) if fault else None
        if action == "500":
            return Response("<html>oops</html>", status_code=500)
        if action == "reject":
            return _xml(_response(1000, "rejected by the test server"), 400)
        answer = self._do(route, request.headers.get("content-type", ""), body)
        if action == "timeout":
            await self._hold()
        return answer

    async def _hold(self) -> None:
        """Wait until the next call (the client's retry) or ``timeout_sleep_s``."""
        released = asyncio.Event()
        self._held.append(released)
        try:
            await asyncio.wait_for(released.wait(), self.timeout_sleep_s)
        except TimeoutError:
            pass
        finally:
            if released in self._held:
                self._held.remove(released)

    def _release_held(self) -> None:
        for event in self._held:
            event.set()
        self._held.clear()

    def _do(self, route: str, ctype: str, body: bytes) -> Response:
        with self._lock:
            if route == "submit":
                try:
                    validate(body, "report")
                except SchemaViolation as exc:
                    return _xml(_response(4100, str(exc)), 400)
                rid = next(self._ids)
                self.reports[rid] = Opened(body)
                return _xml(_response(0, "Success", report_id=rid))
            if route == "upload":
                form = _multipart(ctype, body)
                report = self._open(form.get("id", (b"", ""))[0].decode())
                if report is None or "file" not in form:
                    return _xml(_response(1100, "no such open report"), 400)
                data, name = form["file"]
                fid = hashlib.sha256(data + str(len(report[1].files)).encode()).hexdigest()
                report[1].files[fid] = (name, data)
                md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
                return _xml(_response(0, "Success", report_id=report[0], file_id=fid, md5=md5))
            if route == "fileinfo":
                try:
                    tree = validate(body, "fileDetails")
                except SchemaViolation as exc:
                    return _xml(_response(4100, str(exc)), 400)
                report = self._open(tree.findtext("reportId") or "")
                fid = tree.findtext("fileId") or ""
                if report is None or fid not in report[1].files:
                    return _xml(_response(1200, "no such file"), 400)
                report[1].details[fid] = body
                return _xml(_response(0, "Success", report_id=report[0]))
            form_id = parse_qs(body.decode()).get("id", [""])[0]
            report = self._open(form_id)
            if report is None:
                return _xml(_response(1300, "no such open report"), 400)
            if route == "finish":
                report[1].finished = True
                files = "".join(f"<fileId>{f}</fileId>" for f in report[1].files)
                done = (
                    f"<reportDoneResponse><responseCode>0</responseCode>"
                    f"<reportId>{report[0]}</reportId><files>{files}</files></reportDoneResponse>"
                )
                return _xml(done.encode())
            if route == "retract":
                report[1].retracted = True
                return _xml(_response(0, "Success", report_id=report[0]))
            return Response(status_code=404)

    def _open(self, rid: str) -> tuple[int, Opened] | None:
        if not rid.isdigit():
            return None
        report = self.reports.get(int(rid))
        if report is None or report.finished or report.retracted:
            return None
        return int(rid), report


def _response(
    code: int,
    description: str,
    *,
    report_id: int | None = None,
    file_id: str | None = None,
    md5: str | None = None,
) -> bytes:
    parts = [f"<responseCode>{code}</responseCode>", f"<responseDescription>{description}"]
    parts[-1] += "</responseDescription>"
    if report_id is not None:
        parts.append(f"<reportId>{report_id}</reportId>")
    if file_id is not None:
        parts.append(f"<fileId>{file_id}</fileId>")
    if md5 is not None:
        parts.append(f"<hash>{md5}</hash>")
    return ("<?xml version='1.0' encoding='UTF-8'?><reportResponse>" + "".join(parts)).encode() + (
        b"</reportResponse>"
    )


def _xml(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="text/xml")


def _multipart(ctype: str, body: bytes) -> dict[str, tuple[bytes, str]]:
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
    )
    out: dict[str, tuple[bytes, str]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            out[name] = (payload, part.get_filename() or "")
    return out
