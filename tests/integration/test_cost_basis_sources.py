"""The pipeline's ingest and the stage flows' stored ingest give covered calls the same cost
basis, on SQLite and PostgreSQL, when one lot has a premium-adjusted basis and another not."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine

from wheelflow.db import transaction
from wheelflow.pipeline import ingest_underlyings, stored_ingest
from wheelflow.providers.synthetic import SyntheticMarket
from wheelflow.runtime import build_context
from wheelflow.settings import load_settings

DAY = dt.date(2026, 11, 24)


def test_ingest_and_stored_ingest_agree_on_a_mixed_lot_basis(engine: Engine) -> None:
    market = SyntheticMarket(as_of=DAY)
    ctx, _ = build_context(
        database_url=engine.url.render_as_string(hide_password=False),
        provider=market,
        settings=load_settings(seed_demo_positions=False),
    )
    opened = market.snapshot_time()
    lots = pd.DataFrame(
        {
            "account": "paper",
            "symbol": ["F", "F", "T"],
            "asset_type": "stock",
            "quantity": [100, 300, 100],
            "average_price": [12.0, 10.0, 20.0],
            "cost_basis": [11.0, None, None],
            "status": "open",
            "opened_at": opened,
            "realized_pnl": 0.0,
            "source": "import",
        }
    )
    with transaction(engine) as conn:
        lots.to_sql("positions", conn, if_exists="append", index=False)
    live = ingest_underlyings(ctx, market, ["F", "T", "BAC"])
    stored = stored_ingest(ctx)
    assert live.cc_cost_basis == stored.cc_cost_basis
    assert live.cc_cost_basis["F"] == pytest.approx((100 * 11.0 + 300 * 10.0) / 400)
    assert live.cc_cost_basis["T"] == pytest.approx(20.0)
