"""Earnings and dividends over a contract's life: flags, dividend PV, early-assignment risk."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from wheelflow.strategy.events import contract_events

AS_OF = dt.date(2026, 12, 1)


def _contracts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "underlying": ["KO", "KO", "KO", "SNAP"],
            "expiration": pd.to_datetime(["2026-12-11", "2026-12-18", "2026-12-18", "2026-12-18"]),
            "right": ["C", "C", "P", "P"],
            "strike": [60.0, 62.0, 58.0, 6.0],
            "underlying_price": [61.0, 61.0, 61.0, 6.5],
        }
    )


DIVIDENDS = pd.DataFrame(
    {
        "symbol": ["KO", "KO", "T"],
        "ex_date": pd.to_datetime(["2026-12-12", "2026-09-15", "2026-12-05"]),
        "amount": [0.53, 0.51, 0.28],
        "parse_error": [None, None, None],
    }
)
EARNINGS = pd.DataFrame(
    {
        "symbol": ["SNAP", "SNAP"],
        "earnings_date": pd.to_datetime(["2026-12-16", None]),
        "parse_error": [None, "files.earnings_date: 'soon' is not a date"],
    }
)


def test_only_contracts_alive_on_the_earnings_date_span_it() -> None:
    ev = contract_events(_contracts(), AS_OF, DIVIDENDS, EARNINGS, risk_free_rate=0.04)
    assert ev["spans_earnings"].tolist() == [False, False, False, True]


def test_an_ex_date_after_expiry_or_in_the_past_does_not_count() -> None:
    ev = contract_events(_contracts(), AS_OF, DIVIDENDS, EARNINGS, risk_free_rate=0.04)
    # KO goes ex on 12-12: after the 12-11 expiry, before the 12-18 ones.
    assert ev["spans_ex_dividend"].tolist() == [False, True, True, False]


def test_dividend_pv_discounts_the_amount_to_today() -> None:
    ev = contract_events(_contracts(), AS_OF, DIVIDENDS, EARNINGS, risk_free_rate=0.04)
    # 0.53 x e^{-0.04 x 11/365} = 0.529361
    assert ev["dividend_pv"].iloc[1] == pytest.approx(0.53 * math.exp(-0.04 * 11 / 365))
    assert ev["dividend_pv"].iloc[0] == 0.0


def test_a_call_whose_time_value_is_below_the_dividend_is_at_risk_of_early_assignment() -> None:
    # Row 1: the 62 call at 0.40 is all time value, below the 0.53 dividend -> at risk.
    # With a price of 0.90 its time value exceeds the dividend -> not at risk. Puts never are.
    low = contract_events(
        _contracts(),
        AS_OF,
        DIVIDENDS,
        EARNINGS,
        risk_free_rate=0.04,
        option_price=np.array([1.30, 0.40, 0.20, 0.15]),
    )
    high = contract_events(
        _contracts(),
        AS_OF,
        DIVIDENDS,
        EARNINGS,
        risk_free_rate=0.04,
        option_price=np.array([1.30, 0.90, 0.20, 0.15]),
    )
    assert low["early_assignment_risk"].tolist() == [False, True, False, False]
    assert not high["early_assignment_risk"].any()


def test_no_feeds_no_flags() -> None:
    empty_div = DIVIDENDS.iloc[0:0]
    empty_earn = EARNINGS.iloc[0:0]
    ev = contract_events(_contracts(), AS_OF, empty_div, empty_earn, risk_free_rate=0.04)
    assert not ev[["spans_earnings", "spans_ex_dividend"]].to_numpy().any()
    assert (ev["dividend_pv"] == 0).all()
