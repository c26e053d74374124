"""Valuing screened candidates: fill on the tick, forecast vs implied, events, flags, exclusions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from wheelflow.errors import ProviderError
from wheelflow.market_time import days_to_expiry, years_to_expiry
from wheelflow.pipeline.context import load_market_context
from wheelflow.strategy.config import ExpectedValueConfig, parse_strategy_config
from wheelflow.strategy.valuation import MarketContext, excluded, value_candidates
from wheelflow.volatility import VolatilityForecast

SNAPSHOT = dt.datetime(2026, 12, 1, 21, 0)


def _chain() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "underlying": ["CALM", "WILD"],
            "expiration": pd.to_datetime(["2026-12-31", "2026-12-31"]),
            "strike": [9.0, 9.0],
            "right": ["P", "P"],
            "bid": [0.18, 0.18],
            "ask": [0.22, 0.22],
            "underlying_price": [10.0, 10.0],
            "iv": [0.50, 0.50],
        }
    )


def _forecast(vols: dict[str, float]) -> VolatilityForecast:
    daily = np.array([v**2 / 252 for v in vols.values()])
    return VolatilityForecast(
        tuple(vols), daily, daily, np.full(len(vols), 0.97), ("blend",) * len(vols)
    )


def _value(context: MarketContext, **strategy: object) -> pd.DataFrame:
    chain = _chain()
    return value_candidates(
        chain,
        strategy_config=parse_strategy_config(dict(strategy)),
        context=context,
        snapshot_at=SNAPSHOT,
        days=days_to_expiry(SNAPSHOT, chain["expiration"]),
        years=years_to_expiry(SNAPSHOT, chain["expiration"]),
        risk_free_rate=0.04,
        capital_price=chain["strike"].to_numpy(float),
    )


def test_a_forecast_below_the_implied_volatility_gives_positive_ev_and_above_negative() -> None:
    values = _value(MarketContext(forecast=_forecast({"CALM": 0.30, "WILD": 0.80})))
    assert values["forecast_vol"].to_numpy() == pytest.approx([0.30, 0.80])
    assert values["expected_value"].iloc[0] > 0 > values["expected_value"].iloc[1]
    assert values["flags"].tolist() == [None, "negative_ev"]
    # Gross figures stay beside the net ones: fill 0.19 (mid 0.20 less a quarter of 0.02,
    # down to the cent) and 0.70 USD of fees separate them.
    assert values["fill_price"].tolist() == [0.19, 0.19]
    gap = values["gross_expected_value"] - values["expected_value"]
    assert gap.to_numpy() == pytest.approx(1.0 + values["fees"].to_numpy())


def test_without_a_forecast_the_contract_is_valued_at_its_implied_volatility() -> None:
    values = _value(MarketContext())
    assert values["forecast_vol"].tolist() == [0.50, 0.50]


def test_an_earnings_date_excludes_the_contract_when_configured() -> None:
    earnings = pd.DataFrame(
        {"symbol": ["WILD"], "earnings_date": pd.to_datetime(["2026-12-15"]), "parse_error": None}
    )
    context = MarketContext(forecast=_forecast({"CALM": 0.3, "WILD": 0.3}), earnings=earnings)
    flagged = _value(context, expected_value={"earnings": "flag"})
    assert flagged["flags"].tolist() == [None, "earnings"]
    assert flagged["expected_value"].iloc[0] == pytest.approx(flagged["expected_value"].iloc[1])
    penalized = _value(context, expected_value={"earnings": "penalize"})
    assert penalized["expected_value"].iloc[1] < penalized["expected_value"].iloc[0]
    cfg = parse_strategy_config({"expected_value": {"earnings": "exclude"}})
    assert excluded(flagged, cfg).tolist() == [False, True]
    assert not excluded(flagged, parse_strategy_config({})).any()


class _NoFeeds:
    """A provider whose optional feeds answer 404 (a sandbox without fundamentals)."""

    def dividends(self, symbols: list[str]) -> pd.DataFrame:
        raise ProviderError("tradier: HTTP 404 on GET /beta/...", provider="tradier")

    earnings = dividends


def test_a_failing_event_feed_leaves_the_context_without_it_and_says_why() -> None:
    bars = pd.DataFrame(
        {
            "symbol": "CALM",
            "bar_date": pd.bdate_range("2026-01-02", periods=60),
            "close": np.linspace(10, 11, 60),
        }
    )
    loaded = load_market_context(
        _NoFeeds(), ["CALM"], dt.date(2026, 12, 1), ExpectedValueConfig(), bars
    )
    assert loaded.context.dividends.empty and loaded.context.earnings.empty
    assert set(loaded.feed_errors) == {"dividends", "earnings"}
    assert loaded.context.forecast.symbols == ("CALM",)
