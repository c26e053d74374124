"""``wheelflow simulate`` and ``wheelflow wheel execute|expire|status``."""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    sim = subparsers.add_parser(
        "simulate", help="run the wheel daily over the synthetic market and print a summary"
    )
    sim.add_argument("--days", type=int, default=250, help="trading sessions to simulate")
    sim.add_argument("--seed", type=int, default=7, help="synthetic market seed")
    sim.add_argument("--universe", type=int, default=30, help="synthetic universe size")
    sim.add_argument(
        "--start", type=dt.date.fromisoformat, help="first session (YYYY-MM-DD, default 2025-03-03)"
    )
    sim.add_argument("--strategy-file", help="strategy TOML (default: WHEELFLOW_STRATEGY_FILE)")
    sim.add_argument("--mode", choices=["fast", "pipeline"], default="fast")
    sim.add_argument("--chart", help="write the equity curve PNG here")
    sim.add_argument("--trades", help="write the trade log CSV here")
    sim.add_argument("--database", help="SQLite file to keep the run in (default: a temporary one)")
    sim.add_argument(
        "--no-portfolio-limits",
        action="store_true",
        help="orders pass only the per-order checks, not the risk service's portfolio limits",
    )
    sim.add_argument(
        "--replay",
        type=Path,
        metavar="DIR",
        help="step through a recording (wheelflow run --record) day by day with the full pipeline",
    )
    sim.set_defaults(func=_simulate, needs_database=False)  # its own SQLite file

    wheel = subparsers.add_parser("wheel", help="the wheel lifecycle on the stored snapshots")
    sub = wheel.add_subparsers(dest="wheel_command", metavar="ACTION", required=True)
    ex = sub.add_parser("execute", help="decide and send orders for a ranked snapshot")
    ex.add_argument("--broker", default="paper", help="paper (default), tradier or alpaca")
    ex.add_argument("--strategy-file")
    ex.set_defaults(func=_execute)
    exp = sub.add_parser("expire", help="settle shorts expiring on or before a date")
    exp.add_argument("--date", type=dt.date.fromisoformat, help="default: today")
    exp.add_argument("--broker", default="paper")
    exp.add_argument("--strategy-file")
    exp.set_defaults(func=_expire)
    st = sub.add_parser("status", help="open wheel cycles of the account")
    st.add_argument("--strategy-file")
    st.set_defaults(func=_status)


def _simulate(args: argparse.Namespace) -> int:
    from wheelflow.db import ensure_schema, make_engine
    from wheelflow.errors import ConfigError
    from wheelflow.providers.synthetic import EPOCH
    from wheelflow.settings import get_settings
    from wheelflow.simulate import DEFAULT_START, simulate, write_chart
    from wheelflow.strategy.config import load_strategy_config

    if args.days < 1:
        raise ConfigError("--days must be at least 1")
    if args.universe < 1:
        raise ConfigError("--universe must be at least 1")
    if args.start is not None and args.start < EPOCH:
        raise ConfigError(f"--start must be on or after {EPOCH} (the synthetic history's start)")
    settings = get_settings().model_copy(update={"seed_demo_positions": False})
    config = load_strategy_config(args.strategy_file or settings.strategy_file)
    with tempfile.TemporaryDirectory(prefix="wheelflow-sim-") as tmp:
        path = Path(args.database) if args.database else Path(tmp) / "simulate.sqlite"
        if path.exists():
            raise ConfigError(f"{path} exists; simulate needs a fresh database")
        engine = make_engine(f"sqlite:///{path}")
        ensure_schema(engine)
        result = simulate(
            engine,
            sessions=args.days,
            seed=args.seed,
            config=config,
            settings=settings,
            universe_size=args.universe,
            start=args.start or DEFAULT_START,
            mode=args.mode,
            portfolio_limits=not args.no_portfolio_limits,
            replay=_recording(args.replay, settings),
        )
        engine.dispose()
    print(result.summary())
    if args.trades:
        result.trades.to_csv(args.trades, index=False)
        print(f"trades written to {args.trades} ({len(result.trades)} rows)")
    if args.chart:
        try:
            write_chart(result, args.chart)
        except ImportError:
            raise ConfigError("--chart needs matplotlib: pip install matplotlib") from None
        print(f"equity chart written to {args.chart}")
    return 0


def _recording(directory: Path | None, settings: Any) -> Any:
    """The recording ``--replay`` names, read once (None: the synthetic market)."""
    if directory is None:
        return None
    from wheelflow.providers.recording import open_recording

    return open_recording(directory, settings.exercise_style)


def _context(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from wheelflow.runtime import engine_for, strategy_config
    from wheelflow.settings import get_settings

    settings = get_settings()
    engine = engine_for(settings.resolved_database_url)
    return settings, engine, strategy_config(settings, args.strategy_file)


def _execute(args: argparse.Namespace) -> int:
    from wheelflow.execution.brokers import make_broker
    from wheelflow.execution.wheel_run import execute_decisions, latest_snapshot, plan_wheel

    settings, engine, config = _context(args)
    broker = make_broker(args.broker, engine, settings, config)
    snapshot = latest_snapshot(engine)
    if snapshot is None:
        print("no ranked snapshot yet: run `wheelflow run` first")
        return 1
    decisions = plan_wheel(engine, broker, config, snapshot)
    summary = execute_decisions(engine, broker, config, decisions, snapshot)
    for o in summary.outcomes:
        note = f" ({o.reason})" if o.reason and o.status == "rejected" else ""
        print(f"{o.symbol:6s} {o.side:13s} {o.occ_symbol:22s} {o.status}{note}")
    print(
        f"snapshot {snapshot}: {summary.decisions} decisions, {summary.orders_sent} orders sent, "
        f"{summary.filled} filled, {summary.rejected} rejected, {summary.duplicates} already sent"
    )
    return 0


def _expire(args: argparse.Namespace) -> int:
    from wheelflow.execution.brokers import make_broker
    from wheelflow.execution.wheel_run import process_expirations

    settings, engine, config = _context(args)
    broker = make_broker(args.broker, engine, settings, config)
    events = process_expirations(engine, broker, config, args.date or dt.date.today())
    print("\n".join(events) if events else "nothing expired")
    return 0


def _status(args: argparse.Namespace) -> int:
    from wheelflow.execution.wheel_run import open_cycles_frame

    _settings, engine, config = _context(args)
    frame = open_cycles_frame(engine, config.wheel.account)
    print(frame.to_string(index=False) if len(frame) else "no open wheel cycles")
    return 0
