"""``frankly log ...``: run the transparency log of list versions, and a witness.

Log (acts on the service's data folder, its key file and database)::

    frankly log init --origin ORIGIN    create the log key (in keys.json) and the empty log
    frankly log vkey                    print the log's verifier key (give it to devices)
    frankly log append FILE...          log signed list versions (trusted curators only)
    frankly log checkpoint              print the latest checkpoint
    frankly log proof --list-id ID --version N   inclusion proof for a logged version (JSON)
    frankly log publish --out DIR       write checkpoint, tiles and entry bundles as files
    frankly log cosign --witness VKEY --signatures FILE   attach witness cosignatures
    frankly log cosign --witness VKEY --url URL           ask a witness over HTTP

Witness (its own key and state files, no service needed)::

    frankly log witness keygen --name NAME --key FILE
    frankly log witness follow --state FILE --log-vkey VKEY
    frankly log witness cosign --state FILE --key FILE (--log-dir DIR | --log-url URL) [--out FILE]
    frankly log witness serve --state FILE --key FILE [--port P]   (tlog-witness HTTP)

Exit status: 0 success; 1 the witness refused to cosign (inconsistent, forked, bad
signature); 2 bad settings, key file, database or input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from client_scan.transparency.cli import register_audit_commands
from report_service._cli_common import add_data_option
from report_service.errors import ServiceError

if TYPE_CHECKING:
    from report_service.transparency.service import TransparencyLog

EXIT_REFUSED = 1


def _run(action: Callable[[], int]) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from hashes.errors import HashesError

    try:
        return action()
    except (ServiceError, HashesError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        print(f"error: database: {type(cause).__name__}: {cause}".splitlines()[0], file=sys.stderr)
        return 2


def _now_ms() -> int:
    from report_service.app import wall_clock_ms

    return wall_clock_ms()


@contextmanager
def _log(args: argparse.Namespace) -> Iterator[tuple[TransparencyLog, Any, Any]]:
    from report_service.keys import load_key_file
    from report_service.settings import load_settings
    from report_service.storage.migrate import open_database
    from report_service.transparency.service import TransparencyLog

    settings = load_settings(args.data)
    material = load_key_file(settings.resolved_key_file)
    signer = None if material.log is None else material.log.signer
    with open_database(settings) as sessions:
        yield TransparencyLog(sessions, signer, _now_ms), material, sessions


def _init(args: argparse.Namespace) -> int:
    def act() -> int:
        from dataclasses import replace

        from report_service.errors import LogNotConfigured
        from report_service.keys import LogKey, load_key_file, save_key_file
        from report_service.settings import load_settings

        settings = load_settings(args.data)
        material = load_key_file(settings.resolved_key_file)
        if material.log is None:
            if not args.origin:
                raise LogNotConfigured("give --origin (e.g. lists.example.org/log)")
            key = LogKey(args.origin, os.urandom(32), _now_ms())
            key.signer  # noqa: B018  (raises NoteFormatError for an unusable origin)
            save_key_file(settings.resolved_key_file, replace(material, log=key))
        elif args.origin and args.origin != material.log.origin:
            raise LogNotConfigured(f"the key file already holds the log {material.log.origin!r}")
        with _log(args) as (log, material, _):
            log.init()
            print(f"log {material.log.origin}: {log.size()} leaves")
            print(f"vkey {material.log.signer.verifier.vkey}")
        return 0

    return _run(act)


def _vkey(args: argparse.Namespace) -> int:
    def act() -> int:
        from report_service.errors import LogNotConfigured
        from report_service.keys import load_key_file
        from report_service.settings import load_settings

        material = load_key_file(load_settings(args.data).resolved_key_file)
        if material.log is None:
            raise LogNotConfigured("the key file has no log key: run `frankly log init`")
        print(material.log.signer.verifier.vkey)
        return 0

    return _run(act)


def _append(args: argparse.Namespace) -> int:
    def act() -> int:
        from hashes.lists import TrustPolicy
        from report_service.banks import HashBanks

        with _log(args) as (log, material, sessions):
            keys = {c.kid: c.public_key for c in HashBanks(sessions, material.curator).curators()}
            if not 1 <= args.threshold <= len(keys):
                raise ServiceError(f"--threshold is 1..{len(keys)}: {len(keys)} curator(s) trusted")
            policy = TrustPolicy(keys, threshold=args.threshold)
            files = [Path(f).read_bytes() for f in args.files]
            for path, result in zip(args.files, log.append_many(files, policy), strict=True):
                state = "logged" if result.created else "already logged"
                print(f"{path}: {state} at index {result.index} (tree size {result.size})")
        return 0

    return _run(act)


def _checkpoint(args: argparse.Namespace) -> int:
    def act() -> int:
        with _log(args) as (log, _, _):
            sys.stdout.write(log.checkpoint().decode("utf-8"))
        return 0

    return _run(act)


def _proof(args: argparse.Namespace) -> int:
    def act() -> int:
        with _log(args) as (log, _, _):
            document = log.list_proof(args.list_id, args.version, args.from_size)
            print(document.to_json().decode("utf-8"))
        return 0

    return _run(act)


def _publish(args: argparse.Namespace) -> int:
    def act() -> int:
        with _log(args) as (log, _, _):
            written = log.publish(Path(args.out))
            print(f"wrote {written} file(s) under {args.out} ({log.size()} leaves)")
        return 0

    return _run(act)


def _cosign_add(args: argparse.Namespace) -> int:
    def act() -> int:
        from hashes.transparency import parse_vkey
        from report_service.transparency.witness_client import httpx_post, request_cosignature

        witnesses = [parse_vkey(v) for v in args.witness]
        if (args.signatures is None) == (args.url is None):
            raise ServiceError("give either --signatures FILE or --url URL")
        with _log(args) as (log, _, _):
            if args.url is not None:
                note = request_cosignature(log, args.url, witnesses, httpx_post())
            else:
                note = log.add_cosignatures(Path(args.signatures).read_bytes(), witnesses)
            sys.stdout.write(note.decode("utf-8"))
        return 0

    return _run(act)


# ---------------------------------------------------------------------- witness


def _witness_keygen(args: argparse.Namespace) -> int:
    def act() -> int:
        from report_service.transparency.witness_state import new_witness_key, write_private

        path = Path(args.key)
        if path.exists():
            raise ServiceError(f"{path} exists; refusing to replace a witness key")
        signer, obj = new_witness_key(args.name, os.urandom(32))
        write_private(path, json.dumps(obj).encode())
        print(f"vkey {signer.verifier.vkey}")
        return 0

    return _run(act)


def _witness_follow(args: argparse.Namespace) -> int:
    def act() -> int:
        from hashes.transparency import parse_vkey
        from hashes.transparency.witness import WitnessedLog
        from report_service.transparency.witness_state import locked_state, save_state

        key = parse_vkey(args.log_vkey)
        with locked_state(Path(args.state)) as logs:
            if key.name not in logs:
                logs[key.name] = WitnessedLog(key)
                save_state(Path(args.state), logs)
            print(f"following {key.name} (cosigned up to size {logs[key.name].size})")
        return 0

    return _run(act)


def _witness_cosign(args: argparse.Namespace) -> int:
    """Cosign the checkpoint of a published (static) log directory."""

    def act() -> int:
        from hashes.errors import TransparencyError
        from hashes.transparency import TileReader, consistency_proof, parse_checkpoint
        from hashes.transparency import parse_note as parse
        from hashes.transparency.witness import AddCheckpoint, add_checkpoint
        from report_service.transparency.witness_state import (
            load_witness_key,
            locked_state,
            save_state,
        )

        if (args.log_dir is None) == (args.log_url is None):
            raise ServiceError("give either --log-dir DIR or --log-url URL")
        read = _dir_reader(Path(args.log_dir)) if args.log_dir else _url_reader(args.log_url)
        note = read("checkpoint")
        size = parse_checkpoint(parse(note).text).size
        signer = load_witness_key(Path(args.key))
        with locked_state(Path(args.state)) as logs:
            origin = parse_checkpoint(parse(note).text).origin
            old = logs[origin].size if origin in logs else 0
            proof: list[bytes] = []
            if 0 < old <= size:
                proof = consistency_proof(old, size, TileReader(size, read))
            try:
                new, line, _ = add_checkpoint(
                    AddCheckpoint(old, tuple(proof), note), logs, signer, int(time.time())
                )
            except TransparencyError as exc:
                print(f"refused: {type(exc).__name__}: {exc}", file=sys.stderr)
                return EXIT_REFUSED
            logs[origin] = new
            save_state(Path(args.state), logs)
        text = line.line()
        if args.out:
            Path(args.out).write_text(text)
        sys.stdout.write(text)
        return 0

    return _run(act)


def _dir_reader(root: Path) -> Callable[[str], bytes]:
    """Read a published log folder (paths are checked tile paths or ``checkpoint``)."""
    return lambda path: (root / path).read_bytes()


def _url_reader(prefix: str) -> Callable[[str], bytes]:
    """Read a log over HTTP (``<prefix>/checkpoint``, ``<prefix>/tile/...``)."""
    import httpx

    from report_service.errors import StorageError

    def read(path: str) -> bytes:
        try:
            response = httpx.get(f"{prefix.rstrip('/')}/{path}", timeout=30)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise StorageError(f"cannot read {path} from the log: {exc}") from None
        return response.content

    return read


def _witness_serve(args: argparse.Namespace) -> int:
    def act() -> int:
        import uvicorn

        from report_service.transparency.witness_http import create_witness_app
        from report_service.transparency.witness_state import load_witness_key

        signer = load_witness_key(Path(args.key))
        app = create_witness_app(Path(args.state), signer, lambda: int(time.time()))
        print(f"witness {signer.name} on http://{args.host}:{args.port}/add-checkpoint")
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
        return 0

    return _run(act)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``frankly log ...`` to the ``frankly`` parser."""
    log = subparsers.add_parser(
        "log", help="the transparency log of hash-list versions, and a witness"
    )
    sub = log.add_subparsers(dest="log_command", required=True)
    # the auditor's ``frankly log verify|monitor`` (client_scan: they need no service)
    register_audit_commands(sub)

    p = sub.add_parser("init", help="create the log key and the empty log")
    add_data_option(p)
    p.add_argument("--origin", help="the log's origin, e.g. lists.example.org/log")
    p.set_defaults(func=_init)

    p = sub.add_parser("vkey", help="print the log's verifier key")
    add_data_option(p)
    p.set_defaults(func=_vkey)

    p = sub.add_parser("append", help="log signed list versions")
    add_data_option(p)
    p.add_argument("files", nargs="+", help="signed list files, in version order")
    p.add_argument(
        "--threshold", type=int, default=1, help="trusted curator signatures required (default 1)"
    )
    p.set_defaults(func=_append)

    p = sub.add_parser("checkpoint", help="print the latest signed checkpoint")
    add_data_option(p)
    p.set_defaults(func=_checkpoint)

    p = sub.add_parser("proof", help="inclusion proof for a logged list version (JSON)")
    add_data_option(p)
    p.add_argument("--list-id", required=True, help="the list's id")
    p.add_argument("--version", type=int, required=True, help="the list version")
    p.add_argument(
        "--from-size", type=int, default=None, help="also a consistency proof from this size"
    )
    p.set_defaults(func=_proof)

    p = sub.add_parser("publish", help="write the log as static files (tlog-tiles)")
    add_data_option(p)
    p.add_argument("--out", required=True, help="directory to write checkpoint and tiles to")
    p.set_defaults(func=_publish)

    p = sub.add_parser("cosign", help="attach witness cosignatures to the current checkpoint")
    add_data_option(p)
    p.add_argument(
        "--witness", action="append", required=True, help="a witness's vkey (repeatable)"
    )
    p.add_argument("--signatures", default=None, help="file of cosignature lines")
    p.add_argument(
        "--url", default=None, help="ask this witness (tlog-witness add-checkpoint) instead"
    )
    p.set_defaults(func=_cosign_add)

    w = sub.add_parser("witness", help="run a witness that cosigns consistent checkpoints")
    wsub = w.add_subparsers(dest="witness_command", required=True)
    p = wsub.add_parser("keygen", help="create a witness key file (0600) and print its vkey")
    p.add_argument("--name", required=True, help="the witness's name, e.g. witness.example/w1")
    p.add_argument("--key", required=True, help="the witness key file to create")
    p.set_defaults(func=_witness_keygen)

    p = wsub.add_parser("follow", help="start following a log (by its vkey)")
    p.add_argument("--state", required=True, help="the witness state file (0600)")
    p.add_argument("--log-vkey", required=True, help="the log's verifier key")
    p.set_defaults(func=_witness_follow)

    p = wsub.add_parser("cosign", help="check and cosign a published log's checkpoint")
    p.add_argument("--state", required=True, help="the witness state file (0600)")
    p.add_argument("--key", required=True, help="the witness key file")
    p.add_argument("--log-dir", default=None, help="a directory written by `log publish`")
    p.add_argument("--log-url", default=None, help="or the log's URL prefix, e.g. https://host/log")
    p.add_argument("--out", default=None, help="also write the cosignature line here")
    p.set_defaults(func=_witness_cosign)

    p = wsub.add_parser("serve", help="serve tlog-witness add-checkpoint over HTTP")
    p.add_argument("--state", required=True, help="the witness state file (0600)")
    p.add_argument("--key", required=True, help="the witness key file")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8766, help="port to listen on")
    p.set_defaults(func=_witness_serve)
