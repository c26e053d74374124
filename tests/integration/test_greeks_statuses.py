"""The greeks gate and IV statuses: undetermined quotes are stored bare, bad ones quarantined."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, text

from wheelflow.pipeline.chains import compute_greeks, validate_and_store_greeks
from wheelflow.pipeline.run import RunContext
from wheelflow.settings import load_settings
from wheelflow.strategy.config import StrategyConfig

SNAPSHOT = dt.datetime(2026, 11, 24, 21, 0)
EXPIRY = dt.date(2027, 5, 21)


def _chain() -> pd.DataFrame:
    """Puts on one underlying at 80: a normal quote, one at its exercise value (20 = K - S),
    one 0.05 below it inside a 0.40 spread, and one 1.00 below it (bad data)."""
    rows = [  # strike, bid, ask
        (80.0, 4.0, 4.2),
        (100.0, 19.9, 20.1),
        (100.0, 19.75, 20.15),
        (100.0, 18.9, 19.1),
    ]
    return pd.DataFrame(
        {
            "occ_symbol": [f"XYZ270521P0{i}" for i in range(len(rows))],
            "underlying": "XYZ",
            "expiration": pd.Timestamp(EXPIRY),
            "strike": [r[0] for r in rows],
            "right": "P",
            "bid": [r[1] for r in rows],
            "ask": [r[2] for r in rows],
            "last": [r[1] for r in rows],
            "volume": 10,
            "open_interest": 100,
            "underlying_price": 80.0,
            "quote_time": SNAPSHOT,
            "years_to_expiry": 0.49,
        }
    )


def test_undetermined_quotes_are_stored_without_iv_and_bad_ones_quarantined(
    engine: Engine,
) -> None:
    ctx = RunContext(
        engine=engine,
        settings=load_settings(),
        config=StrategyConfig(),
        snapshot_at=SNAPSHOT,
        provider_name="test",
    )
    frame = compute_greeks(_chain(), SNAPSHOT, 0.05, "american")
    assert list(frame["iv_status"]) == ["ok", "undetermined", "undetermined", "below_intrinsic"]

    stored = validate_and_store_greeks(ctx, frame, "XYZ")

    assert sorted(stored["iv_status"]) == ["ok", "undetermined", "undetermined"]
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT occ_symbol, iv, delta, iv_status FROM option_snapshots ORDER BY 1")
        ).all()
        quarantined = conn.execute(text("SELECT row_key, reasons FROM quarantined_rows")).all()
    assert [(r.occ_symbol, r.iv_status) for r in rows] == [
        ("XYZ270521P00", "ok"),
        ("XYZ270521P01", "undetermined"),
        ("XYZ270521P02", "undetermined"),
    ]
    assert rows[0].iv > 0 and rows[0].delta < 0
    assert all(r.iv is None and r.delta is None for r in rows[1:])
    assert [q.row_key for q in quarantined] == ["XYZ270521P03"]
    assert "below_intrinsic" in str(quarantined[0].reasons)
