"""Volatility forecasts per underlying: term structure, the blend and GARCH(1,1)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from wheelflow.volatility import (
    TRADING_DAYS,
    average_variance,
    blend_parameters,
    forecast_volatility,
    garch_parameters,
    qlike,
)


def _bars(returns: dict[str, np.ndarray]) -> pd.DataFrame:
    frames = []
    for symbol, r in returns.items():
        dates = pd.bdate_range("2025-01-02", periods=len(r) + 1)
        close = 20.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
        frames.append(pd.DataFrame({"symbol": symbol, "bar_date": dates, "close": close}))
    return pd.concat(frames, ignore_index=True)


def test_the_term_structure_starts_at_the_current_variance_and_tends_to_the_long_run() -> None:
    current, long_run, phi = np.array([4e-4]), np.array([1e-4]), np.array([0.97])
    assert average_variance(current, long_run, phi, np.array([1.0]))[0] == pytest.approx(4e-4)
    far = average_variance(current, long_run, phi, np.array([1e6]))[0]
    assert far == pytest.approx(1e-4, rel=1e-3)
    # h = 21: 1e-4 + 3e-4 x (1 - 0.97^21) / (21 x 0.03) = 2.4623e-4
    mid = average_variance(current, long_run, phi, np.array([21.0]))[0]
    assert mid == pytest.approx(1e-4 + 3e-4 * (1 - 0.97**21) / (21 * 0.03))


def test_steady_returns_of_one_percent_forecast_sixteen_percent_a_year() -> None:
    r = np.tile([0.01, -0.01], 100)
    forecast = forecast_volatility(_bars({"AAA": r}))
    vol = forecast.annualized(np.array(["AAA"]), np.array([30.0]))
    assert vol[0] == pytest.approx(0.01 * math.sqrt(TRADING_DAYS), rel=1e-6)


def test_a_calm_recent_month_pulls_the_short_horizon_below_the_long_one() -> None:
    r = np.concatenate([np.tile([0.03, -0.03], 100), np.tile([0.005, -0.005], 15)])
    forecast = forecast_volatility(_bars({"AAA": r}))
    short, long = forecast.annualized(np.array(["AAA", "AAA"]), np.array([7.0, 60.0]))
    assert short < long


def test_too_short_a_history_or_an_unknown_symbol_has_no_forecast() -> None:
    forecast = forecast_volatility(_bars({"NEW": np.full(10, 0.01)}))
    vols = forecast.annualized(np.array(["NEW", "ZZZ"]), np.array([30.0, 30.0]))
    assert np.isnan(vols).all()
    assert blend_parameters(pd.DataFrame({"NEW": np.full(10, 0.01)}))["current"].isna().all()


def test_garch_recovers_the_persistence_of_a_clustered_series() -> None:
    rng = np.random.default_rng(3)
    omega, alpha, beta = 2e-6, 0.08, 0.90
    var, out = omega / (1 - alpha - beta), np.empty(2500)
    for t in range(len(out)):
        out[t] = math.sqrt(var) * rng.standard_normal()
        var = omega + alpha * out[t] ** 2 + beta * var
    params = garch_parameters(pd.DataFrame({"G": out}))
    assert params.loc["G", "persistence"] == pytest.approx(alpha + beta, abs=0.03)
    assert params.loc["G", "long_run"] == pytest.approx(omega / (1 - alpha - beta), rel=0.5)
    forecast = forecast_volatility(_bars({"G": out}), "garch")
    assert forecast.model == ("garch",)


def test_qlike_is_zero_for_a_perfect_forecast_and_positive_otherwise() -> None:
    realized = np.array([1e-4, 4e-4])
    assert qlike(realized, realized) == pytest.approx(0.0)
    assert qlike(realized * 2, realized) > 0
