"""Several real server processes on one PostgreSQL database under concurrent load.

Each test sends its requests from threads released together by a barrier, spread over
the cluster's servers (``a``: one process; ``c``: two workers behind one port), and then
checks the database itself.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pytest
from nacl.signing import SigningKey
from PIL import Image
from sqlalchemy import func, select

from client_scan.report_format import Reason, Report
from frankly.cli import main
from hashes.lists import TrustPolicy, build_list, load_list, sign_list, trusted_state
from hashes.values import Algorithm, HashValue
from report_service.app import wall_clock_ms
from report_service.banks import LISTENING_CHECK_INTERVAL_S, SERVICE_LIST_ID, hash_media
from report_service.review.audit import store as audit_store
from report_service.review.audit.chain import verify_chain
from report_service.review.models import AuditPendingRow, DecisionRow
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.models import BankMatch, HashListVersion, ReportItem
from report_service.storage.models import Report as ReportRow
from tests.report_service.conftest import FakeClock, Franker

from .conftest import BURST, Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.multiprocess]

T = TypeVar("T")
SEALED = {"Content-Type": "application/octet-stream"}


def together(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``calls`` in threads that start at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def picture(seed: int) -> bytes:
    """A PNG with enough structure for a PDQ hash, different for every seed."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(12, 12, 3), dtype=np.uint8)
    img = Image.fromarray(small, "RGB").resize((192, 192), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def franker(cluster: Cluster) -> Franker:
    return Franker(keys=cluster.keys, clock=FakeClock(now_ms=wall_clock_ms()))


def sealed_report(
    cluster: Cluster, reporter: str, *, image: bytes | None = None, text: str = "abuse"
) -> tuple[str, bytes]:
    """A valid sealed report by ``reporter`` about one new message (with ``image``)."""
    f = franker(cluster)
    attachments = [(image, "image/png")] if image is not None else []
    msg = f.frank("mallory", reporter, text, attachments=attachments)
    report: Report = f.report(
        reporter,
        [msg],
        reason=Reason.HARASSMENT,
        attachments={hashlib.sha256(image).hexdigest(): image} if image is not None else None,
    )
    return report.report_id, f.seal(report)


def post_report(url: str, token: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/reports",
        content=body,
        headers={**SEALED, "Authorization": f"Bearer {token}"},
        timeout=30,
    )


def mod(cluster: Cluster, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {cluster.moderators[name]}"}


def db_scalar(cluster: Cluster, query: Any) -> Any:
    engine = make_engine(cluster.database_url)
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(query)
    finally:
        engine.dispose()


def test_the_same_report_to_two_processes_at_once_is_stored_once(cluster: Cluster) -> None:
    urls = [cluster.urls["a"], cluster.urls["c"]]
    reports = [sealed_report(cluster, f"r{n}", text=f"idem {n}") for n in range(10)]
    calls: list[Callable[[], httpx.Response]] = []
    for n, (_, body) in enumerate(reports):
        token = cluster.reporters[f"r{n}"]
        calls += [partial(post_report, u, token, body) for u in urls]
    answers = together(calls)
    assert all(r.status_code in (200, 201) for r in answers), [
        (r.status_code, r.text) for r in answers if r.status_code not in (200, 201)
    ]
    for n, (report_id, _) in enumerate(reports):
        pair = answers[2 * n : 2 * n + 2]
        assert sorted(r.status_code for r in pair) == [200, 201]
        assert {r.json()["report_id"] for r in pair} == {report_id}
    ids = [rid for rid, _ in reports]
    stored = db_scalar(
        cluster, select(func.count()).select_from(ReportRow).where(ReportRow.report_id.in_(ids))
    )
    assert stored == len(reports)


def _decided_violations(cluster: Cluster, images: Sequence[bytes]) -> list[int]:
    """Report each image (through ``a``); then, through ``c``, the lead claims until it
    holds their items, deciding those as violations (and anything else claimed on the
    way as ``no_violation``)."""
    report_ids = []
    for n, image in enumerate(images):
        name, token = cluster.reporter(20 + n)
        report_id, body = sealed_report(cluster, name, image=image, text=f"bank {n}")
        assert post_report(cluster.urls["a"], token, body).status_code == 201
        report_ids.append(report_id)
    ours = [
        db_scalar(cluster, select(ReportItem.item_id).where(ReportItem.report_id == rid))
        for rid in report_ids
    ]
    pending = set(ours)
    with httpx.Client(base_url=cluster.urls["c"], headers=mod(cluster, "lead"), timeout=30) as c:
        while pending:
            claimed = c.post("/v1/review/queues/general/claim")
            assert claimed.status_code == 200, claimed.text
            item_id = claimed.json()["item"]["id"]
            decision = "suspend_sender" if item_id in pending else "no_violation"
            decided = c.post(
                f"/v1/review/items/{item_id}/decision",
                json={"decision": decision, "policy": "test/1"},
            )
            assert decided.status_code == 200, decided.text
            pending.discard(item_id)
    return ours


def test_banking_from_two_processes_never_forks_and_matches_everywhere(cluster: Cluster) -> None:
    images = [picture(seed) for seed in range(4)]
    item_ids = _decided_violations(cluster, images)
    urls = [cluster.urls["a"], cluster.urls["c"], cluster.urls["a"], cluster.urls["c"]]
    headers = mod(cluster, "lead")

    def bank(url: str, item_id: int) -> httpx.Response:
        # A lead banks a decision that did not ask for it: an override, with its reason.
        return httpx.post(
            f"{url}/v1/review/items/{item_id}/bank",
            headers=headers,
            json={"reason": "multi-process banking test: confirmed series"},
            timeout=30,
        )

    answers = together([partial(bank, u, i) for u, i in zip(urls, item_ids, strict=True)])
    assert [r.status_code for r in answers] == [200] * 4, [r.text for r in answers]
    versions = sorted(r.json()["list_version"] for r in answers)
    assert versions == [1, 2, 3, 4]  # each call built on the one before: no fork
    engine = make_engine(cluster.database_url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(
                select(HashListVersion.version, HashListVersion.data)
                .where(HashListVersion.list_id == SERVICE_LIST_ID)
                .order_by(HashListVersion.version)
            ).all()
    finally:
        engine.dispose()
    assert [v for v, _ in rows] == [1, 2, 3, 4]
    policy = TrustPolicy(curator_keys={"svc": cluster.keys.curator.public_key})
    held = load_list(bytes(rows[0][1]), policy)
    for _, data in rows[1:]:
        held = load_list(bytes(data), policy, trusted_state(held))  # a single chain
    assert len(held) == 4

    # Banked through ``a`` (item 0) and ``c`` (item 3): the same pictures reported
    # through the other server match the bank there.
    wait_until_every_process_must_see_the_change()
    checks = [("c", images[0], 30), ("a", images[3], 31)]
    for server, image, n in checks:
        name, token = cluster.reporter(n)
        report_id, body = sealed_report(cluster, name, image=image, text=f"again {n}")
        assert post_report(cluster.urls[server], token, body).status_code == 201
        matches = db_scalar(
            cluster,
            select(func.count())
            .select_from(BankMatch)
            .where(BankMatch.report_id == report_id, BankMatch.algorithm == "pdq"),
        )
        assert matches >= 1, f"no bank match through {server}"


def test_claims_are_never_handed_to_two_moderators(cluster: Cluster) -> None:
    for n in range(24):
        name, token = cluster.reporter(n % 10)
        _, body = sealed_report(cluster, name, text=f"claim me {n}")
        server = "ac"[n % 2]
        assert post_report(cluster.urls[server], token, body).status_code == 201
    servers = [cluster.urls["a"], cluster.urls["c"]]

    moderators = ["m0", "m1", "m2", "m3"]
    # Everyone's first claim is in before anyone's second: however the threads are
    # scheduled on a loaded machine, one moderator cannot empty the queue alone.
    first_round = threading.Barrier(len(moderators), timeout=120)

    def claim_all(moderator: str, first: int) -> list[int]:
        got: list[int] = []
        headers = mod(cluster, moderator)
        turn = first
        while True:
            url = servers[turn % len(servers)]
            turn += 1
            r = httpx.post(f"{url}/v1/review/queues/general/claim", headers=headers, timeout=30)
            if turn == first + 1:
                first_round.wait()
            if r.status_code == 404:
                return got
            assert r.status_code == 200, r.text
            got.append(r.json()["item"]["id"])

    results = together([partial(claim_all, m, i) for i, m in enumerate(moderators)])
    claimed = dict(zip(moderators, results, strict=True))
    every = [item for items in claimed.values() for item in items]
    assert len(every) == len(set(every))  # no item handed out twice
    assert len(every) >= 24
    assert sum(1 for items in claimed.values() if items) >= 2  # they really raced

    # On PostgreSQL the claims' audit entries wait for the sequencer, which runs in every
    # server process: with no reader of the log asking, the waiting table empties by itself
    # and the chain then holds exactly one claim entry per claim.
    deadline = time.monotonic() + 120
    while db_scalar(cluster, select(func.count()).select_from(AuditPendingRow)):
        assert time.monotonic() < deadline, "no server process chained the waiting entries"
        time.sleep(0.05)
    engine = make_engine(cluster.database_url)
    try:
        with make_session_factory(engine)() as session:
            audit_store.read_one_snapshot(session)
            entries = list(audit_store.iter_audit(session))
            verify_chain(entries, audit_store.audit_head(session))
    finally:
        engine.dispose()
    chained = [e.item_id for e in entries if e.action == "claim" and e.item_id in set(every)]
    assert sorted(chained) == sorted(every)


def test_rate_limits_are_exact_across_processes(cluster: Cluster) -> None:
    token = cluster.reporters["rflood"]
    servers = [cluster.urls["a"], cluster.urls["c"]]
    calls = [
        partial(post_report, servers[n % 2], token, b"not a sealed report")
        for n in range(3 * BURST)
    ]
    started = time.monotonic()
    answers = together(calls)
    # One token comes back a minute: on a machine so loaded that the flood took over a
    # minute, each whole minute adds exactly one more pass (normally none).
    refills = int((time.monotonic() - started) // 60)
    limited = [r for r in answers if r.status_code == 429]
    passed = [r for r in answers if r.status_code != 429]
    # the whole burst, once, whichever process counted it
    assert BURST <= len(passed) <= BURST + refills, (len(passed), refills)
    assert {r.status_code for r in passed} == {400}
    assert len(limited) == 3 * BURST - len(passed)
    for r in limited:
        seconds = int(r.headers["Retry-After"])
        assert seconds >= 1
        message = r.json()["error"]["message"]
        assert re.search(rf"retry after {seconds} s\b", message), (message, seconds)


def test_valid_reports_are_limited_exactly_inside_their_own_transactions(
    cluster: Cluster,
) -> None:
    """Valid reports pay for their token in the transaction that stores them (one write
    transaction each): racing on two processes, exactly the burst is stored and answered
    201, every other one is a 429 and stored nothing."""
    token = cluster.reporters["rvflood"]
    servers = [cluster.urls["a"], cluster.urls["c"]]
    reports = [sealed_report(cluster, "rvflood", text=f"flood {n}") for n in range(3 * BURST)]
    started = time.monotonic()
    answers = together(
        [partial(post_report, servers[n % 2], token, body) for n, (_, body) in enumerate(reports)]
    )
    # the bucket refills one token a minute: a flood slowed past a minute by a loaded
    # machine may fairly get one more in per whole minute, never more
    refills = int((time.monotonic() - started) // 60)
    codes = [r.status_code for r in answers]
    assert BURST <= codes.count(201) <= BURST + refills, (codes, refills)
    assert codes.count(429) == 3 * BURST - codes.count(201), codes
    accepted = {r.json()["report_id"] for r in answers if r.status_code == 201}
    stored = db_scalar(
        cluster,
        select(func.count()).select_from(ReportRow).where(ReportRow.reporter_id == "rvflood"),
    )
    assert stored == codes.count(201)
    assert accepted <= {rid for rid, _ in reports}
    for r in answers:
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) >= 1
def wait_until_every_process_must_see_the_change() -> None:
    """Wait past the banks' safety-net re-check (5 s): from then on every server process
    matches against the committed change however late its LISTEN thread is scheduled,
    since a process notified re-reads at once and any other re-reads the counter when its
    last read is older than that. (A fixed 1 s sleep assumed the notification arrived in
    time, which a loaded machine does not promise; the speed is for benchmarks.)"""
    time.sleep(LISTENING_CHECK_INTERVAL_S + 0.5)


def _metric(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+]+)$"
    found = re.search(pattern, text, re.MULTILINE)
    assert found is not None, f"{name}{labels} missing"
    return float(found.group(1))


def _scrape(url: str) -> str:
    answer = httpx.get(f"{url}/metrics", timeout=30)
    assert answer.status_code == 200
    return answer.text


def test_metrics_add_up_across_worker_processes(cluster: Cluster) -> None:
    url = cluster.urls["c"]  # two workers behind one port
    # Decisions of its own, so that the count below does not rest on other tests' runs.
    _decided_violations(cluster, [picture(seed) for seed in (200, 201)])
    suspended = db_scalar(
        cluster,
        select(func.count())
        .select_from(DecisionRow)
        .where(DecisionRow.decision == "suspend_sender"),
    )
    assert suspended >= 2
    not_found = ("frankly_http_requests_total", '{method="GET",status="404"}')
    sent = 40
    for _ in range(sent):  # a new connection each time: the kernel spreads them
        assert httpx.get(f"{url}/nowhere-{sent}", timeout=30).status_code == 404
    scrapes = [_scrape(url) for _ in range(6)]
    for text in scrapes:  # whichever worker answers, it counts every worker's requests
        assert _metric(text, *not_found) == sent
    depth_a = _metric(_scrape(cluster.urls["a"]), "frankly_review_queue_depth", '{queue="general"}')
    for text in scrapes:
        assert _metric(text, "frankly_review_queue_depth", '{queue="general"}') == depth_a
        assert _metric(text, "frankly_review_oldest_waiting_seconds", '{queue="general"}') >= 0
        assert _metric(text, "frankly_audit_pending") >= 0
        assert _metric(text, "frankly_audit_pending_oldest_seconds") >= 0
        assert _metric(text, "frankly_review_decisions", '{decision="suspend_sender"}') == suspended


def test_a_list_imported_by_the_command_line_is_served_and_matched_by_every_process(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ngo = SigningKey(os.urandom(32))
    image = picture(99)
    facts, _ = hash_media(image, "image/png")
    assert facts.pdq is not None
    ngo_list = sign_list(
        build_list(
            list_id="ngo-list",
            version=1,
            issued_at_ms=1,
            algorithm=Algorithm.PDQ,
            threshold=31,
            categories=["csam"],
            hashes=[HashValue.from_hex(Algorithm.PDQ, facts.pdq)],
            entry_categories=[0],
        ),
        ngo,
    )
    file = tmp_path / "ngo.list"
    file.write_bytes(ngo_list)
    # The command line runs in this test process: a third process on the database.
    monkeypatch.setenv("FRANKLY_DATABASE_URL", cluster.database_url)
    monkeypatch.setenv("FRANKLY_ENVIRONMENT", "development")
    data = ["--data", str(cluster.data_dir)]
    public = base64.b64encode(bytes(ngo.verify_key)).decode()
    assert main(["banks", "trust", "ngo", public, *data]) == 0
    assert main(["banks", "import", str(file), *data]) == 0
    wait_until_every_process_must_see_the_change()
    for n, server in enumerate(("a", "c")):
        name, token = cluster.reporter(32 + n)
        report_id, body = sealed_report(cluster, name, image=image, text=f"ngo {n}")
        assert post_report(cluster.urls[server], token, body).status_code == 201
        matched = db_scalar(
            cluster,
            select(BankMatch.list_id).where(
                BankMatch.report_id == report_id, BankMatch.algorithm == "pdq"
            ),
        )
        assert matched == "ngo-list", f"no match through {server}"
        auth = {"Authorization": f"Bearer {token}"}
        served = httpx.get(f"{cluster.urls[server]}/v1/banks/ngo-list", headers=auth, timeout=30)
        assert served.status_code == 200
        assert served.content == ngo_list
