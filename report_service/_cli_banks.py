"""``frankly banks list|import|export|trust|untrust|rotate-curator``: the service's hash
banks from the command line.

Every change goes through :class:`report_service.banks.HashBanks` on the database, so a
running service (all its processes, on every host) matches against it within a second,
without a restart; each change is written to the audit log (actor ``cli``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from report_service._cli_common import add_data_option as _data_arg
from report_service.errors import ServiceError

if TYPE_CHECKING:
    from report_service.banks import HashBanks

CLI_ACTOR = "cli"



def _now_ms() -> int:
    from report_service.app import wall_clock_ms

    return wall_clock_ms()


@contextmanager
def _banks(args: argparse.Namespace) -> Iterator[tuple[HashBanks, Any, Any]]:
    """The banks over the settings' database (upgraded first), the key material, and the
    session factory."""
    from report_service.banks import HashBanks
    from report_service.keys import load_key_file
    from report_service.settings import load_settings
    from report_service.storage.migrate import open_database

    settings = load_settings(args.data)
    material = load_key_file(settings.resolved_key_file)
    with open_database(settings) as sessions:
        yield HashBanks(sessions, material.curator).load(), material, sessions


def _audit(sessions: Any, action: str, detail: dict[str, Any]) -> None:
    from report_service.review import store

    with sessions.begin() as session:
        store.append_audit(
            session, at_ms=_now_ms(), actor=CLI_ACTOR, action=action, item_id=None, detail=detail
        )


def _run(action: Callable[[], int]) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return action()
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:  # the message names the statement, never a secret
        cause = getattr(exc, "orig", None) or exc
        print(f"error: database: {type(cause).__name__}: {cause}".splitlines()[0], file=sys.stderr)
        return 2


def public_key_arg(text: str) -> bytes:
    """A 32-byte Ed25519 public key given as base64 (standard or URL-safe) or 64 hex digits.

    Raises:
        BankError: anything else.
    """
    from report_service.errors import BankError

    value = text.strip()
    if len(value) == 64:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise BankError("a curator public key is 32 bytes, as base64 or 64 hex digits")
    return raw


def _list(args: argparse.Namespace) -> int:
    def act() -> int:
        with _banks(args) as (banks, _, _):
            held = banks.lists
            curators = banks.curators()
            if not held:
                print("no hash lists held")
            for list_id, h in sorted(held.items()):
                header = h.header
                videos = f", {len(h.videos)} videos" if h.videos is not None else ""
                print(
                    f"list {list_id}: version {header.version}, {len(h)} entries{videos}, "
                    f"{header.algorithm.value} (threshold {header.threshold}), "
                    f"digest {h.digest.hex()[:16]}..., signed by "
                    f"{', '.join(banks.signers(h)) or 'no trusted curator'}"
                )
            for c in curators:
                key = base64.b64encode(c.public_key).decode()
                print(f"curator {c.kid} ({c.origin}): {key}")
        return 0

    return _run(act)


def _import(args: argparse.Namespace) -> int:
    def act() -> int:
        from report_service.errors import BankError

        try:
            data = Path(args.file).read_bytes()
        except OSError as exc:
            raise BankError(f"cannot read {args.file}: {exc.strerror}") from None
        with _banks(args) as (banks, _, sessions):
            header = banks.import_list(data, _now_ms())
            _audit(
                sessions,
                "bank_import",
                {"list_id": header.list_id, "list_version": header.version},
            )
        print(f"list {header.list_id} version {header.version} is in use")
        return 0

    return _run(act)


def _export(args: argparse.Namespace) -> int:
    def act() -> int:
        from report_service.banks import SERVICE_LIST_ID
        from report_service.errors import BankError

        with _banks(args) as (banks, _, _):
            data = banks.export(args.list or SERVICE_LIST_ID)
        if args.output is None:
            if sys.stdout.isatty():
                raise BankError("the list is binary: give --output FILE or redirect stdout")
            try:
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
            except BrokenPipeError:  # the reader went away (`| head`): not an error
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        else:
            Path(args.output).write_bytes(data)
            print(f"wrote {args.output} ({len(data)} bytes)", file=sys.stderr)
        return 0

    return _run(act)


def _trust(args: argparse.Namespace) -> int:
    def act() -> int:
        key = public_key_arg(args.public_key)
        with _banks(args) as (banks, _, sessions):
            banks.trust_curator(args.kid, key, _now_ms())
            _audit(
                sessions,
                "curator_trust",
                {"kid": args.kid, "public_key": base64.b64encode(key).decode()},
            )
        print(f"curator {args.kid} is trusted by every service process")
        return 0

    return _run(act)


def _untrust(args: argparse.Namespace) -> int:
    def act() -> int:
        with _banks(args) as (banks, _, sessions):
            banks.untrust_curator(args.kid)
            _audit(sessions, "curator_untrust", {"kid": args.kid})
        print(f"curator {args.kid} is no longer trusted")
        return 0

    return _run(act)


def _rotate_curator(args: argparse.Namespace) -> int:
    def act() -> int:
        from dataclasses import replace

        from report_service.banks import HashBanks
        from report_service.keys import CuratorKey, save_key_file
        from report_service.settings import load_settings

        now = _now_ms()
        settings = load_settings(args.data)
        path = settings.resolved_key_file
        with _banks(args) as (banks, material, sessions):
            old = material.curator
            new = CuratorKey(f"curator-{os.urandom(4).hex()}", os.urandom(32), now)
            backup = path.with_name(f"{path.name}.{old.kid}.bak")
            save_key_file(backup, material)  # the old key file, kept whole (0600)
            known = {c.kid for c in banks.curators() if c.origin != "key file"}
            if old.kid not in known:
                banks.trust_curator(old.kid, old.public_key, now, origin="rotated")
            banks.trust_curator(new.kid, new.public_key, now, origin="rotated")
            handed: list[str] = []
            successor = HashBanks(sessions, new).load()
            for list_id, h in sorted(successor.lists.items()):
                if old.public_key in {sig.public_key for sig in h.signatures}:
                    header = successor.republish(list_id, now, also_signed_by=old.signing_key)
                    handed.append(f"{list_id} v{header.version}")
            save_key_file(path, replace(material, curator=new))
            _audit(
                sessions,
                "curator_rotate",
                {"old": old.kid, "new": new.kid, "handover": handed},
            )
        print(f"curator key rotated: {old.kid} -> {new.kid}; old key file kept as {backup}")
        print(f"new public key: {base64.b64encode(new.public_key).decode()}")
        for item in handed:
            print(f"handover version signed by both keys: {item}")
        print(
            "both keys stay trusted by every process; restart every service process "
            "(with the new key file) to sign new versions with the new key"
        )
        return 0

    return _run(act)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``banks`` to the ``frankly`` parser."""
    banks = subparsers.add_parser("banks", help="the service's hash banks and curator keys")
    sub = banks.add_subparsers(dest="banks_command", metavar="ACTION", required=True)

    lst = sub.add_parser("list", help="held lists (version, size, signers) and trusted curators")
    _data_arg(lst)
    lst.set_defaults(func=_list)

    imp = sub.add_parser(
        "import", help="take in a list signed by a trusted curator (new, or its next version)"
    )
    imp.add_argument("file", help="the signed list file")
    _data_arg(imp)
    imp.set_defaults(func=_import)

    exp = sub.add_parser("export", help="write the signed bytes of a held list")
    exp.add_argument("--list", default=None, metavar="ID", help="list id (default: the service's)")
    exp.add_argument("--output", "-o", default=None, metavar="FILE", help="default: stdout")
    _data_arg(exp)
    exp.set_defaults(func=_export)

    trust = sub.add_parser("trust", help="trust an outside curator's public key (all processes)")
    trust.add_argument("kid", help="a name for the key (1-64 of A-Z a-z 0-9 . _ -)")
    trust.add_argument(
        "public_key", metavar="PUBLIC_KEY", help="Ed25519 public key: base64 or 64 hex digits"
    )
    _data_arg(trust)
    trust.set_defaults(func=_trust)

    untrust = sub.add_parser(
        "untrust", help="stop trusting a stored curator key (refused if a list needs it)"
    )
    untrust.add_argument("kid", help="the key's name (see `frankly banks list`)")
    _data_arg(untrust)
    untrust.set_defaults(func=_untrust)

    rotate = sub.add_parser(
        "rotate-curator",
        help="new service curator key; the old one stays trusted, lists get a handover version",
    )
    _data_arg(rotate)
    rotate.set_defaults(func=_rotate_curator)
