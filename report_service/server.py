"""Run the app with uvicorn in a background thread on a loopback port (demo, tests,
benchmarks). ``frankly serve`` runs uvicorn in the foreground instead."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from report_service.errors import ServiceError


class BackgroundServer:
    """``with BackgroundServer(app) as url:`` serves ``app`` on 127.0.0.1 and a free port
    until the block ends, then shuts down cleanly."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", startup_timeout_s: float = 15.0):
        self._app = app
        self._host = host
        self._timeout = startup_timeout_s
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> str:
        """Start serving; return the base URL.

        Raises:
            ServiceError: the server did not start in time.
        """
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose protocol
        # says TCP, and without it every answer waits for a delayed ACK (about 40 ms).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app, log_level="warning", access_log=False, lifespan="off", log_config=None
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="frankly-server", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + self._timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise ServiceError("the HTTP server did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        self.url = f"http://{self._host}:{port}"
        return self.url

    def stop(self) -> None:
        """Ask the server to finish its requests and stop; wait for it."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=self._timeout)
        self._server = self._thread = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
