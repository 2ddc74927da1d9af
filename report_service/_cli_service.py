"""``frankly serve``, ``frankly keys init|rotate|list`` and ``frankly users add|list``.

Every command acts on the data folder ``./frankly-data`` of the current directory unless
``--data DIR`` (or ``FRANKLY_DATA_DIR`` / the settings) says otherwise. Handlers import
the heavy modules lazily.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from report_service.errors import ServiceError


def _data_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="data folder (default: ./frankly-data, or FRANKLY_DATA_DIR)",
    )


def _settings(args: argparse.Namespace) -> Any:
    from report_service.settings import load_settings

    # ``serve --host`` is a setting too: the app needs to know where it listens.
    host = getattr(args, "host", None)
    return load_settings(args.data, **({} if host is None else {"host": host}))


def _fail(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


def _now_ms() -> int:
    from report_service.app import wall_clock_ms

    return wall_clock_ms()


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from report_service.app import create_app
    from report_service.observability import configure_logging

    try:
        settings = _settings(args)
        configure_logging(settings.log_level)
        app = create_app(settings)
    except ServiceError as exc:
        return _fail(exc)
    uvicorn.run(app, host=settings.host, port=args.port, access_log=False, log_config=None)
    return 0


def _keys_init(args: argparse.Namespace) -> int:
    from report_service.keys import generate_key_material, save_key_file

    try:
        settings = _settings(args)
        path = settings.resolved_key_file
        if path.exists() and not args.force:
            print(f"error: {path} exists; use `frankly keys rotate` (or --force)", file=sys.stderr)
            return 1
        material = generate_key_material(os.urandom, _now_ms())
        save_key_file(path, material)
    except ServiceError as exc:
        return _fail(exc)
    print(f"wrote {path} (mode 0600)")
    _print_keys(material)
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    from report_service.keys import load_key_file, rotate_key, save_key_file

    try:
        settings = _settings(args)
        path = settings.resolved_key_file
        material = load_key_file(path)
        which_keys = args.which or ["franking", "sealing"]
        for which in which_keys:
            material = rotate_key(material, which, os.urandom, _now_ms())
        save_key_file(path, material)
    except ServiceError as exc:
        return _fail(exc)
    print(f"rotated {', '.join(which_keys)} in {path}; restart the service to use the new keys")
    _print_keys(material)
    return 0


def _print_keys(material: Any) -> None:
    import base64

    from rich.console import Console
    from rich.table import Table

    table = Table(title="Frankly service keys (no secrets shown)")
    for col in ("kind", "key id", "state", "created (ms)", "public key"):
        table.add_column(col, overflow="fold")
    ring = material.franking
    for k in ring.keys:
        state = "active" if k.kid == ring.active_kid else f"retired {k.retired_at_ms}"
        table.add_row("franking", k.kid, state, str(k.created_at_ms), "")
    for s in material.sealing:
        state = "active" if s.kid == material.sealing_active else f"retired {s.retired_at_ms}"
        table.add_row(
            "report sealing",
            s.kid,
            state,
            str(s.created_at_ms),
            base64.b64encode(s.public_key).decode(),
        )
    for m in material.master:
        state = "active" if m.kid == material.master_active else "kept for old evidence"
        table.add_row("evidence master", m.kid, state, str(m.created_at_ms), "")
    c = material.curator
    table.add_row(
        "bank curator",
        c.kid,
        "active",
        str(c.created_at_ms),
        base64.b64encode(c.public_key).decode(),
    )
    console = Console()
    console.width = max(console.width, 140)
    console.print(table)


def _keys_list(args: argparse.Namespace) -> int:
    from report_service.keys import load_key_file

    try:
        material = load_key_file(_settings(args).resolved_key_file)
    except ServiceError as exc:
        return _fail(exc)
    _print_keys(material)
    return 0


def _users_add(args: argparse.Namespace) -> int:
    from report_service.storage.migrate import open_database
    from report_service.storage.users import add_user
    from report_service.tokens import check_user_name, hash_token, new_token

    try:
        name = check_user_name(args.name)
        token = new_token()
        with open_database(_settings(args)) as sessions, sessions() as session:
            add_user(session, name, hash_token(token), _now_ms())
    except ServiceError as exc:
        return _fail(exc)
    print(f"user {name} added; their bearer token (shown once):", file=sys.stderr)
    print(token)
    return 0


def _users_list(args: argparse.Namespace) -> int:
    from report_service.storage.migrate import open_database
    from report_service.storage.users import list_users

    try:
        with open_database(_settings(args)) as sessions, sessions() as session:
            users = list_users(session)
    except ServiceError as exc:
        return _fail(exc)
    for user in users:
        print(user.id)
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``serve``, ``keys`` and ``users`` to the ``frankly`` parser."""
    serve = subparsers.add_parser("serve", help="run the report service (HTTP)")
    serve.add_argument(
        "--host",
        default=None,
        help="address to bind (default: FRANKLY_HOST, else 127.0.0.1); beyond loopback, "
        "/metrics needs FRANKLY_METRICS_TOKEN",
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    _data_arg(serve)
    serve.set_defaults(func=_serve)

    keys = subparsers.add_parser("keys", help="manage the service's key file")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    init = keys_sub.add_parser(
        "init", help="create franking, report-sealing, evidence master and curator keys"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing key file")
    _data_arg(init)
    init.set_defaults(func=_keys_init)
    rotate = keys_sub.add_parser("rotate", help="rotate keys; old ones are kept for verification")
    rotate.add_argument(
        "which",
        nargs="*",
        metavar="{franking,sealing,master}",
        help="which keys (default: franking sealing)",
    )
    _data_arg(rotate)
    rotate.set_defaults(func=_keys_rotate)
    listing = keys_sub.add_parser("list", help="show key ids, states and public keys")
    _data_arg(listing)
    listing.set_defaults(func=_keys_list)

    users = subparsers.add_parser("users", help="manage reporter / relay users")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = users_sub.add_parser("add", help="add a user and print their bearer token")
    add.add_argument("name", help="user id (letters, digits, _ . @ -)")
    _data_arg(add)
    add.set_defaults(func=_users_add)
    ulist = users_sub.add_parser("list", help="list user ids")
    _data_arg(ulist)
    ulist.set_defaults(func=_users_list)
