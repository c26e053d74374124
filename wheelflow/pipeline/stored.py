"""Inputs of stage re-runs, read back from the tables of a stored snapshot."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, text

from wheelflow.db import read_frame
from wheelflow.pipeline.context import history_start
from wheelflow.pipeline.ingest import open_positions
from wheelflow.pipeline.run import IngestResult, RunContext
from wheelflow.strategy.cost_basis import covered_call_cost_basis
from wheelflow.strategy.valuation import MarketContext
from wheelflow.volatility import forecast_volatility


def latest_snapshot(engine: Engine, table_name: str = "option_snapshots") -> dt.datetime | None:
    """The newest snapshot stored in a table (stage flows default to it)."""
    with engine.connect() as conn:
        value = conn.execute(text(f"SELECT MAX(snapshot_at) FROM {table_name}")).scalar()
    if value is None:
        return None
    return value if isinstance(value, dt.datetime) else pd.Timestamp(value).to_pydatetime()


def stored_ingest(ctx: RunContext) -> IngestResult:
    """The ingest outcome of a snapshot, rebuilt from ``underlying_quotes``, ``positions`` and
    ``price_bars`` (the forecast reads the stored bars; the event feeds are not stored, so a
    re-ranking from the tables carries no earnings or dividend flags)."""
    day = pd.Timestamp(ctx.snapshot_at).date()
    with ctx.engine.connect() as conn:
        quotes = read_frame(
            conn, "SELECT * FROM underlying_quotes WHERE snapshot_at = :s", {"s": ctx.snapshot_at}
        )
        bars = read_frame(
            conn,
            "SELECT symbol, bar_date, close FROM price_bars WHERE bar_date BETWEEN :a AND :b",
            {"a": history_start(day, ctx.config.expected_value), "b": day},
        )
    screening = ctx.config.screening
    window = quotes[
        quotes["last"].between(screening.min_underlying_price, screening.max_underlying_price)
    ]
    basis = covered_call_cost_basis(open_positions(ctx.engine), quotes["symbol"])
    forecast = forecast_volatility(bars, ctx.config.expected_value.forecast)
    return IngestResult(
        quotes=quotes,
        csp_symbols=sorted(window["symbol"].astype(str)),
        cc_cost_basis=basis,
        market=MarketContext(forecast=forecast),
    )


def stored_rankings(engine: Engine, snapshot_at: dt.datetime) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = read_frame(
            conn,
            "SELECT * FROM rankings WHERE snapshot_at = :s ORDER BY strategy, rank",
            {"s": snapshot_at},
        )
    return frame.drop(columns=["snapshot_at", "run_id"], errors="ignore")


def stored_risk_checks(engine: Engine, snapshot_at: dt.datetime) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_frame(
            conn, "SELECT * FROM risk_checks WHERE snapshot_at = :s", {"s": snapshot_at}
        )


def load_option_snapshot(engine: Engine, snapshot_at: dt.datetime) -> pd.DataFrame:
    """The stored chains of one snapshot (for stage flows run on their own)."""
    with engine.connect() as conn:
        frame = read_frame(
            conn, "SELECT * FROM option_snapshots WHERE snapshot_at = :s", {"s": snapshot_at}
        )
    if len(frame):
        frame["expiration"] = pd.to_datetime(frame["expiration"])
    return frame
