"""IV and greeks on the dividend-adjusted spot (escrowed dividends) in the chains stage."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from wheelflow.market_time import close_time_utc, years_to_expiry
from wheelflow.pipeline import compute_greeks
from wheelflow.pricing import price

SNAPSHOT = close_time_utc(dt.date(2026, 12, 1))
EXPIRY = pd.Timestamp("2027-01-15")
DIVIDENDS = pd.DataFrame(
    {"symbol": ["KO"], "ex_date": pd.to_datetime(["2026-12-12"]), "amount": [0.53]}
)


def _chain(spot: float, sigma: float, pv: float) -> pd.DataFrame:
    strikes = np.array([56.0, 60.0, 64.0, 56.0, 60.0, 64.0])
    is_call = np.array([True, True, True, False, False, False])
    t = years_to_expiry(SNAPSHOT, pd.Series([EXPIRY] * 6))
    model = price(spot - pv, strikes, t, 0.04, 0.0, sigma, is_call)  # escrowed: BSM on S - PV
    return pd.DataFrame(
        {
            "occ_symbol": [f"KO{i}" for i in range(6)],
            "underlying": "KO",
            "expiration": EXPIRY,
            "strike": strikes,
            "right": np.where(is_call, "C", "P"),
            "bid": model - 0.001,
            "ask": model + 0.001,
            "underlying_price": spot,
        }
    )


def test_iv_of_a_dividend_payer_is_recovered_on_the_spot_less_the_dividends_pv() -> None:
    pv = 0.53 * math.exp(-0.04 * 11 / 365)  # ex in 11 days
    chain = _chain(60.0, 0.20, pv)
    with_div = compute_greeks(chain, SNAPSHOT, 0.04, "european", DIVIDENDS)
    assert with_div["iv"].to_numpy() == pytest.approx(np.full(6, 0.20), abs=2e-4)
    # Ignoring the dividend reads it as skew: put IVs up, call IVs down (the in-the-money 56
    # call even quotes below its no-dividend lower bound, so it gets no IV at all).
    without = compute_greeks(chain, SNAPSHOT, 0.04, "european")
    calls, puts = without["right"] == "C", without["right"] == "P"
    assert (without.loc[calls, "iv"].fillna(0.0) < 0.199).all()
    assert (without.loc[puts, "iv"] > 0.201).all()


def test_a_dividend_after_expiry_changes_nothing() -> None:
    late = DIVIDENDS.assign(ex_date=pd.to_datetime(["2027-02-12"]))
    chain = _chain(60.0, 0.20, 0.0)
    iv = compute_greeks(chain, SNAPSHOT, 0.04, "european", late)["iv"].to_numpy()
    assert iv == pytest.approx(np.full(6, 0.20), abs=2e-4)
