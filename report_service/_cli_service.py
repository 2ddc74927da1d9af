"""``frankly serve``, ``frankly keys init|rotate|list`` and ``frankly users add|list``.

Every command acts on the data folder ``./frankly-data`` of the current directory unless
``--data DIR`` (or ``FRANKLY_DATA_DIR`` / the settings) says otherwise. Handlers import
the heavy modules lazily.

Exit status: 0 success; 1 a refusal the command explains (a key file exists, no
confirmation); 2 bad settings, key file or database; 3 ``serve`` cannot listen on the
address (port in use, not allowed, unknown host).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from report_service import lifecycle_cli
from report_service._cli_common import add_data_option
from report_service.errors import ServiceError

CONFIRM_REPLACE_FLAG = "--yes-replace-keys"
EXIT_CANNOT_LISTEN = 3


_data_arg = add_data_option


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1 to 65535)")
    return port


def iso_utc(ms: int | None) -> str:
    """Milliseconds since the epoch as ISO 8601 in UTC (``-`` for none)."""
    if ms is None:
        return "-"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def _listen(host: str, port: int) -> Any:
    """A listening TCP socket on ``host``:``port``.

    Raises:
        OSError: the address is in use, not allowed, or the host is unknown.
    """
    import socket

    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from report_service.app import create_app
    from report_service.observability import configure_logging, logger
    from report_service.storage.migrate import describe_database

    if args.workers < 1:
        return _fail(ServiceError("--workers must be at least 1"))
    if args.workers > 1:
        return _serve_workers(args)
    try:
        settings = _settings(args)
        configure_logging(settings.log_level)
    except ServiceError as exc:
        return _fail(exc)
    except ValueError:
        return _fail(ValueError(f"log_level {settings.log_level!r} is not a logging level"))
    try:
        sock = _listen(settings.host, args.port)
    except OSError as exc:
        import errno

        reason = exc.strerror or str(exc)
        hint = {
            errno.EADDRINUSE: " (another program is using that port: stop it, or choose "
            "another with --port)",
            errno.EACCES: " (ports below 1024 need privileges: choose one above 1024)",
            errno.EADDRNOTAVAIL: " (this machine has no such address: try 127.0.0.1 or 0.0.0.0)",
        }.get(exc.errno or 0, "")
        print(
            f"error: cannot listen on {settings.host}:{args.port}: {reason}{hint}", file=sys.stderr
        )
        return EXIT_CANNOT_LISTEN
    with sock:
        try:
            app = create_app(settings)
        except ServiceError as exc:
            return _fail(exc)
        from sqlalchemy.engine import make_url

        logger().info(
            "starting",
            extra={
                "data_dir": str(settings.data_dir.resolve()),
                "database": describe_database(make_url(settings.resolved_database_url)),
                "key_file": str(settings.resolved_key_file.resolve()),
                "listen": f"http://{settings.host}:{args.port}",
            },
        )
        config = uvicorn.Config(
            app, host=settings.host, port=args.port, access_log=False, log_config=None
        )
        uvicorn.Server(config).run(sockets=[sock])
    return 0


def _confirmed_replace(path: Path, args: argparse.Namespace) -> bool:
    """Whether the operator confirmed replacing the key file: the flag, or typing
    ``replace`` on a terminal. Never without one of them."""
    if args.yes_replace_keys:
        return True
    if not sys.stdin.isatty():
        print(
            f"error: {path} exists and --force would replace it; evidence sealed under the "
            f"old keys then needs the backup to be opened. Confirm with {CONFIRM_REPLACE_FLAG} "
            "(or run on a terminal and answer the question); `frankly keys rotate` keeps the "
            "old keys instead",
            file=sys.stderr,
        )
        return False
    print(
        f"{path} holds the service's keys; replacing them makes old reports unverifiable and "
        "old evidence unreadable without the backup (which is kept).",
        file=sys.stderr,
    )
    try:
        answer = input("type 'replace' to replace them: ")
    except EOFError:
        answer = ""
    if answer.strip() != "replace":
        print("error: not confirmed; nothing changed", file=sys.stderr)
        return False
    return True


def backup_key_file(path: Path, now_ms: int) -> Path:
    """Copy the key file to ``<name>.backup-<UTC time>`` (mode 0600, never overwriting).

    Raises:
        KeyFileError: the backup cannot be written.
    """
    from datetime import UTC, datetime

    from report_service.errors import KeyFileError

    stamp = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    backup = path.with_name(f"{path.name}.backup-{stamp}")
    try:
        data = path.read_bytes()
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise KeyFileError(f"cannot back up the key file to {backup}: {exc.strerror}") from None
    return backup


def _serve_workers(args: argparse.Namespace) -> int:
    """Check the settings and key file and upgrade the schema once, here; then let
    uvicorn start ``--workers`` processes that build the app with
    :func:`report_service.asgi.worker_app`. Their metrics add up in a private (0700)
    ``PROMETHEUS_MULTIPROC_DIR`` removed on exit."""
    import tempfile

    import uvicorn

    from report_service.keys import load_key_file
    from report_service.observability import MULTIPROC_ENV, configure_logging
    from report_service.storage.migrate import open_database

    try:
        settings = _settings(args)
        configure_logging(settings.log_level)
        load_key_file(settings.resolved_key_file)
        with open_database(settings):
            pass
    except ServiceError as exc:
        return _fail(exc)
    with tempfile.TemporaryDirectory(prefix="frankly-metrics-") as metrics_dir:
        os.environ[MULTIPROC_ENV] = metrics_dir  # mkdtemp: mode 0700, ours alone
        os.environ["FRANKLY_DATA_DIR"] = str(settings.data_dir.resolve())
        os.environ["FRANKLY_HOST"] = settings.host  # the workers judge /metrics by it
        uvicorn.run(
            "report_service.asgi:worker_app",
            factory=True,
            workers=args.workers,
            host=settings.host,
            port=args.port,
            access_log=False,
            log_config=None,
        )
    return 0


def _keys_init(args: argparse.Namespace) -> int:
    from report_service.keys import generate_key_material, save_key_file

    backup: Path | None = None
    try:
        settings = _settings(args)
        path = settings.resolved_key_file
        if path.exists():
            if not args.force:
                print(
                    f"error: {path} exists; use `frankly keys rotate` (old keys are kept), "
                    f"or --force {CONFIRM_REPLACE_FLAG} to replace them (a backup is kept)",
                    file=sys.stderr,
                )
                return 1
            if not _confirmed_replace(path, args):
                return 1
            backup = backup_key_file(path, _now_ms())
        material = generate_key_material(os.urandom, _now_ms())
        save_key_file(path, material)
    except ServiceError as exc:
        return _fail(exc)
    if backup is not None:
        print(
            f"the old keys are in {backup} (mode 0600); to go back: stop the service and "
            f"`mv {backup} {path}`",
            file=sys.stderr,
        )
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
    for col in ("kind", "key id", "state", "created (UTC)", "public key"):
        table.add_column(col, overflow="fold")
    ring = material.franking
    for k in ring.keys:
        state = "active" if k.kid == ring.active_kid else f"retired {iso_utc(k.retired_at_ms)}"
        table.add_row("franking", k.kid, state, iso_utc(k.created_at_ms), "")
    for s in material.sealing:
        state = (
            "active" if s.kid == material.sealing_active else f"retired {iso_utc(s.retired_at_ms)}"
        )
        table.add_row(
            "report sealing",
            s.kid,
            state,
            iso_utc(s.created_at_ms),
            base64.b64encode(s.public_key).decode(),
        )
    for m in material.master:
        state = "active" if m.kid == material.master_active else "kept for old evidence"
        table.add_row("evidence master", m.kid, state, iso_utc(m.created_at_ms), "")
    c = material.curator
    table.add_row(
        "bank curator",
        c.kid,
        "active",
        iso_utc(c.created_at_ms),
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
        settings = _settings(args)
        require_key_file(settings)
        with open_database(settings) as sessions, sessions() as session:
            add_user(session, name, hash_token(token), _now_ms())
    except ServiceError as exc:
        return _fail(exc)
    print(f"user {name} added; their bearer token (shown once):", file=sys.stderr)
    print(token)
    return 0


def require_key_file(settings: Any) -> None:
    """Refuse to add accounts to the embedded database of a data folder with no key file:
    most likely the wrong folder, where a new empty database would be created quietly.
    (With ``database_url`` set, the database is not in the folder: nothing to check.)

    Raises:
        KeyFileError: the key file does not exist.
    """
    from report_service.errors import KeyFileError

    if settings.database_url is not None:
        return
    path: Path = settings.resolved_key_file
    if not path.exists():
        raise KeyFileError(
            f"no key file at {path}: is {settings.data_dir} the service's data folder? "
            "Give --data DIR (or FRANKLY_DATA_DIR), or run `frankly keys init` there first"
        )


def _users_list(args: argparse.Namespace) -> int:
    from report_service.storage.migrate import open_database
    from report_service.storage.users import list_users

    try:
        with open_database(_settings(args), create=False) as sessions, sessions() as session:
            users = list_users(session)
    except ServiceError as exc:
        return _fail(exc)
    for user in users:
        print(user.id if user.revoked_at is None else f"{user.id}\trevoked")
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
    serve.add_argument(
        "--port", type=_port, default=8000, help="TCP port, 1 to 65535 (default 8000)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="server processes sharing the port (default 1); all state is in the database",
    )
    _data_arg(serve)
    serve.set_defaults(func=_serve)

    keys = subparsers.add_parser("keys", help="manage the service's key file")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    init = keys_sub.add_parser(
        "init", help="create franking, report-sealing, evidence master and curator keys"
    )
    init.add_argument(
        "--force",
        action="store_true",
        help="replace an existing key file (asks on a terminal; a timestamped 0600 backup is "
        "kept beside it)",
    )
    init.add_argument(
        CONFIRM_REPLACE_FLAG,
        action="store_true",
        help="with --force: confirm the replacement without a question (scripts)",
    )
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
    lifecycle_cli.register_keys(keys_sub)

    users = subparsers.add_parser("users", help="manage reporter / relay users")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = users_sub.add_parser("add", help="add a user and print their bearer token")
    add.add_argument("name", help="user id (letters, digits, _ . @ -)")
    _data_arg(add)
    add.set_defaults(func=_users_add)
    ulist = users_sub.add_parser("list", help="list user ids")
    _data_arg(ulist)
    ulist.set_defaults(func=_users_list)
    lifecycle_cli.register_users(users_sub)
