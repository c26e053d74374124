"""``wheelflow notify``: deliver alerts from the outbox (a RabbitMQ consumer, or in process)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "notify",
        help="deliver alerts: consume RabbitMQ (WHEELFLOW_AMQP_URL) or poll the outbox",
    )
    p.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    p.add_argument(
        "--sweep-seconds", type=float, default=5.0, help="how often to look for due deliveries"
    )
    p.add_argument("--batch", type=int, default=100, help="deliveries claimed at once")
    p.add_argument(
        "--idle-exit", type=float, default=None, help="exit after this many idle seconds"
    )
    p.add_argument(
        "--heartbeat", type=Path, help="a file touched at every sweep (container health check)"
    )
    p.set_defaults(func=_notify)


def _notify(args: argparse.Namespace) -> int:
    from wheelflow.alerts.delivery import DispatchReport, dispatch_due
    from wheelflow.runtime import engine_for
    from wheelflow.settings import get_settings

    logging.getLogger("wheelflow").setLevel(logging.INFO)
    settings = get_settings()
    engine = engine_for(settings.resolved_database_url)
    if args.once:
        report = dispatch_due(engine, settings, batch=args.batch)
    elif settings.amqp_url.get_secret_value():
        from wheelflow.alerts.queue import run_worker

        report = run_worker(
            engine,
            settings,
            batch=args.batch,
            sweep_seconds=args.sweep_seconds,
            idle_exit_seconds=args.idle_exit,
            heartbeat=args.heartbeat,
        )
    else:  # the embedded default: poll the outbox
        report = DispatchReport()
        idle_since = time.monotonic()
        try:
            while True:
                done = dispatch_due(engine, settings, batch=args.batch)
                if args.heartbeat is not None:
                    args.heartbeat.touch()
                report.add(done)
                if done.delivered or done.retrying or done.dead:
                    idle_since = time.monotonic()
                elif args.idle_exit is not None and time.monotonic() - idle_since > args.idle_exit:
                    break
                time.sleep(args.sweep_seconds)
        except KeyboardInterrupt:
            pass
    print(report.summary())
    return 0
