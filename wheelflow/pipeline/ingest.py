"""Stage 1: watchlist -> quotes -> quotes gate -> price filter (and demo positions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Engine, text

from models.tables import utcnow
from wheelflow.db import read_frame, transaction, upsert_frame
from wheelflow.pipeline.context import history_start, load_market_context
from wheelflow.pipeline.gates import fail_stage, quarantine, record_gate, run_stage_gate
from wheelflow.pipeline.run import (
    DEMO_ACCOUNT,
    MAX_BAD_FRACTION,
    MAX_QUOTE_AGE_SECONDS,
    IngestResult,
    RunContext,
)
from wheelflow.providers.base import MarketDataProvider
from wheelflow.strategy.cost_basis import covered_call_cost_basis


def watchlist_symbols(engine: Engine, default: Sequence[str]) -> list[str]:
    """Active watchlist symbols; an empty watchlist is seeded with ``default`` first."""
    with transaction(engine) as conn:
        rows = conn.execute(text("SELECT symbol, active FROM watchlist")).fetchall()
        if not rows and default:
            seed = pd.DataFrame(
                {"symbol": list(default), "active": True, "source": "default", "added_at": utcnow()}
            )
            upsert_frame(conn, "watchlist", seed, update=False)
            return list(default)
    return sorted(str(r[0]) for r in rows if r[1])


def open_positions(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_frame(conn, "SELECT * FROM positions WHERE status = 'open'")


def seed_demo_positions(engine: Engine, quotes: pd.DataFrame, snapshot_at: dt.datetime) -> int:
    """Give the demo account long stock in up to three cheap symbols, so covered calls rank.

    Runs once: nothing happens when the demo account already has positions.
    """
    with transaction(engine) as conn:
        if conn.execute(
            text("SELECT 1 FROM positions WHERE account = :a"), {"a": DEMO_ACCOUNT}
        ).first():
            return 0
        cheap = quotes[(quotes["last"] > 5) & (quotes["last"] < 50)].sort_values("symbol").head(3)
        if cheap.empty:
            return 0
        basis = (cheap["last"] * 0.97).round(2).to_numpy()  # bought a little lower
        frame = pd.DataFrame(
            {
                "account": DEMO_ACCOUNT,
                "symbol": cheap["symbol"].to_numpy(),
                "asset_type": "stock",
                "quantity": 100,
                "average_price": basis,
                "cost_basis": basis,
                "status": "open",
                "opened_at": snapshot_at,
                "realized_pnl": 0.0,
                "source": "demo",
            }
        )
        frame.to_sql("positions", conn, if_exists="append", index=False)
        return len(frame)


def ingest_underlyings(
    ctx: RunContext, provider: MarketDataProvider, symbols: Sequence[str]
) -> IngestResult:
    """Quotes for ``symbols`` -> quotes gate -> ``underlying_quotes`` + recent ``price_bars``,
    then the price filter. Missing symbols are quarantined with a reason; a mostly-bad batch
    fails the stage."""
    from validations.suites import quotes_suite

    quotes = provider.quotes(list(symbols))
    quotes = quotes.assign(
        quote_age_seconds=(pd.Timestamp(ctx.snapshot_at) - quotes["quote_time"]).dt.total_seconds()
    )
    missing = sorted(set(symbols) - set(quotes["symbol"].dropna()))
    gate = run_stage_gate(
        ctx,
        "quotes",
        quotes,
        quotes_suite(symbols, MAX_QUOTE_AGE_SECONDS),
        quotes["symbol"].astype(str),
    )
    if missing:
        extra = pd.DataFrame(
            {
                "row_key": missing,
                "reasons": "no quote returned by the provider",
                "payload": [{"symbol": s} for s in missing],
            }
        )
        gate.quarantined = pd.concat([gate.quarantined, extra], ignore_index=True)
        gate.failed_rows += len(missing)
        gate.evaluated_rows += len(missing)
        if gate.passed and gate.bad_fraction > MAX_BAD_FRACTION:
            gate.passed = False
            gate.failure_reason = f"{len(missing)} of {len(symbols)} symbols have no quote"
    if not gate.passed:
        raise fail_stage(ctx, "quotes", "all", gate)
    good = gate.good.drop(columns=["quote_age_seconds"])
    screening = ctx.config.screening
    in_window = good[
        (good["last"] >= screening.min_underlying_price)
        & (good["last"] <= screening.max_underlying_price)
    ]
    day = pd.Timestamp(ctx.snapshot_at).date()
    # A year and more of daily bars feeds the volatility forecast; the last 45 days are stored.
    history = provider.price_history(
        list(good["symbol"]), history_start(day, ctx.config.expected_value), day
    )
    recent = history[history["bar_date"] >= pd.Timestamp(day - dt.timedelta(days=45))]
    with transaction(ctx.engine) as conn:
        upsert_frame(
            conn,
            "underlying_quotes",
            good.assign(snapshot_at=ctx.snapshot_at, provider=ctx.provider_name),
        )
        upsert_frame(conn, "price_bars", recent.assign(provider=ctx.provider_name))
        record_gate(conn, ctx, "quotes", "all", gate)
    if ctx.settings.seed_demo_positions:
        seed_demo_positions(ctx.engine, good, ctx.snapshot_at)
    cost_basis = covered_call_cost_basis(open_positions(ctx.engine), good["symbol"])
    csp_symbols = sorted(in_window["symbol"].astype(str))
    chain_symbols = sorted(set(csp_symbols) | set(cost_basis))
    loaded = load_market_context(provider, chain_symbols, day, ctx.config.expected_value, history)
    if len(loaded.unreadable):
        with transaction(ctx.engine) as conn:
            quarantine(conn, ctx, "events", loaded.unreadable)
    return IngestResult(
        quotes=good,
        csp_symbols=csp_symbols,
        cc_cost_basis=cost_basis,
        quarantined=len(gate.quarantined) + len(loaded.unreadable),
        market=loaded.context,
    )


def default_symbols(provider: MarketDataProvider) -> list[str]:
    """The provider's own universe when it has one (the synthetic market), else none."""
    return list(getattr(provider, "symbols", []) or [])
