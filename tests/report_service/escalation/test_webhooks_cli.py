"""``frankly webhooks ...`` on a data folder (SQLite) and on PostgreSQL
(``FRANKLY_DATABASE_URL``), against a real receiver: add prints the secret once, list
never shows it, test sends a signed webhook.test, deliver sends the queue, deliveries
--dead shows the dead letters, replay re-queues them with the same webhook-id, remove."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from frankly.cli import main
from report_service.escalation.webhooks import emit_event
from report_service.settings import load_settings
from report_service.storage.migrate import open_database
from tests.report_service.escalation.webhook_receiver import Receiver


@pytest.fixture
def data(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("FRANKLY_") and not name.startswith(("FRANKLY_TEST_", "FRANKLY_REQ")):
            monkeypatch.delenv(name)
    if database_url.startswith("postgresql"):
        monkeypatch.setenv("FRANKLY_DATABASE_URL", database_url)
    folder = tmp_path / "data"
    assert main(["keys", "init", "--data", str(folder)]) == 0
    monkeypatch.setenv("FRANKLY_WEBHOOK_RETRY_SCHEDULE_S", "[0]")  # one retry, at once
    return folder


def _emit(folder: Path, n: int) -> None:
    with open_database(load_settings(folder)) as sessions, sessions() as session:
        emit_event(session, "item.decided", {"item_id": n, "outcome": "no_violation"})
        session.commit()


def test_the_webhooks_commands(
    data: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    d = ["--data", str(data)]
    capsys.readouterr()
    assert main(["webhooks", "add", "https://a b", "--events", "item.decided", *d]) == 2
    assert "error: a webhook URL" in capsys.readouterr().err
    assert main(["webhooks", "add", "http://example.org/x", "--events", "x", *d]) == 2
    assert "not an event type" in capsys.readouterr().err
    assert main(["webhooks", "add", "http://example.org/x", "--events", "item.decided", *d]) == 2
    assert "must use https" in capsys.readouterr().err

    assert (
        main(
            [
                "webhooks",
                "add",
                receiver.url,
                "--events",
                "item.decided,appeal.*",
                "--description",
                "T&S tooling",
                *d,
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    secret = out.out.strip()
    assert secret.startswith("whsec_")
    assert "shown once" in out.err
    receiver.secret = secret

    assert main(["webhooks", "list", *d]) == 0
    listed = capsys.readouterr().out
    assert listed.split("\t")[:4] == ["1", receiver.url, "appeal.*,item.decided", "enabled"]
    assert secret not in listed
    assert secret[6:] not in listed

    assert main(["webhooks", "test", "1", *d]) == 0
    assert "HTTP 200" in capsys.readouterr().out
    [test_event] = receiver.received
    assert test_event.verified
    assert test_event.event["type"] == "webhook.test"

    receiver.script = [500, 500]
    _emit(data, 1)
    assert main(["webhooks", "deliver", *d]) == 0  # the attempt, the one retry due at once
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[3:] for line in lines] == [
        ["attempt 1", "HTTP 500", "pending"],
        ["attempt 2", "HTTP 500", "dead"],
    ]
    assert main(["webhooks", "deliveries", "--dead", *d]) == 0
    dead = capsys.readouterr().out.strip().split("\t")
    assert dead[2:5] == ["item.decided", "endpoint 1", "dead"]
    delivery_id, msg_id = dead[0], dead[1]

    assert main(["webhooks", "replay", "--dead-letter", "--since", "2000-01-01", *d]) == 0
    assert f"1 deliveries queued again: {delivery_id}" in capsys.readouterr().err
    assert main(["webhooks", "deliver", *d]) == 0
    assert "delivered" in capsys.readouterr().out
    assert [r.msg_id for r in receiver.received[1:]] == [msg_id] * 3
    assert all(r.verified for r in receiver.received)
    assert main(["webhooks", "replay", delivery_id, *d]) == 0  # a delivered one, asked again
    assert main(["webhooks", "replay", "99", *d]) == 2
    assert "no webhook delivery 99" in capsys.readouterr().err

    assert main(["webhooks", "remove", "1", *d]) == 0
    assert "removed with 1 deliveries" in capsys.readouterr().err
    assert main(["webhooks", "test", "1", *d]) == 2
    assert main(["webhooks", "list", *d]) == 0
    assert capsys.readouterr().out == ""


def test_test_reports_a_failing_endpoint(
    data: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    d = ["--data", str(data)]
    assert main(["webhooks", "add", receiver.url, "--events", "*", *d]) == 0
    receiver.script = [503]
    capsys.readouterr()
    assert main(["webhooks", "test", "1", *d]) == 1
    assert "HTTP 503" in capsys.readouterr().out


def test_frankly_serve_delivers_in_the_background(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real ``frankly serve`` process sends an event queued before it started (as after
    a restart) and one queued while it runs; the secret never reaches its logs."""
    import socket
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("FRANKLY_")}
    env["FRANKLY_WEBHOOK_POLL_INTERVAL_S"] = "0.1"
    folder = tmp_path / "frankly-data"
    for name in [n for n in os.environ if n.startswith("FRANKLY_")]:
        monkeypatch.delenv(name)
    assert main(["keys", "init", "--data", str(folder)]) == 0
    new = subprocess.run(
        [sys.executable, "-m", "frankly", "webhooks", "add", receiver.url, "--events", "*"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    receiver.secret = new.stdout.strip()
    _emit(folder, 1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "frankly", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 180  # a server process starting on a loaded machine
        while not receiver.received and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        _emit(folder, 2)
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert [r.event["data"]["item_id"] for r in receiver.received] == [1, 2]
    assert all(r.verified for r in receiver.received)
    assert receiver.secret[6:] not in err.decode()


def test_master_key_rotation_carries_webhook_secrets(
    data: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """`keys retire-master` refuses while a webhook secret needs the key; `keys rewrap`
    re-encrypts the secrets, after which the old key retires and webhooks still verify."""

    d = ["--data", str(data)]
    assert main(["webhooks", "add", receiver.url, "--events", "*", *d]) == 0
    receiver.secret = capsys.readouterr().out.strip()
    from report_service.keys import load_key_file

    old = load_key_file(data / "keys.json").master_active
    assert main(["keys", "rotate", "master", *d]) == 0
    capsys.readouterr()
    assert main(["keys", "retire-master", old, "--yes", *d]) == 2
    assert "webhook endpoint secret(s) are still encrypted" in capsys.readouterr().err
    assert main(["keys", "rewrap", *d]) == 0
    out = capsys.readouterr().out
    assert "1 webhook secrets re-encrypted" in out
    assert f"{old} wraps no data key now" in out
    assert main(["keys", "retire-master", old, "--yes", *d]) == 0
    assert main(["webhooks", "test", "1", *d]) == 0
    assert receiver.received[-1].verified
