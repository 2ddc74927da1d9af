"""What webhooks cost, as figures a reviewer can rerun.

    .venv/bin/python benchmarks/webhooks.py [--database URL] [--postgres-url URL]
        [--rounds 5] [--calls 200]

1. The outbox in a write transaction: one transaction that inserts a small row and
   commits (the baseline), against the same transaction plus ``emit_event`` with no
   endpoint (every report, claim and decision pays this), and with one subscribed
   endpoint (one more row). Interleaved round by round; per-transaction microseconds
   min/median/max over the rounds, and the ratio of medians.
2. Sending: ``Deliverer.run_once`` over ``--calls`` due deliveries to a receiver on
   127.0.0.1 (claim, sign, POST, record: two short transactions per delivery) against
   the same signed POSTs with one httpx client and no database (the baseline).

Default database: a fresh SQLite file. Pass a PostgreSQL URL (an empty database)
instead, or ``--postgres-url`` (a server) to measure a scratch database created on it
after SQLite, as ``make bench`` does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI, Response
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._support import databases
from report_service.escalation.webhooks import emit_event
from report_service.escalation.webhooks.deliverer import Deliverer
from report_service.escalation.webhooks.models import WebhookDelivery, WebhookEndpoint
from report_service.escalation.webhooks.payload import encode_body
from report_service.escalation.webhooks.signing import headers
from report_service.escalation.webhooks.store import add_endpoint
from report_service.keys import generate_key_material
from report_service.server import BackgroundServer
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database
from report_service.storage.models import User

DATA = {"item_id": 1, "decision_id": 2, "decision": "warn_sender", "outcome": "warn_sender"}


def spread(values: list[float]) -> str:
    return f"min {min(values):.1f} / median {statistics.median(values):.1f} / max {max(values):.1f}"


def transaction_us(sessions: sessionmaker[Session], calls: int, emit: bool, prefix: str) -> float:
    start = time.perf_counter()
    for i in range(calls):
        with sessions() as session:
            session.add(User(id=f"{prefix}-{i}", token_hash=os.urandom(32), created_at=i))
            if emit:
                emit_event(session, "item.decided", DATA, now_ms=i)
            session.commit()
    return (time.perf_counter() - start) / calls * 1e6


def receiver() -> FastAPI:
    app = FastAPI()

    @app.post("/hook")
    async def hook() -> Response:
        return Response(status_code=204)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=None, help="database URL (default: SQLite)")
    parser.add_argument(
        "--postgres-url",
        default="",
        help="also measure on a scratch database created on this PostgreSQL server "
        "(make bench passes the local one)",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for url, drop in databases(tmp, args.database, args.postgres_url):
            upgrade_database(url)
            engine = make_engine(url)
            try:
                run(make_session_factory(engine), args.rounds, args.calls, engine.dialect.name)
            finally:
                engine.dispose()
                if drop is not None:
                    drop()


def run(sessions: sessionmaker[Session], rounds: int, calls: int, dialect: str) -> None:
    keys = generate_key_material(os.urandom, 0)
    print(f"database: {dialect}; {rounds} rounds of {calls} calls")
    base: list[float] = []
    none: list[float] = []
    one: list[float] = []
    with BackgroundServer(receiver()) as base_url:
        hook_url = base_url + "/hook"
        for r in range(rounds):
            with sessions() as session:
                session.execute(delete(WebhookDelivery))
                session.execute(delete(WebhookEndpoint))
                session.commit()
            base.append(transaction_us(sessions, calls, False, f"b{r}"))
            none.append(transaction_us(sessions, calls, True, f"n{r}"))
            with sessions() as session:
                add_endpoint(session, keys, hook_url, ["item.decided"], now_ms=0, random=os.urandom)
            one.append(transaction_us(sessions, calls, True, f"o{r}"))
        print("1. write transaction, microseconds each")
        print(f"   baseline (insert + commit):        {spread(base)}")
        print(
            f"   + emit_event, no endpoint:          {spread(none)}"
            f"  ratio {statistics.median(none) / statistics.median(base):.2f}"
        )
        print(
            f"   + emit_event, 1 subscribed endpoint: {spread(one)}"
            f"  ratio {statistics.median(one) / statistics.median(base):.2f}"
        )

        sent: list[float] = []
        plain: list[float] = []
        key = os.urandom(32)
        body = encode_body("item.decided", DATA, 0)
        clock: Callable[[], int] = lambda: time.time_ns() // 1_000_000  # noqa: E731
        for _ in range(rounds):
            with sessions() as session:
                session.execute(delete(WebhookDelivery))
                session.commit()
                for i in range(calls):
                    emit_event(session, "item.decided", {**DATA, "item_id": i})
                session.commit()
            deliverer = Deliverer(sessions, lambda: keys, clock=clock, batch=calls)
            start = time.perf_counter()
            results = deliverer.run_once()
            sent.append((time.perf_counter() - start) / calls * 1e6)
            if len(results) != calls:
                raise SystemExit(f"expected {calls} deliveries, sent {len(results)}")
            start = time.perf_counter()
            with httpx.Client(timeout=15) as client:
                for i in range(calls):
                    client.post(
                        hook_url,
                        content=body,
                        headers=headers(key, f"msg_{i}", clock() // 1000, body),
                    )
            plain.append((time.perf_counter() - start) / calls * 1e6)
        print("2. one delivery, microseconds each")
        print(f"   baseline (signed POST, no database): {spread(plain)}")
        print(
            f"   Deliverer.run_once (claim, POST, record): {spread(sent)}"
            f"  ratio {statistics.median(sent) / statistics.median(plain):.2f}"
        )


if __name__ == "__main__":
    main()
