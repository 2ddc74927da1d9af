"""JSON logs with request ids, and the service's Prometheus metrics.

Logs carry only what is safe: method, path, status, duration, request id, error codes.
Bodies, headers (and so tokens), keys and evidence are never logged.
Metrics live in a per-app :class:`~prometheus_client.CollectorRegistry`, so that two apps
in one process (tests, the demo) never share counters. Under ``frankly serve --workers N``
the environment names a private ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts:
prometheus_client then keeps every counter in a file per process there, and
:meth:`Metrics.exposition` adds all processes up at scrape time, whichever worker answers.
Gauges computed from the database (``collectors``) are the same in every process.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER_NAME = "frankly.service"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "frankly_request_id", default=None
)


def logger() -> logging.Logger:
    """The service logger."""
    return logging.getLogger(LOGGER_NAME)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extras."""

    _RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {
        "message",
        "asctime",
        "color_message",  # uvicorn's ANSI-coloured copy of msg
    }

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id_var.get()
        if rid:
            out["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in self._RESERVED and key != "request_id" and not key.startswith("_"):
                out[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            out["exc_type"] = record.exc_info[0].__name__
        return json.dumps(out, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send the service's and uvicorn's logs to stderr as JSON lines (call from a CLI,
    never at import)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in (LOGGER_NAME, "uvicorn", "uvicorn.error"):
        log = logging.getLogger(name)
        log.handlers[:] = [handler]
        log.setLevel(level.upper())
        log.propagate = False


class Metrics:
    """The service's metrics, registered in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._collectors: list[Collector] = []
        self.reports_accepted = Counter(
            "frankly_reports_accepted",
            "Reports verified and stored.",
            registry=self.registry,
        )
        self.reports_duplicate = Counter(
            "frankly_reports_duplicate",
            "Reports sent again with a known report_id (answered with the first outcome).",
            registry=self.registry,
        )
        self.reports_rejected = Counter(
            "frankly_reports_rejected",
            "Reports refused, by error code.",
            ["code"],
            registry=self.registry,
        )
        self.verification_seconds = Histogram(
            "frankly_report_verification_seconds",
            "Time to open, parse and verify a report (excluding storage).",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.relay_messages = Counter(
            "frankly_relay_messages_stamped",
            "Messages stamped and queued by the reference relay.",
            registry=self.registry,
        )
        self.http_requests = Counter(
            "frankly_http_requests",
            "HTTP requests by method and status.",
            ["method", "status"],
            registry=self.registry,
        )


    def add_collector(self, collector: Collector) -> None:
        """Also expose ``collector`` (e.g. gauges read from the database at scrape time)."""
        self._collectors.append(collector)
        self.registry.register(collector)

    def exposition(self) -> bytes:
        """The Prometheus text exposition: this process's registry, or, in multiprocess
        mode, the sum over every process's files plus the collectors."""
        directory = os.environ.get(MULTIPROC_ENV)
        if not directory:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        for collector in self._collectors:
            registry.register(collector)
        return generate_latest(registry)


class RequestContextMiddleware:
    """Give every request an id (a safe incoming ``X-Request-ID`` or a new UUID), echo it
    in the response, and write one JSON access-log line per request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == REQUEST_ID_HEADER.encode():
                incoming = value.decode("latin-1")
        rid = incoming if incoming and _SAFE_REQUEST_ID.fullmatch(incoming) else str(uuid.uuid4())
        token = request_id_var.set(rid)
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - start) * 1000, 2)
            self.metrics.http_requests.labels(scope.get("method", ""), str(status)).inc()
            logger().info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": duration_ms,
                    "request_id": rid,
                },
            )
            request_id_var.reset(token)
