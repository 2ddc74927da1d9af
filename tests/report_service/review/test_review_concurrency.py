"""Many concurrent claimers never hold the same item, and concurrent audit appends never
fork the chain: threads with their own connections, directly and over real HTTP (uvicorn
on loopback), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from report_service.review.core import Actor
from report_service.review.errors import QueueEmpty
from report_service.review.moderators.roles import Role
from tests.report_service.review.review_support import T0, Env, make_app

ITEMS = 40
THREADS = 12


def _run_threads(n: int, work: Callable[[int], None]) -> None:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def _assert_chain(env: Env, claims: int) -> None:
    result = env.service.audit_verify()
    assert result.ok, result
    auditor = Actor("auditor-1", Role.AUDITOR)
    from report_service.review.audit.store import AuditFilter

    page = env.service.audit_page(auditor, AuditFilter(action="claim", limit=1000))
    assert len(page.entries) == claims


def test_concurrent_claimers_never_share_an_item(env: Env) -> None:
    ids = {env.seed(priority=i % 7, created_at=T0 + i).item_id for i in range(ITEMS)}
    names = [f"m{i}" for i in range(THREADS)]
    for n in names:
        env.service.add_moderator("test", n, "moderator")
    won: dict[int, list[int]] = {i: [] for i in range(THREADS)}

    def work(i: int) -> None:
        actor = Actor(names[i], Role.MODERATOR)
        while True:
            try:
                won[i].append(env.service.claim(actor, "general").item.id)
            except QueueEmpty:
                return

    _run_threads(THREADS, work)
    claimed = [item for items in won.values() for item in items]
    assert Counter(claimed).most_common(1)[0][1] == 1  # nobody got an item twice
    assert set(claimed) == ids
    _assert_chain(env, ITEMS)


def test_expired_leases_are_reclaimed_once(env: Env) -> None:
    ids = {env.seed(created_at=T0 + i).item_id for i in range(10)}
    first = Actor("moderator-1", Role.MODERATOR)
    for _ in ids:
        env.service.claim(first, "general")
    env.clock.advance(10 * 60 * 1000)  # every lease has expired
    names = [f"m{i}" for i in range(8)]
    won: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        actor = Actor(names[i], Role.MODERATOR)
        while True:
            try:
                item = env.service.claim(actor, "general")
            except QueueEmpty:
                return
            assert item.taken_over_from == "moderator-1"
            with lock:
                won.append(item.item.id)

    _run_threads(len(names), work)
    assert sorted(won) == sorted(ids)
    _assert_chain(env, 20)


@contextmanager
def _serve(env: Env) -> Iterator[str]:
    config = uvicorn.Config(
        make_app(env.service), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # a deadline for a loaded machine
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_concurrent_claims_over_http(env: Env) -> None:
    ids = {env.seed(created_at=T0 + i).item_id for i in range(24)}
    tokens = [env.service.add_moderator("test", f"h{i}", "moderator").token for i in range(8)]
    won: list[int] = []
    lock = threading.Lock()
    with _serve(env) as base:

        def work(i: int) -> None:
            headers = {"Authorization": f"Bearer {tokens[i]}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
                while True:
                    r = c.post("/v1/review/queues/general/claim")
                    if r.status_code == 404:
                        assert r.json()["error"]["code"] == "queue_empty"
                        return
                    assert r.status_code == 200, r.text
                    item = r.json()["item"]["id"]
                    # The holder can view it; nobody else can.
                    assert c.get(f"/v1/review/items/{item}").status_code == 200
                    with lock:
                        won.append(item)

        _run_threads(len(tokens), work)
    assert sorted(won) == sorted(ids)
    _assert_chain(env, 24)
