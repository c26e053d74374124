"""``wheelflow metrics serve|show``: the Prometheus exporter of the wheelflow tables."""

from __future__ import annotations

import argparse
import threading
from typing import Any


def register(subparsers: Any) -> None:
    metrics = subparsers.add_parser("metrics", help="Prometheus metrics from the wheelflow tables")
    sub = metrics.add_subparsers(dest="metrics_command", metavar="ACTION", required=True)
    serve = sub.add_parser("serve", help="serve /metrics over HTTP until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=9108, help="port to bind (default 9108)")
    # Serves while the database is down (wheelflow_database_up 0), so no up-front check.
    serve.set_defaults(func=_serve, needs_database=False)
    show = sub.add_parser("show", help="print one scrape in the Prometheus text format")
    show.set_defaults(func=_show, needs_database=False)


def _registry() -> Any:
    from wheelflow.db import make_engine
    from wheelflow.metrics import make_registry
    from wheelflow.settings import get_settings

    return make_registry(make_engine(get_settings().resolved_database_url))


def _serve(args: argparse.Namespace) -> int:
    from prometheus_client import start_http_server

    from wheelflow.errors import ConfigError

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be 1-65535, got {args.port}")
    try:
        server, thread = start_http_server(args.port, addr=args.host, registry=_registry())
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    print(f"wheelflow metrics on http://{args.host}:{server.server_port}/metrics", flush=True)
    try:
        threading.Event().wait()  # until SIGINT / SIGTERM ends the process
    finally:
        server.shutdown()
        thread.join(timeout=5)
    return 0


def _show(args: argparse.Namespace) -> int:
    from prometheus_client import generate_latest

    print(generate_latest(_registry()).decode(), end="")
    return 0
