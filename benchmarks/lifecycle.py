"""Review search and master-key re-wrap, measured against baselines in the same run.

    .venv/bin/python benchmarks/lifecycle.py [--items 20000] [--reports 3000] [--repeat 15]

On a fresh SQLite database (in a temporary folder):

1. Search. ``--items`` review items from 2000 senders are inserted in bulk. Timed: one
   page (``limit`` 50) of :func:`report_service.review.search.items.find_items` filtered by one
   sender, with the migration-0008 index ``ix_review_items_sender_id``, then with the
   index dropped, each beside the baseline (the unfiltered first page, a primary-key
   range scan), interleaved, ``--repeat`` times. Printed: min / median / max in ms and
   the ratio median(filtered) / median(baseline).
2. Re-wrap. ``--reports`` reports with wrapped data keys are inserted. Timed: ``rewrap``
   (batches of 500, one transaction and one audit entry each) after a master rotation,
   beside the baseline: the same unwrap + wrap of every key in a plain Python loop, no
   database. Three rounds (each to a new master key), interleaved. Printed: rows/s and
   the ratio rewrap time / crypto-only time.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session, sessionmaker

from report_service import evidence
from report_service.keys import MasterKey, generate_key_material, rotate_key
from report_service.review.lifecycle.rewrap import rewrap
from report_service.review.search.items import ItemQuery, find_items
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_engine
from report_service.storage.models import EvidenceKey, Report, ReviewItem, User

T0 = 1_767_225_600_000


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def summary(label: str, xs: list[float]) -> str:
    ms = [x * 1000 for x in xs]
    med = statistics.median(ms)
    return f"{label:<46} min {min(ms):8.3f}  median {med:8.3f}  max {max(ms):8.3f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--reports", type=int, default=3_000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        upgrade_engine(engine)
        sf = make_session_factory(engine)
        search(engine, sf, args)
        rewrap_bench(sf, args)
        engine.dispose()


def search(engine: Engine, sf: sessionmaker[Session], args: argparse.Namespace) -> None:
    rows = [
        {
            "commitment": uuid.uuid4().hex + uuid.uuid4().hex,
            "conversation_id": f"c{i % 997}",
            "sender_id": f"sender-{i % 2000}",
            "reason": "harassment",
            "reporter_count": 1,
            "max_bank_severity": 0,
            "child_safety": i % 10 == 0,
            "queue": "child_safety" if i % 10 == 0 else "general",
            "priority": 50,
            "status": ("open", "claimed", "decided")[i % 3],
            "outcome": None,
            "created_at": T0 + i,
            "updated_at": T0 + i,
        }
        for i in range(args.items)
    ]
    with sf.begin() as s:
        s.execute(insert(ReviewItem), rows)
    filtered = ItemQuery(sender="sender-1234", limit=50)
    baseline = ItemQuery(limit=50)

    def page(q: ItemQuery) -> Callable[[], object]:
        def run() -> object:
            with sf() as session:
                return find_items(session, q, child_safety=False)

        return run

    print(f"search: {args.items} items, 2000 senders, one page of 50, SQLite")
    for label in ("with ix_review_items_sender_id", "without the index"):
        if label.startswith("without"):
            with engine.begin() as conn:
                conn.execute(text("DROP INDEX ix_review_items_sender_id"))
        f: list[float] = []
        b: list[float] = []
        for _ in range(args.repeat):
            b.append(timed(page(baseline)))
            f.append(timed(page(filtered)))
        print(" ", summary("baseline (unfiltered page)", b))
        print(" ", summary(f"sender filter, {label}", f))
        print(
            f"  ratio median filtered / baseline: {statistics.median(f) / statistics.median(b):.2f}"
        )


def crypto_only(wrapped: list[tuple[str, bytes]], old: MasterKey, new: MasterKey) -> None:
    """The baseline: unwrap and wrap every key again, no database."""
    for rid, w in wrapped:
        dk = evidence.unwrap_data_key(old.key, old.kid, rid, w)
        evidence.wrap_data_key(new.key, new.kid, rid, dk, os.urandom(24))


def rewrap_bench(sf: sessionmaker[Session], args: argparse.Namespace) -> None:
    keys = generate_key_material(os.urandom, T0)
    mk = keys.active_master
    with sf.begin() as s:
        s.add(User(id="bench", token_hash=os.urandom(32), created_at=T0))
        s.flush()
        ids = [str(uuid.uuid4()) for _ in range(args.reports)]
        s.execute(
            insert(Report),
            [
                {
                    "report_id": r,
                    "reporter_id": "bench",
                    "reason": "spam",
                    "conversation_id": "c",
                    "status": "received",
                    "first_response": "{}",
                    "message_count": 1,
                    "attachment_count": 0,
                    "received_at": T0,
                }
                for r in ids
            ],
        )
        s.execute(
            insert(EvidenceKey),
            [
                {
                    "report_id": r,
                    "master_key_id": mk.kid,
                    "wrapped_key": evidence.wrap_data_key(
                        mk.key, mk.kid, r, os.urandom(32), os.urandom(24)
                    ),
                }
                for r in ids
            ],
        )
    print(f"rewrap: {args.reports} data keys, batches of 500, SQLite")
    db_t: list[float] = []
    py_t: list[float] = []
    for round_ in range(3):
        old = keys.active_master
        keys = rotate_key(keys, "master", os.urandom, T0 + round_)
        new = keys.active_master
        with sf() as s:
            wrapped = [(r.report_id, r.wrapped_key) for r in s.query(EvidenceKey) if r.wrapped_key]
        py_t.append(timed(functools.partial(crypto_only, wrapped, old, new)))
        run = functools.partial(
            rewrap, sf, keys, actor="bench", clock=lambda: T0, random=os.urandom, batch=500
        )
        db_t.append(timed(run))
    print(" ", summary("baseline (crypto only, no DB)", py_t))
    print(" ", summary("keys rewrap", db_t))
    rate = args.reports / statistics.median(db_t)
    ratio = statistics.median(db_t) / statistics.median(py_t)
    print(f"  {rate:,.0f} data keys/s; ratio median rewrap / crypto only: {ratio:.1f}")


if __name__ == "__main__":
    main()
