"""The submitter against a stand-in Transparency Database served over real HTTP on
127.0.0.1 (:mod:`dsa_test_server`): batches of at most 100, retries with backoff after
failures, no duplicate after a lost answer, rejected statements set apart, a refused token
changes nothing, and two submitters at once send each statement once. SQLite and
PostgreSQL. Also the command line: nothing is sent unless configured; export writes JSON."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from frankly.cli import main
from report_service.escalation.dsa import store
from report_service.escalation.dsa.models import StatementRow
from report_service.escalation.dsa.submitter import (
    BASE_BACKOFF_MS,
    LEASE_MS,
    PassResult,
    SubmissionRefused,
    Submitter,
)
from report_service.server import BackgroundServer
from tests.report_service.escalation.dsa_support import T0
from tests.report_service.escalation.dsa_support import add_statements as _add
from tests.report_service.escalation.dsa_test_server import TOKEN, Database


@dataclass
class Clock:
    now: int = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def db() -> Iterator[tuple[Database, str]]:
    database = Database()
    with BackgroundServer(database.app()) as url:
        yield database, url + "/api/v1"


def _states(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        return {r.puid: r.state for r in session.scalars(select(StatementRow))}


def _run(sessions: sessionmaker[Session], url: str, clock: Clock, **kw: object) -> PassResult:
    token = str(kw.pop("token", TOKEN))
    sub = Submitter(sessions, url, token, clock, **kw)  # type: ignore[arg-type]
    try:
        return sub.run_once()
    finally:
        sub.close()


def test_batches_of_at_most_100_all_created(
    sessions: sessionmaker[Session], db: tuple[Database, str]
) -> None:
    database, url = db
    puids = _add(sessions, 230)
    result = _run(sessions, url, Clock())
    assert (result.submitted, result.batches) == (230, 3)
    assert database.calls == [100, 100, 30]
    assert set(_states(sessions).values()) == {"submitted"}
    with sessions() as session:
        row = session.scalars(select(StatementRow).where(StatementRow.puid == puids[0])).one()
        assert row.db_uuid == database.created[puids[0]]["uuid"]
        assert database.created[puids[0]]["puid"] == puids[0]
        assert {k: v for k, v in database.created[puids[0]].items() if k != "uuid"} == json.loads(
            row.payload
        )


def test_failures_are_retried_with_backoff(
    sessions: sessionmaker[Session], db: tuple[Database, str]
) -> None:
    database, url = db
    _add(sessions, 5)
    clock = Clock()
    database.fail_next = [503, 429]
    first = _run(sessions, url, clock, batch_size=2)
    assert (first.submitted, first.retrying) == (0, 2)
    assert "HTTP 503" in first.errors[0]
    # Nothing is due again before the backoff has passed.
    assert _run(sessions, url, clock, batch_size=2).batches == 1  # the other 3
    assert database.calls == [2, 2]
    clock.now += BASE_BACKOFF_MS
    second = _run(sessions, url, clock, batch_size=2)
    assert second.submitted == 5
    assert set(_states(sessions).values()) == {"submitted"}
    with sessions() as session:
        attempts = sorted(r.attempts for r in session.scalars(select(StatementRow)))
    assert attempts == [0, 1, 1, 1, 1]


def test_a_correction_never_overtakes_its_original(
    sessions: sessionmaker[Session], db: tuple[Database, str]
) -> None:
    database, url = db
    original_puid, correction_puid = _add(sessions, 2)
    with sessions.begin() as session:
        rows = {r.puid: r for r in session.scalars(select(StatementRow))}
        original = rows[original_puid]
        original.attempts = 1  # its first try failed: it waits out its backoff
        original.next_attempt_at = T0 + BASE_BACKOFF_MS
        correction = rows[correction_puid]
        correction.kind = "correction"
        correction.corrects_id = original.id  # due now
    clock = Clock()
    assert _run(sessions, url, clock).submitted == 0
    assert database.calls == []
    assert set(_states(sessions).values()) == {"pending"}
    clock.now += BASE_BACKOFF_MS
    assert _run(sessions, url, clock).submitted == 2
    assert list(database.created) == [original_puid, correction_puid]


def test_a_lost_answer_never_duplicates(
    sessions: sessionmaker[Session], db: tuple[Database, str]
) -> None:
    database, url = db
    _add(sessions, 3)
    clock = Clock()
    database.fail_next = ["lost"]
    assert _run(sessions, url, clock).retrying == 3
    assert len(database.created) == 3  # stored, but we never heard
    clock.now += 10 * BASE_BACKOFF_MS
    again = _run(sessions, url, clock)
    assert again.submitted == 3
    assert len(database.created) == 3
    assert set(_states(sessions).values()) == {"submitted"}


def test_a_submitter_that_died_holding_a_batch_is_replaced_after_its_lease(
    sessions: sessionmaker[Session], db: tuple[Database, str]
) -> None:
    database, url = db
    _add(sessions, 3)
    with sessions.begin() as session:  # claimed, then the process died before sending
        assert len(store.claim_batch(session, "dead", T0, LEASE_MS, 100)) == 3
    assert _run(sessions, url, Clock(T0 + LEASE_MS - 1)).batches == 0
    assert _run(sessions, url, Clock(T0 + LEASE_MS)).submitted == 3
    assert database.calls == [3]


def test_an_invalid_statement_is_rejected_and_the_rest_go(
    sessions: sessionmaker[Session], db: tuple[Database, str]
) -> None:
    database, url = db
    puids = _add(sessions, 4)
    with sessions.begin() as session:
        row = session.scalars(select(StatementRow).where(StatementRow.puid == puids[2])).one()
        bad = json.loads(row.payload)
        bad["category"] = "STATEMENT_CATEGORY_NOPE"
        row.payload = json.dumps(bad)
    result = _run(sessions, url, Clock())
    assert (result.submitted, result.rejected) == (3, 1)
    states = _states(sessions)
    assert states[puids[2]] == "rejected"
    assert puids[2] not in database.created
    with sessions() as session:
        row = session.scalars(select(StatementRow).where(StatementRow.puid == puids[2])).one()
        assert row.last_error is not None
        assert "category" in row.last_error


def test_a_refused_token_changes_nothing_and_is_never_shown(
    sessions: sessionmaker[Session], db: tuple[Database, str]
) -> None:
    database, url = db
    _add(sessions, 2)
    secret = "X|wrong-token-value-123"
    with pytest.raises(SubmissionRefused) as info:
        _run(sessions, url, Clock(), token=secret)
    assert secret not in str(info.value)
    assert set(_states(sessions).values()) == {"pending"}
    with sessions() as session:
        assert all(r.lease_owner is None for r in session.scalars(select(StatementRow)))
    assert database.created == {}
    # The right token sends them at once (no backoff was recorded).
    assert _run(sessions, url, Clock()).submitted == 2


def test_a_network_failure_is_retried(sessions: sessionmaker[Session]) -> None:
    _add(sessions, 1)
    result = _run(sessions, "http://127.0.0.1:9/api/v1", Clock())
    assert result.retrying == 1
    assert "network" in result.errors[0]


def test_two_submitters_at_once_send_each_statement_once(
    sessions: sessionmaker[Session], db: tuple[Database, str]
) -> None:
    database, url = db
    _add(sessions, 120)
    results = []

    def run(owner: str) -> None:
        sub = Submitter(
            sessions,
            url,
            TOKEN,
            Clock(),
            batch_size=10,
            owner=owner,
            client=httpx.Client(timeout=30),
        )
        results.append(sub.run_once())
        sub.close()

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.submitted for r in results) == 120
    assert len(database.created) == 120
    assert sum(database.calls) == 120  # no statement was ever sent twice
    assert set(_states(sessions).values()) == {"submitted"}


def _data_dir(tmp_path: Path, sessions_url: str) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.toml").write_text(
        f'environment = "development"\ndatabase_url = "{sessions_url}"\n', encoding="utf-8"
    )
    return data


def test_cli_sends_nothing_unless_configured_and_exports_json(
    database_url: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("FRANKLY_") and not name.startswith(
            ("FRANKLY_TEST_", "FRANKLY_REQUIRE_")
        ):
            monkeypatch.delenv(name)
    puids = _add(sessions, 3)
    data = _data_dir(tmp_path, database_url)
    assert main(["dsa", "submit", "--data", str(data)]) == 2
    assert "nothing sent" in capsys.readouterr().err
    out = tmp_path / "export.json"
    assert (
        main(["dsa", "export", "--since", "2026-01-01", "--out", str(out), "--data", str(data)])
        == 0
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [s["puid"] for s in doc["statements"]] == puids
    assert main(["dsa", "export", "--since", "2026-01-02", "--data", str(data)]) == 0
    assert json.loads(capsys.readouterr().out) == {"statements": []}
    assert main(["dsa", "export", "--since", "yesterday", "--data", str(data)]) == 2
    assert main(["dsa", "show", "--state", "pending", "--data", str(data)]) == 0
    shown = capsys.readouterr().out
    assert all(p in shown for p in puids)
    assert main(["appeals", "list", "--data", str(data)]) == 0


def test_cli_submits_with_a_token_file_and_refuses_a_readable_one(
    database_url: str,
    sessions: sessionmaker[Session],
    db: tuple[Database, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database, url = db
    for name in list(os.environ):
        if name.startswith("FRANKLY_") and not name.startswith(
            ("FRANKLY_TEST_", "FRANKLY_REQUIRE_")
        ):
            monkeypatch.delenv(name)
    _add(sessions, 2)
    data = _data_dir(tmp_path, database_url)
    token_file = tmp_path / "dsa-token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    token_file.chmod(0o644)
    monkeypatch.setenv("FRANKLY_DSA_ENDPOINT", url)
    monkeypatch.setenv("FRANKLY_DSA_TOKEN_FILE", str(token_file))
    assert main(["dsa", "submit", "--data", str(data)]) == 2
    assert "chmod 600" in capsys.readouterr().err
    assert database.created == {}
    token_file.chmod(0o600)
    assert main(["dsa", "submit", "--data", str(data)]) == 0
    out, err = capsys.readouterr()
    assert "submitted 2" in out
    assert TOKEN not in out + err
    assert len(database.created) == 2
    monkeypatch.setenv("FRANKLY_DSA_TOKEN", "X|another-wrong-token-1234")
    _add(sessions, 1, start=10)
    assert main(["dsa", "submit", "--data", str(data)]) == 2
    out, err = capsys.readouterr()
    assert "refused the token" in err
    assert "another-wrong-token" not in out + err


def test_a_placeholder_token_is_refused_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from report_service.errors import ConfigError
    from report_service.settings import load_settings

    for name in list(os.environ):
        if name.startswith("FRANKLY_") and not name.startswith(
            ("FRANKLY_TEST_", "FRANKLY_REQUIRE_")
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRANKLY_DSA_TOKEN", "changeme")
    with pytest.raises(ConfigError, match="FRANKLY_DSA_TOKEN"):
        load_settings(tmp_path)
    monkeypatch.setenv("FRANKLY_DSA_TOKEN", "X|a-real-token")
    assert load_settings(tmp_path).dsa_token is not None


def test_three_submitter_processes_send_each_statement_once(
    database_url: str,
    sessions: sessionmaker[Session],
    db: tuple[Database, str],
    tmp_path: Path,
) -> None:
    """Real OS processes (``frankly dsa submit``), started together on one database."""
    import subprocess
    import sys

    database, url = db
    puids = _add(sessions, 150)
    data = _data_dir(tmp_path, database_url)
    token_file = tmp_path / "dsa-token"
    token_file.write_text(TOKEN, encoding="utf-8")
    token_file.chmod(0o600)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FRANKLY_") or k.startswith(("FRANKLY_TEST_", "FRANKLY_REQUIRE_"))
    }
    env |= {
        "FRANKLY_DSA_ENDPOINT": url,
        "FRANKLY_DSA_TOKEN_FILE": str(token_file),
        "FRANKLY_DSA_BATCH_SIZE": "5",
    }
    cmd = [sys.executable, "-m", "frankly", "dsa", "submit", "--data", str(data)]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    sent = [int(o.split()[1].rstrip(",")) for o, _ in outs]
    assert sum(sent) == 150
    assert sum(database.calls) == 150  # no statement sent twice
    assert sorted(database.created) == sorted(puids)
    assert set(_states(sessions).values()) == {"submitted"}


def test_cli_forget_clears_user_fields_but_keeps_the_eu_copy(
    database_url: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from report_service.escalation.appeals.models import AppealRow

    for name in list(os.environ):
        if name.startswith("FRANKLY_") and not name.startswith(
            ("FRANKLY_TEST_", "FRANKLY_REQUIRE_")
        ):
            monkeypatch.delenv(name)
    _add(sessions, 3)  # created 2026-01-01, long before the wall clock's today
    with sessions.begin() as session:
        rows = list(session.scalars(select(StatementRow).order_by(StatementRow.id)))
        for r in rows:
            r.message_id, r.message_at = f"m{r.id}", 5
        session.add(
            AppealRow(
                statement_id=rows[0].id,
                decision_id=rows[0].decision_id,
                item_id=rows[0].item_id,
                appellant="user0",
                reason="r",
                status="open",
                open_key=rows[0].decision_id,
                decider="mo",
                child_safety=False,
                created_at=T0,
            )
        )
        payloads = {r.puid: r.payload for r in rows}
    data = _data_dir(tmp_path, database_url)
    assert main(["dsa", "forget", "--older-than-days", "30", "--data", str(data)]) == 2
    assert main(["dsa", "forget", "--older-than-days", "183", "--data", str(data)]) == 0
    assert "of 2 statements" in capsys.readouterr().out
    with sessions() as session:
        after = list(session.scalars(select(StatementRow).order_by(StatementRow.id)))
    assert [(r.subject_id, r.message_id) for r in after] == [
        ("user0", f"m{after[0].id}"),  # under an open appeal: kept
        ("", None),
        ("", None),
    ]
    assert {r.puid: r.payload for r in after} == payloads
