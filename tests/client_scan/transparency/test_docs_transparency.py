"""The Python example of docs/transparency.md ("Device rule") runs as written against a
log published to a folder and served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from client_scan.scanner import Scanner
from tests.client_scan.transparency.published_log import (
    CURATOR,
    LOG,
    WITNESSES,
    PublishedLog,
    chain,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "transparency.md"


@pytest.fixture
def published(tmp_path: Path) -> tuple[PublishedLog, list[bytes]]:
    """Lists that expire in ten years: the example reads the real clock."""
    log = PublishedLog(tmp_path / "log")
    lists = chain(3, expires_in_days=3650)
    for data in lists:
        log.append_list(data)
    log.publish(1_767_225_600)
    return log, lists


def test_the_device_rule_example_runs(
    served: str,
    published: tuple[PublishedLog, list[bytes]],
    tmp_path: Path,
) -> None:
    section = DOC.read_text().split("\n## Device rule\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    _, lists = published
    ns: dict[str, Any] = {
        "log_vkey": LOG.verifier.vkey,
        "witness_vkeys": [w.verifier.vkey for w in WITNESSES],
        "curator_a_pubkey": bytes(CURATOR.verify_key),
        "app_private_dir": tmp_path,
        "log_base_url": served,
        "transport": None,
        "list_bytes": lists[2],
    }
    exec(compile(block, "transparency.md", "exec"), ns)  # noqa: S102
    scanner: Scanner = ns["scanner"]
    assert scanner.trusted_states["example"].version == 3
    assert (tmp_path / "trust.json").exists()
