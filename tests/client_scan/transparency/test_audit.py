"""frankly log verify|monitor against logs published with the core's pure functions: a
folder and the same folder over real HTTP; each failure with its own code and exit 1."""

from __future__ import annotations

import base64
import shutil
import stat
from pathlib import Path

import httpx
import pytest

from client_scan.transparency.bundle import build_bundle
from client_scan.transparency.fetch import HttpLog
from frankly.cli import main
from hashes.lists import parse_list
from tests.client_scan.transparency.published_log import (
    CURATOR,
    LOG,
    OUTSIDER,
    WITNESSES,
    PublishedLog,
    chain,
    make_list,
)

NOW_S = 1_767_225_600 + 5 * 86_400  # cosignatures must not lie in the future of the clock
PUB = base64.b64encode(bytes(CURATOR.verify_key)).decode()


def _args(source: str | Path, *extra: str) -> list[str]:
    out = [str(source), "--log-vkey", LOG.verifier.vkey]
    for w in WITNESSES[:2]:
        out += ["--witness", w.verifier.vkey]
    return [*out, *extra]


def _lists_dir(tmp_path: Path, *lists: bytes) -> Path:
    folder = tmp_path / "lists"
    folder.mkdir(exist_ok=True)
    for data in lists:
        (folder / f"{parse_list(data)[0].digest.hex()}.list").write_bytes(data)
    return folder


def test_verify_ok_with_bodies_and_state(
    published: tuple[PublishedLog, list[bytes]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, lists = published
    state = tmp_path / "auditor.json"
    lists_dir = _lists_dir(tmp_path, *lists)
    args = _args(log.root, "--state", str(state), "--trust", PUB, "--lists", str(lists_dir))
    assert main(["log", "verify", *args]) == 0
    out = capsys.readouterr().out
    assert "checkpoint: 4 leaves" in out
    assert "2 list id(s)" in out
    assert "list bodies checked: 3" in out
    assert out.rstrip().endswith("OK")
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert main(["log", "verify", *args]) == 0
    assert "new since the last run: 0 leaf(s)" in capsys.readouterr().out
    fresh = _args(log.root, "--lists", str(lists_dir), "--require-lists")
    assert main(["log", "verify", *fresh]) == 1  # "other" has no body
    assert "(audit_list)" in capsys.readouterr().err


def test_a_fork_against_the_state_is_found(
    published: tuple[PublishedLog, list[bytes]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, lists = published
    state = tmp_path / "auditor.json"
    assert main(["log", "verify", *_args(log.root, "--state", str(state))]) == 0
    shutil.rmtree(log.root)
    forked = PublishedLog(log.root)
    for data in lists[:2]:
        forked.append_list(data)
    forked.append_list(make_list(1, list_id="third"))
    forked.append_list(make_list(1, list_id="other"))
    forked.append_list(make_list(1, list_id="fifth"))
    forked.publish(NOW_S)
    assert main(["log", "verify", *_args(log.root, "--state", str(state))]) == 1
    assert "(audit_inconsistent)" in capsys.readouterr().err


def test_a_version_that_skips_its_predecessor_breaks_the_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1, _, v3 = chain(3)
    log = PublishedLog(tmp_path / "log")
    log.append_list(v1)
    log.append_list(v3)
    log.publish(NOW_S)
    assert main(["log", "verify", *_args(log.root)]) == 1
    assert "(audit_chain)" in capsys.readouterr().err


def test_unsigned_and_mismatched_bodies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rogue = make_list(1, keys=(OUTSIDER,))
    log = PublishedLog(tmp_path / "log")
    log.append_list(rogue)
    log.publish(NOW_S)
    assert main(["log", "verify", *_args(log.root, "--trust", PUB)]) == 1
    assert "names 0 trusted curator(s)" in capsys.readouterr().err
    # a body under the leaf's digest that is another list
    (good,) = chain(1)
    log2 = PublishedLog(tmp_path / "log2")
    log2.append_list(good)
    log2.publish(NOW_S)
    folder = tmp_path / "bodies"
    folder.mkdir()
    (folder / f"{parse_list(good)[0].digest.hex()}.list").write_bytes(make_list(2))
    assert main(["log", "verify", *_args(log2.root, "--lists", str(folder))]) == 1
    assert "(audit_list)" in capsys.readouterr().err


def test_tampered_tiles_and_checkpoint(
    published: tuple[PublishedLog, list[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    log, _ = published
    tile = log.root / "tile/0/000.p/4"
    data = bytearray(tile.read_bytes())
    data[0] ^= 1
    tile.write_bytes(bytes(data))
    assert main(["log", "verify", *_args(log.root)]) == 1
    assert "(audit_tree)" in capsys.readouterr().err
    log.publish(NOW_S, witnesses=WITNESSES[:1])
    assert main(["log", "verify", *_args(log.root)]) == 1
    assert "(audit_checkpoint)" in capsys.readouterr().err
    assert main(["log", "verify", *_args(log.root / "missing")]) == 2


def test_monitor_prints_counts_by_category_never_hashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lists = chain(2)
    log = PublishedLog(tmp_path / "log")
    log.append_list(lists[0])
    log.publish(NOW_S)
    state = tmp_path / "monitor.json"
    folder = _lists_dir(tmp_path, *lists)
    args = _args(log.root, "--state", str(state), "--lists", str(folder), "--once")
    assert main(["log", "monitor", *args]) == 0
    first = capsys.readouterr().out
    assert "example v1: 6 pdq entries" in first
    log.append_list(lists[1])
    log.publish(NOW_S)
    assert main(["log", "monitor", *args]) == 0
    second = capsys.readouterr().out
    assert "example v2" in second
    assert "example v1" not in second
    assert "(+" in second
    assert " -" in second
    for data in lists:
        hash_list = parse_list(data)[0]
        for i in range(len(hash_list)):
            assert hash_list.hashes[i].tobytes().hex() not in first + second
    assert main(["log", "monitor", *args]) == 0
    assert "no new version (2 leaves)" in capsys.readouterr().out


def test_verify_and_bundle_over_http(
    served: str,
    published: tuple[PublishedLog, list[bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, lists = published
    assert main(["log", "verify", *_args(served)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("OK")
    with HttpLog(served) as fetch:
        bundle = build_bundle(lists[2], fetch, old_size=0)
    assert bundle.leaf_index == 2


def test_the_client_reads_the_log_through_its_own_transport(
    served: str, published: tuple[PublishedLog, list[bytes]], tmp_path: Path
) -> None:
    from client_scan.client import FranklyClient

    seen: list[str] = []
    real = httpx.HTTPTransport()

    class Recording(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request.url.path)
            return real.handle_request(request)

    _, lists = published
    with (
        FranklyClient(
            user_id="u", base_url=served, token="t", data_dir=tmp_path / "c", transport=Recording()
        ) as client,
        client.open_log(served) as log,
    ):
        bundle = build_bundle(lists[1], log, old_size=0)
    real.close()
    assert bundle.leaf_index == 1
    assert "/checkpoint" in seen


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        "{",
        '{"format": "frankly-log-auditor", "checkpoint": null, "heads": {"x": {"version": 1}}}',
        '{"format": "frankly-log-auditor", "checkpoint": {"body": "x", "cosigned_at": 1}, '
        '"heads": {}}',
        '{"format": "frankly-log-auditor", "checkpoint": null, '
        '"heads": {"x": {"version": 1, "digest": "00"}}}',
    ],
)
def test_a_bad_auditor_state_is_refused_not_reset(
    published: tuple[PublishedLog, list[bytes]],
    tmp_path: Path,
    text: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log, _ = published
    state = tmp_path / "auditor.json"
    state.write_text(text)
    assert main(["log", "verify", *_args(log.root, "--state", str(state))]) == 1
    assert "(audit_inconsistent)" in capsys.readouterr().err
    assert state.read_text() == text
