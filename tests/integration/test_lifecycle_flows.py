"""The ``execute_wheel`` flow on a stored snapshot: re-running it sends nothing new."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from tests.integration._lifecycle_market import (
    DAY1,
    EXPIRY,
    SYMBOL,
    put_occ,
    store_quote,
)
from wheelflow.db import transaction, upsert_frame


def _store_ranking(engine: Engine) -> None:
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
    with transaction(engine) as conn:
        upsert_frame(conn, "rankings", pd.DataFrame([row]))


def _orders(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT side, status FROM orders")).all()]


def test_execute_wheel_twice_for_the_same_snapshot_places_no_second_order(
    prefect_harness: None, engine: Engine, database_url: str
) -> None:
    from flows.wheel import execute_wheel

    store_quote(engine, DAY1, 52.0, {put_occ(): (1.10, 1.30)})
    _store_ranking(engine)
    first = execute_wheel(database_url=database_url)
    second = execute_wheel(snapshot_at=DAY1, database_url=database_url)
    assert (first["orders_sent"], first["filled"]) == (1, 1)
    assert second["orders_sent"] == 0
    assert _orders(engine) == [("sell_to_open", "filled")]


@pytest.fixture(autouse=True)
def _fresh_engine_cache() -> None:
    """Each test has its own database; forget engines cached by URL in earlier tests."""
    from wheelflow import runtime

    runtime._engines.clear()
