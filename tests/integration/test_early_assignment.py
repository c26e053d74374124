"""Short calls at risk of early assignment before an ex-dividend date are flagged once."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine

from wheelflow.alerts.store import store_new_alerts
from wheelflow.db import transaction, upsert_frame
from wheelflow.execution.early_assignment import early_assignment_alerts, open_short_call_symbols
from wheelflow.providers.base import DIVIDEND_COLUMNS, upcoming_dividends
from wheelflow.providers.synthetic import SyntheticMarket

SNAP = dt.datetime(2026, 11, 24, 21, 0)
CALL = "T261218C00015000"


def _book(engine: Engine, call_bid: float, call_ask: float) -> None:
    cycle = {
        "id": 1,
        "account": "paper",
        "symbol": "T",
        "state": "SHORT_CALL",
        "is_open": True,
        "contracts": 1,
        "shares": 100,
        "option_occ": CALL,
        "option_strike": 15.0,
        "option_expiration": pd.Timestamp("2026-12-18"),
        "option_premium": 0.40,
        "assignment_price": 16.0,
        "premium_collected": 80.0,
        "fees": 1.3,
        "cash_flow": 0.0,
        "realized_pnl": 0.0,
        "assigned": True,
        "opened_at": SNAP,
        "updated_at": SNAP,
    }
    quote = {
        "snapshot_at": SNAP,
        "symbol": "T",
        "bid": 17.99,
        "ask": 18.01,
        "last": 18.0,
        "quote_time": SNAP,
        "provider": "test",
    }
    option = {
        "snapshot_at": SNAP,
        "occ_symbol": CALL,
        "underlying": "T",
        "expiration": pd.Timestamp("2026-12-18"),
        "strike": 15.0,
        "right": "C",
        "bid": call_bid,
        "ask": call_ask,
        "underlying_price": 18.0,
        "iv_status": "ok",
        "provider": "test",
    }
    with transaction(engine) as conn:
        upsert_frame(conn, "wheel_cycles", pd.DataFrame([cycle]))
        upsert_frame(conn, "underlying_quotes", pd.DataFrame([quote]))
        upsert_frame(conn, "option_snapshots", pd.DataFrame([option]))


def _dividend(ex_date: str, amount: float) -> pd.DataFrame:
    return pd.DataFrame(
        [{"symbol": "T", "ex_date": pd.Timestamp(ex_date), "amount": amount}],
        columns=list(DIVIDEND_COLUMNS),
    )


def test_itm_call_with_time_value_below_the_dividend_is_flagged_once(engine: Engine) -> None:
    _book(engine, 3.00, 3.10)  # mid 3.05, intrinsic 3.00: 0.05 of time value
    assert open_short_call_symbols(engine, "paper") == ["T"]
    alerts = early_assignment_alerts(engine, "paper", SNAP, _dividend("2026-12-10", 0.26))
    assert [a["kind"] for a in alerts] == ["early_assignment_risk"]
    assert "0.26 dividend going ex on 2026-12-10" in alerts[0]["message"]
    assert len(store_new_alerts(engine, alerts)) == 1
    assert store_new_alerts(engine, alerts) == []  # the same risk is not alerted twice


def test_no_flag_when_time_value_exceeds_the_dividend(engine: Engine) -> None:
    _book(engine, 3.40, 3.60)  # 0.50 of time value
    assert early_assignment_alerts(engine, "paper", SNAP, _dividend("2026-12-10", 0.26)) == []


def test_no_flag_when_the_ex_date_is_after_expiration(engine: Engine) -> None:
    _book(engine, 3.00, 3.10)
    assert early_assignment_alerts(engine, "paper", SNAP, _dividend("2027-01-05", 0.26)) == []


def test_synthetic_market_announces_quarterly_dividends_of_payers_only() -> None:
    market = SyntheticMarket(as_of=SNAP.date())
    divs = upcoming_dividends(market, ["T", "SOFI", "KO"])
    assert set(divs["symbol"]) == {"T", "KO"}
    assert (divs["ex_date"] > pd.Timestamp(SNAP.date())).all()
    assert (divs["ex_date"] <= pd.Timestamp(SNAP.date()) + pd.Timedelta(days=91)).all()
    assert (divs["amount"] > 0).all()


def test_providers_without_a_dividend_feed_yield_nothing() -> None:
    assert upcoming_dividends(object(), ["T"]).empty
