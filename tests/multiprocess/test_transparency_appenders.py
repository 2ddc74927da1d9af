"""Several ``frankly log append`` processes on one database (SQLite file, PostgreSQL): the
log row's lock gives every list version exactly one index, and the final checkpoint
proves every leaf."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from hashes.transparency import WitnessPolicy, parse_leaf, verify_checkpoint, verify_leaf
from report_service.keys import generate_key_material, load_key_file, save_key_file
from report_service.settings import load_settings
from report_service.storage.migrate import open_database
from report_service.transparency.service import TransparencyLog
from tests.report_service.transparency.log_helpers import chain, with_log_key

PROCESSES = 3
VERSIONS = 3
CLI = "from frankly.cli import main; raise SystemExit(main())"


def test_concurrent_append_processes(database_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    keys = with_log_key(generate_key_material(os.urandom, 1))
    save_key_file(data / "keys.json", keys)
    env = {**os.environ, "FRANKLY_DATABASE_URL": database_url, "FRANKLY_ENVIRONMENT": "development"}
    init = [sys.executable, "-c", CLI, "log", "init", "--data", str(data)]
    subprocess.run(init, env=env, check=True, capture_output=True, timeout=120)
    commands = []
    for p in range(PROCESSES):
        files = []
        for v, blob in enumerate(chain(keys.curator.signing_key, f"list-{p}", VERSIONS)):
            path = tmp_path / f"p{p}-v{v}.frkl"
            path.write_bytes(blob)
            files.append(str(path))
        for f in files:  # one process per list, one append (and transaction) per version
            commands.append([sys.executable, "-c", CLI, "log", "append", "--data", str(data), f])
    by_list: dict[int, list[list[str]]] = {}
    for i, command in enumerate(commands):
        by_list.setdefault(i // VERSIONS, []).append(command)
    runners = [
        subprocess.Popen(
            [sys.executable, "-c", _RUNNER, *[shlex.join(c) for c in cmds]],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for cmds in by_list.values()
    ]
    for runner in runners:
        _out, err = runner.communicate(timeout=600)
        assert runner.returncode == 0, err.decode()[-2000:]

    material = load_key_file(data / "keys.json")
    assert material.log is not None
    settings = load_settings(data, environ={}, database_url=database_url)
    with open_database(settings) as sessions:
        log = TransparencyLog(sessions, None, lambda: 0)
        total = PROCESSES * VERSIONS
        assert log.size() == total
        cp = verify_checkpoint(log.checkpoint(), material.log.signer.verifier, WitnessPolicy((), 0))
        seen = set()
        for i in range(total):
            leaf = parse_leaf(log.entry(i))
            seen.add((leaf.list_id, leaf.version))
            verify_leaf(leaf, i, log.inclusion_proof(i, total), cp.checkpoint)
        assert len(seen) == total


# Runs its arguments (each a command line) one after another, failing on the first error.
_RUNNER = """
import shlex, subprocess, sys
for line in sys.argv[1:]:
    subprocess.run(shlex.split(line), check=True, timeout=300)
"""
