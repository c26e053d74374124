"""The portfolio risk check blocks candidates that would break a limit, and says why."""

from __future__ import annotations

import pandas as pd

from wheelflow.risk.checks import check_risk, portfolio_state
from wheelflow.strategy.config import RiskConfig


def _candidate(strategy: str, symbol: str, strike: float, spot: float = 20.0) -> dict[str, object]:
    collateral = (strike if strategy == "csp" else spot) * 100
    return {
        "strategy": strategy,
        "rank": 1,
        "occ_symbol": f"{symbol}{strike}",
        "underlying": symbol,
        "collateral": collateral,
        "score": 1.0,
    }


def _positions(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {"status": "open", "right": None, "strike": None, "average_price": 0.0}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_empty_portfolio_has_all_cash_free() -> None:
    state = portfolio_state(pd.DataFrame(), 50_000.0, {})
    assert state.equity == 50_000 and state.free_cash == 50_000


def test_short_puts_commit_collateral_and_stock_counts_at_market() -> None:
    positions = _positions(
        [
            {"symbol": "F", "asset_type": "option", "right": "P", "strike": 10.0, "quantity": -2},
            {"symbol": "T", "asset_type": "stock", "quantity": 200, "average_price": 15.0},
        ]
    )
    state = portfolio_state(positions, 10_000.0, {"T": 17.0})
    assert state.committed_collateral == 2_000.0
    assert state.stock_value == 3_400.0
    assert state.exposure_by_symbol == {"F": 2_000.0, "T": 3_400.0}
    assert state.shares_by_symbol == {"T": 200}


def test_put_needing_more_than_free_cash_is_blocked() -> None:
    state = portfolio_state(pd.DataFrame(), 3_000.0, {})
    ranked, checks = check_risk(
        pd.DataFrame([_candidate("csp", "F", 10.0), _candidate("csp", "X", 40.0)]),
        state,
        RiskConfig(max_symbol_concentration=1.0),
    )
    assert list(ranked["blocked"]) == [False, True]
    assert "free cash" in ranked.loc[1, "blocked_reason"]
    cash = checks[(checks["check_name"] == "cash_available") & (checks["subject"] == "X")]
    assert not cash["passed"].iloc[0]


def test_concentration_above_the_cap_is_blocked() -> None:
    positions = _positions(
        [{"symbol": "F", "asset_type": "stock", "quantity": 1000, "average_price": 10.0}]
    )
    state = portfolio_state(positions, 90_000.0, {"F": 10.0})  # equity 100k, F is 10%
    ranked, checks = check_risk(
        pd.DataFrame([_candidate("csp", "F", 15.0), _candidate("csp", "T", 15.0)]),
        state,
        RiskConfig(max_symbol_concentration=0.11),
    )
    assert list(ranked["blocked"]) == [True, False]
    assert "concentration" in ranked.loc[0, "blocked_reason"]
    conc = checks.set_index(["check_name", "subject"]).loc[("symbol_concentration", "F")]
    assert conc["metric_value"] == 0.115 and not conc["passed"]


def test_call_without_a_hundred_shares_is_blocked_as_naked() -> None:
    positions = _positions(
        [{"symbol": "F", "asset_type": "stock", "quantity": 50, "average_price": 10.0}]
    )
    ranked, _ = check_risk(
        pd.DataFrame([_candidate("cc", "F", 12.0)]),
        portfolio_state(positions, 10_000.0, {}),
        RiskConfig(),
    )
    assert ranked.loc[0, "blocked"] and "naked" in ranked.loc[0, "blocked_reason"]


def test_portfolio_collateral_utilization_is_always_checked() -> None:
    positions = _positions(
        [{"symbol": "F", "asset_type": "option", "right": "P", "strike": 50.0, "quantity": -19}]
    )
    _, checks = check_risk(
        pd.DataFrame(),
        portfolio_state(positions, 100_000.0, {}),
        RiskConfig(max_total_collateral=0.9),
    )
    row = checks.iloc[0]
    assert row["check_name"] == "collateral_utilization"
    assert row["metric_value"] == 0.95 and not row["passed"]
