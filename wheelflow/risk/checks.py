"""The portfolio risk check that stands between ranked candidates and traders (and orders).

Checks (each recorded as a row of ``risk_checks``; a breach blocks the affected candidates):
- ``collateral_utilization`` (portfolio): collateral already committed to short puts, as a
  share of equity, against ``max_total_collateral``.
- ``cash_available`` (per CSP candidate's symbol): a cash-secured put needs strike x 100 in free
  cash after the reserve (``min_cash_reserve`` of equity) and the committed collateral.
- ``symbol_concentration`` (per symbol): existing exposure (stock at cost, put collateral) plus one
  new contract's collateral, as a share of equity, against ``max_symbol_concentration``.
- ``covered`` (per CC candidate's symbol): at least 100 shares held per call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wheelflow.strategy.config import RiskConfig

RISK_COLUMNS = (
    "check_name",
    "subject",
    "passed",
    "metric_value",
    "limit_value",
    "message",
    "details",
)


@dataclass
class PortfolioState:
    """Cash and exposures of the portfolio, from the positions table."""

    cash: float
    committed_collateral: float  # short puts: strike x 100 x contracts
    stock_value: float
    exposure_by_symbol: dict[str, float]
    shares_by_symbol: dict[str, int]

    @property
    def equity(self) -> float:
        return self.cash + self.stock_value

    @property
    def free_cash(self) -> float:
        return self.cash - self.committed_collateral


def portfolio_state(
    positions: pd.DataFrame, cash: float, prices: dict[str, float]
) -> PortfolioState:
    """Summarise open positions (the ``positions`` table's columns) at the given prices."""
    if positions.empty:
        return PortfolioState(cash, 0.0, 0.0, {}, {})
    p = positions[positions["status"] == "open"]
    stock = p[p["asset_type"] == "stock"]
    puts = p[(p["asset_type"] == "option") & (p["right"] == "P") & (p["quantity"] < 0)]
    stock_px = stock["symbol"].map(prices).fillna(stock["average_price"]).astype(float)
    stock_val = stock["quantity"].astype(float) * stock_px
    put_coll = puts["strike"].astype(float) * 100.0 * (-puts["quantity"].astype(float))
    exposure = (
        pd.concat(
            [stock_val.groupby(stock["symbol"]).sum(), put_coll.groupby(puts["symbol"]).sum()]
        )
        .groupby(level=0)
        .sum()
    )
    shares = stock.groupby("symbol")["quantity"].sum().astype(int)
    return PortfolioState(
        cash=cash,
        committed_collateral=float(put_coll.sum()),
        stock_value=float(stock_val.sum()),
        exposure_by_symbol={str(k): float(v) for k, v in exposure.items()},
        shares_by_symbol={str(k): int(v) for k, v in shares.items()},
    )


def check_risk(
    rankings: pd.DataFrame, state: PortfolioState, config: RiskConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (rankings with ``blocked``/``blocked_reason`` set, risk check rows)."""
    ranked = rankings.copy()
    rows: list[dict[str, object]] = []
    equity = max(state.equity, 1e-9)
    utilization = state.committed_collateral / equity
    rows.append(
        {
            "check_name": "collateral_utilization",
            "subject": "portfolio",
            "passed": utilization <= config.max_total_collateral,
            "metric_value": utilization,
            "limit_value": config.max_total_collateral,
            "message": f"{utilization:.1%} of equity ${equity:,.0f} committed as put collateral",
            "details": {
                "cash": state.cash,
                "committed": state.committed_collateral,
                "stock_value": state.stock_value,
            },
        }
    )
    if ranked.empty:
        return ranked, pd.DataFrame(rows, columns=list(RISK_COLUMNS))

    reserve = config.min_cash_reserve * equity
    spendable = state.free_cash - reserve
    total_room = config.max_total_collateral * equity - state.committed_collateral
    reasons = pd.Series([[] for _ in range(len(ranked))], index=ranked.index, dtype=object)

    csp = ranked["strategy"] == "csp"
    collateral = ranked["collateral"].astype(float)
    no_cash = csp & (collateral > spendable)
    too_much = csp & (collateral > total_room)
    existing = ranked["underlying"].map(state.exposure_by_symbol).fillna(0.0).astype(float)
    concentration = (existing + collateral.where(csp, 0.0)) / equity
    too_concentrated = csp & (concentration > config.max_symbol_concentration)
    held = ranked["underlying"].map(state.shares_by_symbol).fillna(0).astype(int)
    uncovered = (~csp) & (held < 100)

    for mask, text in (
        (no_cash, f"collateral exceeds free cash after reserve (${spendable:,.0f})"),
        (too_much, "would exceed max total collateral"),
        (too_concentrated, f"symbol concentration above {config.max_symbol_concentration:.0%}"),
        (uncovered, "fewer than 100 shares held: call would be naked"),
    ):
        for i in ranked.index[mask.to_numpy()]:
            reasons.at[i].append(text)
    ranked["blocked"] = reasons.map(bool).astype(bool)
    ranked["blocked_reason"] = reasons.map(lambda r: "; ".join(r) if r else None)

    # One row per symbol and check, aggregated over its candidates (no loop per symbol).
    frame = pd.DataFrame(
        {
            "symbol": ranked["underlying"].astype(str),
            "csp": csp,
            "collateral": collateral.where(csp),
            "concentration": concentration.where(csp),
            "existing": existing,
            "no_cash": no_cash,
            "held": held,
        }
    )
    puts = (
        frame[frame["csp"]]
        .groupby("symbol", sort=True)
        .agg(
            need=("collateral", "min"),
            conc=("concentration", "min"),
            existing=("existing", "first"),
            candidates=("csp", "size"),
            blocked=("no_cash", "sum"),
        )
    )
    calls = frame[~frame["csp"]].groupby("symbol", sort=True).agg(shares=("held", "first"))
    limit = config.max_symbol_concentration
    parts = ([_put_rows(puts, spendable, limit)] if len(puts) else []) + (
        [_call_rows(calls)] if len(calls) else []
    )
    if parts:
        per_symbol = pd.concat(parts, ignore_index=True)
        order = per_symbol.assign(
            _k=per_symbol["check_name"].map(
                {"cash_available": 0, "symbol_concentration": 1, "covered": 2}
            )
        ).sort_values(["subject", "_k"], kind="stable")
        rows += order.drop(columns="_k").to_dict(orient="records")
    checks = pd.DataFrame(rows, columns=list(RISK_COLUMNS))
    checks["passed"] = checks["passed"].astype(bool)
    checks["metric_value"] = checks["metric_value"].astype(float).replace([np.inf, -np.inf], np.nan)
    return ranked, checks


def _put_rows(puts: pd.DataFrame, spendable: float, limit: float) -> pd.DataFrame:
    """``cash_available`` and ``symbol_concentration`` rows, one each per symbol with puts."""
    cash_rows = pd.DataFrame(
        {
            "check_name": "cash_available",
            "subject": puts.index,
            "passed": puts["need"] <= spendable,
            "metric_value": puts["need"],
            "limit_value": spendable,
            "message": "smallest put needs $"
            + puts["need"].map("{:,.0f}".format)
            + f"; ${spendable:,.0f} free",
            "details": [
                {"candidates": int(c), "blocked": int(b)}
                for c, b in zip(puts["candidates"], puts["blocked"], strict=True)
            ],
        }
    )
    concentration_rows = pd.DataFrame(
        {
            "check_name": "symbol_concentration",
            "subject": puts.index,
            "passed": puts["conc"] <= limit,
            "metric_value": puts["conc"],
            "limit_value": limit,
            "message": puts.index
            + " would be "
            + puts["conc"].map("{:.1%}".format)
            + " of equity with one more put",
            "details": [{"existing_exposure": float(e)} for e in puts["existing"]],
        }
    )
    return pd.concat([cash_rows, concentration_rows], ignore_index=True)


def _call_rows(calls: pd.DataFrame) -> pd.DataFrame:
    """``covered`` rows, one per symbol with calls."""
    return pd.DataFrame(
        {
            "check_name": "covered",
            "subject": calls.index,
            "passed": calls["shares"] >= 100,
            "metric_value": calls["shares"].astype(float),
            "limit_value": 100.0,
            "message": calls["shares"].astype(str) + " shares of " + calls.index + " held",
            "details": None,
        }
    )
