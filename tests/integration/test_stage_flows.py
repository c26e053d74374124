"""Every stage runs as a flow of its own, reading its inputs from the tables."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from flows.pipeline import wheel_pipeline
from flows.stages import (
    check_risk_flow,
    compute_greeks_flow,
    fetch_chains_flow,
    ingest_underlyings_flow,
    rank_opportunities_flow,
    send_alerts_flow,
)
from wheelflow.db import table_counts
from wheelflow.errors import WheelflowError
from wheelflow.providers.synthetic import SyntheticMarket

DAY = dt.date(2026, 11, 24)
SYMBOLS = ["F", "T", "BAC", "AAPL"]

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_stage_flows_chain_together_like_the_pipeline(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    market = SyntheticMarket(as_of=DAY)
    ingest = ingest_underlyings_flow(provider=market, symbols=SYMBOLS, database_url=url)
    assert "AAPL" not in ingest["csp_symbols"] and "F" in ingest["csp_symbols"]
    chains = fetch_chains_flow(provider=market, database_url=url)
    assert chains["contracts"] > 0
    assert compute_greeks_flow(database_url=url)["contracts"] == chains["contracts"]
    assert rank_opportunities_flow(database_url=url)["rankings"] > 0
    assert check_risk_flow(database_url=url)["checks"] > 0
    assert send_alerts_flow(database_url=url)["new_alerts"] > 0
    assert send_alerts_flow(database_url=url)["new_alerts"] == 0  # de-duplicated
    staged = table_counts(engine)
    wheel_pipeline(provider=market, symbols=SYMBOLS, database_url=url)
    whole = table_counts(engine)
    for name in ("underlying_quotes", "option_snapshots", "rankings", "risk_checks", "alerts"):
        assert whole[name] == staged[name], name


def test_downstream_stage_without_data_is_a_clear_error(sqlite_engine: Engine) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    with pytest.raises(WheelflowError, match="run wheel_pipeline first"):
        rank_opportunities_flow(database_url=url)
