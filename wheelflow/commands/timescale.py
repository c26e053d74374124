"""``wheelflow timescale status|refresh|retention``: time-series upkeep an operator schedules."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    ts = subparsers.add_parser(
        "timescale", help="TimescaleDB status, daily-IV refresh and retention (with fallbacks)"
    )
    sub = ts.add_subparsers(dest="timescale_command", metavar="ACTION", required=True)
    sub.add_parser("status", help="extension, license and chunks per hypertable").set_defaults(
        func=_status
    )
    sub.add_parser("refresh", help="refresh the daily implied-volatility view").set_defaults(
        func=_refresh
    )
    retention = sub.add_parser("retention", help="delete time-series rows older than N days")
    retention.add_argument(
        "--older-than-days", type=int, required=True, metavar="N", help="horizon in days (>= 1)"
    )
    retention.set_defaults(func=_retention)


def _engine() -> Any:
    from wheelflow.db import make_engine
    from wheelflow.settings import get_settings

    return make_engine(get_settings().resolved_database_url)


def _status(args: argparse.Namespace) -> int:
    from wheelflow import timescale

    engine = _engine()
    with engine.connect() as conn:
        support = timescale.detect(conn)
    print(f"backend: {engine.dialect.name}")
    print(f"timescaledb: {'installed' if support.installed else 'not installed'}")
    if support.installed:
        print(f"license: {support.license}")
        print(f"continuous aggregates: {'yes' if support.continuous_aggregates else 'no'}")
    for table, chunks in timescale.chunk_counts(engine).items():
        print(f"  {table:24s} {chunks:>6d} chunks")
    for c in timescale.compression_status(engine):
        state = f"on, {c.compressed_chunks}/{c.chunks} chunks compressed" if c.enabled else "off"
        print(f"compression {c.table}: {state} ({c.note})")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    from wheelflow import timescale

    timescale.refresh_daily_iv(_engine())
    print(f"refreshed {timescale.DAILY_IV_VIEW}")
    return 0


def _retention(args: argparse.Namespace) -> int:
    from wheelflow import timescale
    from wheelflow.errors import ConfigError

    if args.older_than_days < 1:
        raise ConfigError(f"--older-than-days must be >= 1, got {args.older_than_days}")
    for result in timescale.apply_retention(_engine(), args.older_than_days):
        print(
            f"{result.table}: {result.rows_deleted} rows deleted, "
            f"{result.chunks_dropped} chunks dropped"
        )
    return 0
