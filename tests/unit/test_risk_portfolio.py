"""Portfolio risk figures: dollar greeks by hand, VaR against its closed form, stress scenarios,
the every-put-assigned test, clustering and candidate limits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from wheelflow.risk.correlation import betas, correlation_clusters, daily_returns
from wheelflow.risk.limits import candidate_breaches, portfolio_checks
from wheelflow.risk.market import market_context
from wheelflow.risk.report import account_risk
from wheelflow.risk.revalue import Book, dollar_greeks, revalue
from wheelflow.risk.scenarios import all_puts_assigned, run_scenarios
from wheelflow.risk.var import monte_carlo_moves, var_es
from wheelflow.strategy.config import RiskConfig, ScenarioSpec


def _book(rows: list[dict[str, object]], rate: float = 0.0) -> Book:
    return Book.from_frame(pd.DataFrame(rows), rate=rate)


def _stock(symbol: str, shares: float, spot: float) -> dict[str, object]:
    return {
        "symbol": symbol,
        "asset_type": "stock",
        "right": None,
        "strike": np.nan,
        "years": 0.0,
        "units": shares,
        "iv": np.nan,
        "spot": spot,
    }


def _short(
    symbol: str, right: str, strike: float, spot: float, contracts: int = 1, **kw: float
) -> dict[str, object]:
    return {
        "symbol": symbol,
        "asset_type": "option",
        "right": right,
        "strike": strike,
        "years": kw.get("years", 0.25),
        "units": -100.0 * contracts,
        "iv": kw.get("iv", 0.20),
        "spot": spot,
    }


def test_dollar_greeks_of_stock_and_a_short_put_match_the_hand_computed_values() -> None:
    # S = K = 50, t = 0.25, sigma = 0.2, r = q = 0: d1 = 0.05, N(d1) = 0.519939,
    # phi(d1) = 0.398444. Put delta = -0.480061, gamma = phi / (S sigma sqrt t) = 0.0796888,
    # theta = -S phi sigma / (2 sqrt t) / 365 = -0.0109163 per day, vega = S phi sqrt t / 100
    # = 0.0996110. One short put is -100 units; 100 shares of stock have delta 1.
    book = _book([_stock("X", 100, 50.0), _short("X", "P", 50.0, 50.0)])
    total = dollar_greeks(book)[["delta_usd", "gamma_usd", "theta_usd", "vega_usd"]].sum()
    assert total["delta_usd"] == pytest.approx(100 * 50 + 48.0061 * 50, rel=1e-5)
    assert total["gamma_usd"] == pytest.approx(-100 * 0.0796888 * 50**2 / 100, rel=1e-5)
    assert total["theta_usd"] == pytest.approx(100 * 0.0109163, rel=1e-5)
    assert total["vega_usd"] == pytest.approx(-100 * 0.0996110, rel=1e-5)


def test_two_asset_monte_carlo_var_and_es_match_the_normal_closed_form() -> None:
    # $60k and $40k in two stocks, daily vols 2 % and 3 %, correlation 0.3:
    # sigma_p^2 = 1200^2 + 1200^2 + 2 * 0.3 * 1200 * 1200 = 3,744,000 -> sigma_p = 1934.94.
    # VaR_a = z_a sigma_p; ES_a = sigma_p phi(z_a) / (1 - a).
    book = _book([_stock("A", 600, 100.0), _stock("B", 400, 100.0)])
    cov = np.array([[0.02**2, 0.3 * 0.02 * 0.03], [0.3 * 0.02 * 0.03, 0.03**2]])
    pnl = revalue(book, monte_carlo_moves(cov, 400_000, 1.0, seed=7))
    sigma_p = math.sqrt(3_744_000.0)
    for level in (0.95, 0.99):
        z = norm.ppf(level)
        var, es = var_es(pnl, level)
        assert var == pytest.approx(z * sigma_p, rel=0.015)
        assert es == pytest.approx(sigma_p * norm.pdf(z) / (1 - level), rel=0.015)


def test_every_short_put_assigned_pays_the_strikes_out_of_cash() -> None:
    book = _book(
        [
            _short("X", "P", 40.0, 35.0, contracts=2, years=10 / 365),
            _short("Y", "P", 20.0, 22.0, years=10 / 365),
            _stock("Z", 100, 10.0),
        ]
    )
    rich = all_puts_assigned(book, cash=20_000.0)
    assert rich.cash_needed == pytest.approx(2 * 100 * 40 + 100 * 20)
    assert rich.cash_after == pytest.approx(10_000.0)
    assert rich.stock_received == pytest.approx(200 * 35 + 100 * 22)
    assert rich.passed
    poor = all_puts_assigned(book, cash=5_000.0)
    assert poor.cash_after == pytest.approx(-5_000.0)
    assert not poor.passed


def test_uniform_gap_revalues_options_in_full_not_by_delta() -> None:
    book = _book([_short("X", "P", 40.0, 50.0, years=30 / 365, iv=0.3)])
    table = run_scenarios(
        book, {"gap -30%": ScenarioSpec(spot=-0.30)}, equity=100_000.0, beta={}, sector={}
    )
    # At 35 the 40 put is worth at least its intrinsic 5: the short loses > $500 - premium.
    pnl = float(table["pnl"].iloc[0])
    greeks = dollar_greeks(book)
    linear = -0.30 * float(greeks["delta_usd"].iloc[0])
    assert pnl < -400.0
    assert pnl < linear  # convexity: the short put loses more than its delta says


def test_beta_scaled_market_gap_moves_each_name_by_its_beta() -> None:
    book = _book([_stock("HI", 100, 10.0), _stock("LO", 100, 10.0)])
    table = run_scenarios(
        book,
        {"m": ScenarioSpec(market=-0.10)},
        equity=2_000.0,
        beta={"HI": 2.0, "LO": 0.5},
        sector={},
    )
    assert float(table["pnl"].iloc[0]) == pytest.approx(-100 * 10 * 0.2 - 100 * 10 * 0.05)


def test_iv_shock_loses_on_short_options_only() -> None:
    book = _book([_stock("X", 100, 50.0), _short("X", "C", 55.0, 50.0)])
    table = run_scenarios(book, {"iv": ScenarioSpec(iv=0.5)}, 10_000.0, {}, {})
    assert float(table["pnl"].iloc[0]) < 0


def _bars(returns: pd.DataFrame) -> pd.DataFrame:
    closes = 100.0 * (1.0 + returns).cumprod()
    long = closes.reset_index(names="bar_date").melt(
        id_vars="bar_date", var_name="symbol", value_name="close"
    )
    return long


def _correlated_returns(seed: int = 1, days: int = 250) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    market = rng.normal(0, 0.01, days)
    tech = rng.normal(0, 0.01, days)
    names = {
        "SPY": market,
        "AAA": market + tech + rng.normal(0, 0.005, days),
        "BBB": market + tech + rng.normal(0, 0.005, days),
        "CCC": rng.normal(0, 0.02, days),
    }
    index = pd.date_range("2025-01-02", periods=days, freq="B").date
    return pd.DataFrame(names, index=index)


def test_correlated_names_share_a_cluster_and_an_independent_one_does_not() -> None:
    returns = daily_returns(_bars(_correlated_returns()))
    corr = np.corrcoef(returns.to_numpy().T)
    clusters = correlation_clusters(corr, list(returns.columns), min_correlation=0.6)
    assert clusters.labels["AAA"] == clusters.labels["BBB"]
    assert clusters.labels["CCC"] != clusters.labels["AAA"]
    beta = betas(returns, returns["SPY"])
    assert beta["SPY"] == pytest.approx(1.0)
    assert beta["AAA"] == pytest.approx(1.0, abs=0.25)
    assert abs(beta["CCC"]) < 0.3


def test_candidate_breaching_the_cluster_limit_is_blocked_with_the_reason() -> None:
    returns = _correlated_returns()
    market = market_context(
        _bars(returns),
        ["AAA", "BBB", "CCC", "SPY"],
        {"AAA": "Tech", "BBB": "Tech"},
        min_correlation=0.6,
    )
    config = RiskConfig(max_cluster_exposure=0.30, max_sector_exposure=0.9, max_var_99=1.0)
    book = _book([_stock("AAA", 250, 100.0)], rate=0.04)  # $25k of AAA in a $100k account
    figures = {"account": "a", "cash": 75_000.0, "equity": 100_000.0, "buying_power": 75_000.0}
    risk = account_risk("a", figures, book, market, config)
    candidates = pd.DataFrame(
        {
            "strategy": ["csp", "csp"],
            "underlying": ["BBB", "CCC"],
            "right": ["P", "P"],
            "strike": [95.0, 95.0],
            "days_to_expiry": [30, 30],
            "iv": [0.3, 0.3],
            "underlying_price": [100.0, 100.0],
        }
    )
    out = candidate_breaches(candidates, risk, market, config)
    # BBB joins AAA's cluster: 25k + 9.5k = 34.5 % > 30 %; CCC is its own cluster (9.5 %).
    assert out["cluster_exposure"].iloc[0] == pytest.approx(0.345)
    assert "cluster exposure 34.5% > 30%" in out["reason"].iloc[0]
    assert out["reason"].iloc[1] is None
    rows = {r["check_name"]: r for r in portfolio_checks(risk, config)}
    assert rows["cluster_exposure"]["passed"]  # as it stands: 25 % only


def test_user_scenarios_from_the_strategy_file_join_the_standard_set() -> None:
    from wheelflow.strategy.config import parse_strategy_config

    config = parse_strategy_config(
        {"risk": {"scenarios": {"AAA crash": {"symbols": {"AAA": -0.5}, "iv": 0.3, "days": 1}}}}
    ).risk
    returns = _correlated_returns()
    market = market_context(_bars(returns), ["AAA", "SPY"], {})
    book = _book([_stock("AAA", 100, 100.0)], rate=0.04)
    figures = {"account": "a", "cash": 0.0, "equity": 10_000.0, "buying_power": 0.0}
    risk = account_risk("a", figures, book, market, config)
    crash = risk.scenarios.set_index("scenario").loc["AAA crash"]
    assert crash["pnl"] == pytest.approx(-5_000.0)
    assert crash["pnl_pct"] == pytest.approx(-0.5)
    # VaR and ES by both methods, both horizons, both levels
    table = risk.var
    assert set(zip(table["method"], table["horizon"], strict=True)) == {
        (m, h) for m in ("historical", "monte_carlo") for h in ("1d", "to_expiry")
    }
    assert (table["es"] >= table["var"]).all()
