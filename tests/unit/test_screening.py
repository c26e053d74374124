"""Ranking formulas on hand-computed examples."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from wheelflow.market_time import close_time_utc, years_to_expiry
from wheelflow.strategy.config import ScreeningConfig, parse_strategy_config
from wheelflow.strategy.screening import (
    annualized_return,
    period_return,
    probability_otm,
    rank_candidates,
    spread_pct,
)
from wheelflow.strategy.valuation import MarketContext
from wheelflow.volatility import VolatilityForecast

SNAPSHOT = close_time_utc(dt.date(2026, 11, 2))  # Monday close
EXPIRY_30D = pd.Timestamp("2026-12-02")


def _contract(
    occ: str,
    underlying: str,
    right: str,
    strike: float,
    bid: float,
    ask: float,
    delta: float,
    spot: float = 21.0,
    iv: float = 0.30,
    oi: int = 500,
    expiration: pd.Timestamp = EXPIRY_30D,
) -> dict[str, object]:
    return {
        "occ_symbol": occ,
        "underlying": underlying,
        "expiration": expiration,
        "strike": strike,
        "right": right,
        "bid": bid,
        "ask": ask,
        "underlying_price": spot,
        "iv": iv,
        "delta": delta,
        "open_interest": oi,
        "volume": 50,
    }


def test_period_return_is_premium_over_capital_net_of_premium() -> None:
    assert period_return(0.55, 20.0) == pytest.approx(0.55 / 19.45)


def test_annualized_return_scales_by_365_over_days() -> None:
    assert annualized_return(0.02, 30) == pytest.approx(0.02 * 365 / 30)


def test_spread_pct_is_width_over_mid() -> None:
    assert spread_pct(0.50, 0.60) == pytest.approx(0.10 / 0.55)


def test_probability_otm_of_at_the_money_put_is_n_of_d2() -> None:
    # S = K = 100, sigma 20%, t = 1, r = 0: d2 = -0.1, N(-0.1) = 0.4601721627
    p = probability_otm(100.0, 100.0, 1.0, 0.2, False)
    assert p == pytest.approx(0.4601721627, abs=1e-9)
    assert probability_otm(100.0, 100.0, 1.0, 0.2, True) == pytest.approx(1 - 0.4601721627)


def test_cash_secured_put_ranked_with_hand_computed_figures() -> None:
    chain = pd.DataFrame([_contract("F261202P00020000", "F", "P", 20.0, 0.50, 0.60, -0.25)])
    ranked = rank_candidates(chain, "csp", ScreeningConfig(), SNAPSHOT)
    row = ranked.iloc[0]
    assert row["days_to_expiry"] == 30
    assert row["premium"] == pytest.approx(0.55)
    assert row["period_return"] == pytest.approx(0.55 / 19.45)
    assert row["annualized_return"] == pytest.approx(0.55 / 19.45 * 365 / 30)
    assert row["breakeven"] == pytest.approx(19.45)
    assert row["collateral"] == pytest.approx(2000.0)
    assert row["spread_pct"] == pytest.approx(0.10 / 0.55)
    assert row["rank"] == 1
    expected_score = row["annualized_return"] * row["probability_otm"] / (1 + row["spread_pct"])
    assert row["score"] == pytest.approx(expected_score)


def test_bid_premium_basis_uses_the_bid() -> None:
    chain = pd.DataFrame([_contract("F261202P00020000", "F", "P", 20.0, 0.50, 0.60, -0.25)])
    ranked = rank_candidates(chain, "csp", ScreeningConfig(premium_basis="bid"), SNAPSHOT)
    assert ranked.iloc[0]["premium"] == pytest.approx(0.50)
    assert ranked.iloc[0]["period_return"] == pytest.approx(0.50 / 19.50)


def test_covered_call_return_breakeven_and_strike_floor_use_the_cost_basis() -> None:
    # Stock at 21.00 bought (premium-adjusted) at 21.50: the capital is the basis, the shares
    # pledged are worth 2,100, the 20 call would lock in a loss and is not offered.
    chain = pd.DataFrame(
        [
            _contract("F261202C00022000", "F", "C", 22.0, 0.30, 0.34, 0.28),
            _contract("F261202C00020000", "F", "C", 20.0, 1.20, 1.30, 0.34),  # below cost basis
        ]
    )
    ranked = rank_candidates(chain, "cc", ScreeningConfig(), SNAPSHOT, cost_basis={"F": 21.5})
    assert list(ranked["occ_symbol"]) == ["F261202C00022000"]
    row = ranked.iloc[0]
    assert row["period_return"] == pytest.approx(0.32 / (21.5 - 0.32))
    assert row["collateral"] == pytest.approx(2100.0)
    assert row["breakeven"] == pytest.approx(21.5 - 0.32)
    # Net: fill 0.31 (mid 0.32 less a quarter of the 0.02 half-spread, down to the cent).
    assert row["fill_price"] == pytest.approx(0.31)
    c = row["fill_price"] - row["fees"] / 100
    assert row["net_annualized_return"] == pytest.approx(
        c / (21.5 - c) * 365 / row["days_to_expiry"]
    )


def test_covered_calls_need_stock_held() -> None:
    chain = pd.DataFrame([_contract("F261202C00022000", "F", "C", 22.0, 0.30, 0.34, 0.28)])
    assert rank_candidates(chain, "cc", ScreeningConfig(), SNAPSHOT, cost_basis={}).empty


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"delta": -0.60}, "delta outside window"),
        ({"open_interest": 10}, "open interest too low"),
        ({"bid": 0.10, "ask": 0.60}, "spread too wide"),
        ({"expiration": pd.Timestamp("2026-11-04")}, "DTE below window"),
        ({"expiration": pd.Timestamp("2027-03-19")}, "DTE above window"),
    ],
)
def test_contracts_outside_the_screen_are_dropped(change: dict[str, object], reason: str) -> None:
    base = _contract("F261202P00020000", "F", "P", 20.0, 0.50, 0.60, -0.25)
    base.update(change)
    assert rank_candidates(pd.DataFrame([base]), "csp", ScreeningConfig(), SNAPSHOT).empty, reason


def test_ranks_are_unique_best_score_first_and_capped_per_underlying() -> None:
    rows = [
        _contract(
            f"F261202P000{19 + i}000",
            "F",
            "P",
            19.0 + i,
            0.40 + 0.05 * i,
            0.45 + 0.05 * i,
            -0.15 - 0.04 * i,
        )
        for i in range(4)
    ] + [_contract("T261202P00020000", "T", "P", 20.0, 0.50, 0.55, -0.20)]
    ranked = rank_candidates(
        pd.DataFrame(rows), "csp", ScreeningConfig(top_n_per_underlying=2), SNAPSHOT
    )
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert ranked["score"].is_monotonic_decreasing
    assert (ranked["underlying"] == "F").sum() == 2


def _two_puts() -> pd.DataFrame:
    return pd.DataFrame(
        [
            _contract("F261202P00020000", "F", "P", 20.0, 0.30, 0.34, -0.28),
            _contract("SNAP261202P00020000", "SNAP", "P", 20.0, 0.40, 0.44, -0.30),
        ]
    )


def _forecast(vol: float) -> VolatilityForecast:
    daily = np.full(2, vol**2 / 252)
    return VolatilityForecast(("F", "SNAP"), daily, daily, np.full(2, 0.97), ("blend", "blend"))


def test_candidates_are_ranked_by_expected_value_with_the_gross_score_beside() -> None:
    context = MarketContext(forecast=_forecast(0.20))  # below the 30 % implied: an edge
    ranked = rank_candidates(_two_puts(), "csp", ScreeningConfig(), SNAPSHOT, context=context)
    assert ranked["expected_value"].is_monotonic_decreasing
    assert (ranked["expected_value"] > 0).all()
    assert ranked["flags"].isna().all()
    assert {"score", "annualized_return", "gross_expected_value"} <= set(ranked.columns)


def test_an_earnings_date_in_the_contracts_life_excludes_it_when_configured() -> None:
    earnings = pd.DataFrame(
        {"symbol": ["SNAP"], "earnings_date": pd.to_datetime(["2026-11-20"]), "parse_error": None}
    )
    context = MarketContext(forecast=_forecast(0.20), earnings=earnings)
    config = parse_strategy_config({"expected_value": {"earnings": "exclude"}})
    ranked = rank_candidates(
        _two_puts(), "csp", config.screening, SNAPSHOT, strategy_config=config, context=context
    )
    assert ranked["underlying"].tolist() == ["F"]
    flagged = rank_candidates(_two_puts(), "csp", ScreeningConfig(), SNAPSHOT, context=context)
    snap = flagged[flagged["underlying"] == "SNAP"].iloc[0]
    assert snap["spans_earnings"] and "earnings" in snap["flags"]


def test_a_dividend_before_expiry_lowers_the_spot_of_the_probability_otm() -> None:
    dividends = pd.DataFrame(
        {"symbol": ["F"], "ex_date": pd.to_datetime(["2026-11-10"]), "amount": [0.50]}
    )
    plain = rank_candidates(_two_puts(), "csp", ScreeningConfig(), SNAPSHOT)
    paying = rank_candidates(
        _two_puts(), "csp", ScreeningConfig(), SNAPSHOT, context=MarketContext(dividends=dividends)
    )
    f_plain = plain[plain["underlying"] == "F"].iloc[0]
    f_paying = paying[paying["underlying"] == "F"].iloc[0]
    assert f_paying["dividend_pv"] == pytest.approx(0.50)  # r = 0 here: the PV is the amount
    t = years_to_expiry(SNAPSHOT, pd.Series([EXPIRY_30D]))[0]
    expected = probability_otm(21.0 - 0.50, 20.0, t, 0.30, False)
    assert f_paying["probability_otm"] == pytest.approx(expected)
    assert f_paying["probability_otm"] < f_plain["probability_otm"]
