"""A hand-made market for lifecycle tests: stored quotes the paper broker fills against."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine

from wheelflow.db import transaction, upsert_frame
from wheelflow.occ import occ_symbol

SYMBOL = "XYZ"
EXPIRY = dt.date(2026, 12, 18)
DAY1 = dt.datetime(2026, 12, 1, 21, 0)  # snapshot times, naive UTC


def put_occ(strike: float = 50.0, expiry: dt.date = EXPIRY) -> str:
    return occ_symbol(SYMBOL, expiry, "P", strike)


def call_occ(strike: float = 52.0, expiry: dt.date = EXPIRY) -> str:
    return occ_symbol(SYMBOL, expiry, "C", strike)


def store_quote(
    engine: Engine,
    at: dt.datetime,
    last: float,
    options: dict[str, tuple[float, float]] | None = None,
    prev_close: float | None = None,
) -> None:
    """The underlying's quote and the given options' (bid, ask) at snapshot ``at``."""
    quotes = pd.DataFrame(
        {
            "snapshot_at": [at],
            "symbol": [SYMBOL],
            "bid": [last - 0.01],
            "ask": [last + 0.01],
            "last": [last],
            "prev_close": [prev_close if prev_close is not None else last],
            "volume": [1_000_000],
            "quote_time": [at],
            "provider": ["test"],
        }
    )
    rows = []
    for occ, (bid, ask) in (options or {}).items():
        rows.append(
            {
                "snapshot_at": at,
                "occ_symbol": occ,
                "underlying": SYMBOL,
                "expiration": pd.Timestamp(dt.datetime.strptime(occ[3:9], "%y%m%d")),
                "strike": int(occ[-8:]) / 1000.0,
                "right": occ[9],
                "bid": bid,
                "ask": ask,
                "open_interest": 1000,
                "underlying_price": last,
                "iv_status": "ok",
                "provider": "test",
            }
        )
    with transaction(engine) as conn:
        upsert_frame(conn, "underlying_quotes", quotes)
        if rows:
            upsert_frame(conn, "option_snapshots", pd.DataFrame(rows))


def store_ranking(engine: Engine) -> None:
    """One ranked cash-secured put at DAY1, as the pipeline would store it."""
    row = {
        "snapshot_at": DAY1,
        "strategy": "csp",
        "occ_symbol": put_occ(),
        "run_id": "test",
        "rank": 1,
        "underlying": SYMBOL,
        "expiration": pd.Timestamp(EXPIRY),
        "strike": 50.0,
        "right": "P",
        "underlying_price": 52.0,
        "bid": 1.10,
        "ask": 1.30,
        "premium": 1.20,
        "days_to_expiry": (EXPIRY - DAY1.date()).days,
        "period_return": 0.024,
        "annualized_return": 0.5,
        "probability_otm": 0.75,
        "delta": -0.25,
        "iv": 0.4,
        "breakeven": 48.8,
        "collateral": 5000.0,
        "spread_pct": 0.167,
        "open_interest": 1000,
        "volume": 100,
        "score": 0.3,
        "blocked": False,
    }
    run = {  # readers serve the rankings of completed runs only
        "run_id": "r1",
        "flow_name": "wheel_pipeline",
        "snapshot_at": DAY1,
        "status": "completed",
        "provider": "synthetic",
        "started_at": DAY1,
        "finished_at": DAY1,
        "attempts": 1,
    }
    with transaction(engine) as conn:
        upsert_frame(conn, "rankings", pd.DataFrame([row]))
        upsert_frame(conn, "pipeline_runs", pd.DataFrame([run]))
