"""Fixtures for the client library: a fake clock, the fake service, clients and stores."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from client_scan.service_client import ServiceClient

from .client_fakes import FakeService

SESSION_KEY = bytes(range(100, 132))
START_MS = 1_750_000_000_000


@dataclass
class FakeClock:
    """Seconds since the epoch, moved by hand."""

    now: float = START_MS / 1000

    def __call__(self) -> float:
        return self.now

    def ms(self) -> int:
        return int(self.now * 1000)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(clock: FakeClock) -> FakeService:
    return FakeService(now_ms=clock.ms)


@pytest.fixture
def alice_client(service: FakeService) -> Iterator[ServiceClient]:
    with ServiceClient("https://frankly.test", "tok-alice", transport=service.transport) as c:
        yield c


@pytest.fixture
def bob_client(service: FakeService) -> Iterator[ServiceClient]:
    with ServiceClient("https://frankly.test", "tok-bob", transport=service.transport) as c:
        yield c


class NetworkBlocked(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Block every outgoing connection at the socket layer; record attempts."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise NetworkBlocked("network use attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts
