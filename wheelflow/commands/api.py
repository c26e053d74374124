"""``wheelflow api`` (serve the HTTP API with uvicorn) and ``wheelflow users create|list``."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from wheelflow.errors import WheelflowError


def register(subparsers: Any) -> None:
    api = subparsers.add_parser("api", help="serve the HTTP API (OpenAPI docs at /schema)")
    api.add_argument("--host", help="bind address (default WHEELFLOW_API_HOST, 127.0.0.1)")
    api.add_argument("--port", type=int, help="port (default WHEELFLOW_API_PORT, 8000)")
    api.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    api.set_defaults(func=_serve)

    users = subparsers.add_parser("users", help="API users (the first admin, and more)")
    sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="create a user (prompts for the password)")
    create.add_argument("username")
    create.add_argument("--role", default="viewer", choices=["viewer", "trader", "admin"])
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(func=_create_user)
    listing = sub.add_parser("list", help="list users")
    listing.set_defaults(func=_list_users)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api import access_log
    from api.app import create_app
    from wheelflow.settings import get_settings

    settings = get_settings()
    host = args.host or settings.api_host
    port = args.port or settings.api_port
    shown = f"[{host}]" if ":" in host else ("127.0.0.1" if host in ("0.0.0.0", "") else host)
    print(f"wheelflow dashboard: http://{shown}:{port}/   API docs: http://{shown}:{port}/schema")
    access_log.install()
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=args.log_level,
        # Only the configured proxies may set the client address and scheme (X-Forwarded-*).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or [],
    )
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise WheelflowError("the passwords differ")
    return password


def _create_user(args: argparse.Namespace) -> int:
    from wheelflow import security
    from wheelflow.db import ensure_schema, make_engine, transaction
    from wheelflow.settings import get_settings

    password = _read_password(args.password_stdin)
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    ensure_schema(engine)
    try:
        with transaction(engine) as conn:
            user_id = security.create_user(
                conn, args.username, password, args.role, policy=settings.password_policy
            )
    except ValueError as exc:
        raise WheelflowError(str(exc)) from None
    print(f"created user {args.username!r} (id {user_id}, role {args.role})")
    return 0


def _list_users(args: argparse.Namespace) -> int:
    from wheelflow import security
    from wheelflow.db import make_engine
    from wheelflow.settings import get_settings

    engine = make_engine(get_settings().resolved_database_url)
    with engine.connect() as conn:
        for user in security.list_users(conn):
            state = "active" if user["active"] else "disabled"
            print(f"{user['id']:>4}  {user['username']:24s} {user['role']:8s} {state}")
    return 0
