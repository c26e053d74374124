"""The synthetic market's factor model: sectors move together, tails are fat, volatility
clusters, and it stays deterministic per (symbol, day)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from wheelflow.providers.synthetic import SyntheticMarket, market_factors
from wheelflow.risk.correlation import daily_returns

DAY = dt.date(2026, 11, 24)


def _returns(market: SyntheticMarket) -> pd.DataFrame:
    bars = market.price_history(market.symbols, dt.date(2025, 1, 2), DAY)
    return daily_returns(bars)


def test_names_in_one_sector_correlate_more_than_names_across_sectors() -> None:
    market = SyntheticMarket(seed=42, as_of=DAY, universe_size=300)
    corr = _returns(market)[market.symbols].corr().to_numpy()
    sector = np.array([market.sector_of(s) for s in market.symbols])
    same = sector[:, None] == sector[None, :]
    off = ~np.eye(len(sector), dtype=bool)
    within, across = corr[same & off].mean(), corr[~same].mean()
    assert across > 0.05  # the market factor: everything is somewhat correlated
    assert within > across + 0.05


def test_market_returns_have_fat_tails_and_volatility_clusters() -> None:
    factors = market_factors(42, 2000)
    r = factors.market
    kurtosis = float(((r - r.mean()) ** 4).mean() / r.var() ** 2)
    assert kurtosis > 4.0  # a normal distribution has 3
    squared = r**2 - (r**2).mean()
    autocorrelation = float((squared[1:] * squared[:-1]).mean() / squared.var())
    assert autocorrelation > 0.05  # big moves follow big moves (GARCH)
    assert factors.regime.min() < 0.8 < 1.3 < factors.regime.max()


def test_a_later_date_continues_the_same_factor_paths() -> None:
    short, long = market_factors(7, 300), market_factors(7, 600)
    assert np.array_equal(short.market, long.market[:300])
    assert np.array_equal(short.sector, long.sector[:, :300])


def test_every_symbol_has_a_sector_the_provider_reports() -> None:
    market = SyntheticMarket(seed=42, as_of=DAY, universe_size=40)
    sectors = market.sectors([*market.symbols, "NOPE"])
    assert set(sectors) == set(market.symbols)
    assert sectors["XOM"] == "Energy"
