"""Portfolio limits of one account, for the book as it stands and for a candidate order.

Two scopes, one set of limits (``[risk]`` of the strategy file, shares of account equity):
- ``portfolio``: the account as it stands. A breach here is real and raises an alert.
- ``candidate``: the account as it would be with one more contract. A breach blocks the
  candidate (reason recorded) and never raises an alert: it is a hypothetical.

Limits: worst stress-scenario loss, notional per sector and per correlation cluster,
|beta-weighted dollar delta|, 1-day 99 % VaR, and cash left if every short put is assigned.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from wheelflow.risk.market import MarketContext
from wheelflow.risk.report import AccountRisk
from wheelflow.risk.revalue import (
    DAY,
    Book,
    dollar_greeks,
    notional_exposure,
    position_pnl,
    revalue,
)
from wheelflow.risk.scenarios import scenario_moves
from wheelflow.risk.var import select_moves
from wheelflow.strategy.config import RiskConfig

CANDIDATE_VAR_SCENARIOS = 1_000  # the first draws of the account's Monte Carlo set
# how a candidate's breach of each limit reads in ``blocked_reason`` and order rejections
LIMIT_LABELS = {
    "worst_scenario_loss": "worst scenario loss",
    "sector_exposure": "sector exposure",
    "cluster_exposure": "cluster exposure",
    "beta_weighted_delta": "beta-weighted delta",
    "var_99": "1-day 99% VaR",
}


def _row(
    account: str, name: str, value: float, limit: float, message: str, details: Any = None
) -> dict[str, Any]:
    passed = bool(not np.isfinite(value) or value <= limit + 1e-12)
    return {
        "account": account,
        "scope": "portfolio",
        "check_name": name,
        "subject": account,
        "passed": passed,
        "metric_value": float(value) if np.isfinite(value) else None,
        "limit_value": float(limit),
        "message": message,
        "details": details,
    }


def portfolio_checks(risk: AccountRisk, config: RiskConfig) -> list[dict[str, Any]]:
    """The account's limits as it stands (scope ``portfolio``), one row per limit."""
    acct, equity = risk.account, max(risk.equity, 1e-9)
    stress = risk.scenarios[risk.scenarios["kind"] == "stress"]
    worst = stress.loc[stress["pnl"].idxmin()] if len(stress) else None
    worst_loss = -float(worst["pnl"]) / equity if worst is not None else 0.0
    sector, cluster = risk.by("sector"), risk.by("cluster")
    bwd = abs(risk.greeks["beta_weighted_delta_usd"]) / equity
    var99, method = risk.var_of(0.99, "1d")
    assigned = risk.assignment
    return [
        _row(
            acct,
            "worst_scenario_loss",
            worst_loss,
            config.max_scenario_loss,
            f"worst scenario loses {worst_loss:.1%} of equity"
            + (f" ({worst['scenario']})" if worst is not None else ""),
            None if worst is None else {"scenario": str(worst["scenario"])},
        ),
        _row(
            acct,
            "sector_exposure",
            float(sector.iloc[0]) / equity if len(sector) else 0.0,
            config.max_sector_exposure,
            f"largest sector {sector.index[0]}: {float(sector.iloc[0]) / equity:.1%} of equity"
            if len(sector)
            else "no exposure",
            {str(k): float(v) for k, v in sector.items()},
        ),
        _row(
            acct,
            "cluster_exposure",
            float(cluster.iloc[0]) / equity if len(cluster) else 0.0,
            config.max_cluster_exposure,
            f"largest cluster {cluster.index[0]}: {float(cluster.iloc[0]) / equity:.1%} of equity"
            if len(cluster)
            else "no exposure",
            {str(k): float(v) for k, v in cluster.items()},
        ),
        _row(
            acct,
            "beta_weighted_delta",
            bwd,
            config.max_beta_weighted_delta,
            f"beta-weighted delta ${risk.greeks['beta_weighted_delta_usd']:,.0f} "
            f"({bwd:.1%} of equity)",
        ),
        _row(
            acct,
            "var_99",
            var99 / equity,
            config.max_var_99,
            f"1-day 99% VaR ${var99:,.0f} ({var99 / equity:.1%} of equity, {method})",
        ),
        {
            **_row(
                acct,
                "put_assignment",
                -assigned.cash_after,
                0.0,
                f"cash after every short put is assigned: ${assigned.cash_after:,.0f}",
            ),
            "passed": assigned.passed,
        },
    ]


def candidate_book(candidates: pd.DataFrame, rate: float) -> Book:
    """One short contract per candidate (``strategy``, ``underlying``, ``strike``, ``right``,
    ``days_to_expiry``, ``iv``, ``underlying_price``; optional ``quantity`` in contracts)."""
    qty = candidates.get("quantity", 1)
    return Book.from_frame(
        pd.DataFrame(
            {
                "symbol": candidates["underlying"].astype(str).to_numpy(),
                "asset_type": "option",
                "right": candidates["right"].astype(str).to_numpy(),
                "strike": candidates["strike"].astype(float).to_numpy(),
                "years": candidates["days_to_expiry"].astype(float).to_numpy() / 365.0,
                "units": -100.0 * np.asarray(qty, dtype=float) * np.ones(len(candidates)),
                "iv": candidates["iv"].astype(float).to_numpy(),
                "spot": candidates["underlying_price"].astype(float).to_numpy(),
            }
        ),
        rate=rate,
    )


def candidate_breaches(
    candidates: pd.DataFrame,
    risk: AccountRisk,
    market: MarketContext,
    config: RiskConfig,
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """Per candidate (aligned with ``candidates``): the account's figures with it added, and
    ``reason`` (None when within every limit). All candidates are priced at once."""
    n = len(candidates)
    if n == 0:
        return pd.DataFrame(index=candidates.index, columns=["reason"])
    equity = max(risk.equity, 1e-9)
    cand = candidate_book(candidates, risk.book.rate)
    symbols = [str(s) for s in cand.symbols]
    beta = market.beta_of(symbols)
    sector_of = {s: str(market.sector.get(s, f"Unknown: {s}")) for s in symbols}
    names = cand.symbols[cand.underlying]

    # worst stress scenario with the candidate: portfolio P&L + the candidate's, per scenario
    worst = np.zeros(n)
    for i, spec in enumerate(risk.specs.values()):
        moves = scenario_moves(spec, cand.symbols, beta, sector_of)[None, :]
        pnl = position_pnl(cand, moves, iv_shift=spec.iv, horizon_years=spec.days * DAY)[0]
        worst = np.maximum(worst, -(risk.stress_pnl[i] + pnl) / equity)

    # notional per sector / cluster with the candidate's (a covered call adds none)
    added = notional_exposure(cand)
    sectors = pd.Series([sector_of[s] for s in names])
    clusters = pd.Series([str(market.cluster.get(s, s)) for s in names])
    sector_now = sectors.map(risk.by("sector")).fillna(0.0).to_numpy()
    cluster_now = clusters.map(risk.by("cluster")).fillna(0.0).to_numpy()
    sector_share = (sector_now + added) / equity
    cluster_share = (cluster_now + added) / equity

    # beta-weighted delta with the candidate
    delta = dollar_greeks(cand)["delta_usd"].to_numpy() * np.array([beta[s] for s in names])
    bwd = np.abs(risk.greeks["beta_weighted_delta_usd"] + delta) / equity

    # 1-day 99 % VaR with the candidate, on the first draws of the account's Monte Carlo set
    var99 = np.full(n, np.nan)
    if len(market.cov_symbols):
        drawn = market.draws(CANDIDATE_VAR_SCENARIOS, 1.0, seed)
        own = revalue(
            risk.book, select_moves(drawn, market.cov_symbols, risk.book.symbols), horizon_years=DAY
        )
        theirs = position_pnl(
            cand, select_moves(drawn, market.cov_symbols, cand.symbols), horizon_years=DAY
        )
        var99 = -np.quantile(own[:, None] + theirs, 0.01, axis=0) / equity

    out = pd.DataFrame(
        {
            "worst_scenario_loss": worst,
            "sector_exposure": sector_share,
            "cluster_exposure": cluster_share,
            "beta_weighted_delta": bwd,
            "var_99": var99,
        },
        index=candidates.index,
    )
    breach = pd.DataFrame({c: out[c] > limit + 1e-12 for c, limit in limit_values(config).items()})
    reason = pd.Series("", index=out.index)
    for column, limit in limit_values(config).items():
        hit = breach[column]
        if hit.any():
            text = (
                LIMIT_LABELS[column]
                + " "
                + out.loc[hit, column].map("{:.1%}".format)
                + f" > {limit:.0%}"
            )
            reason.loc[hit] = reason.loc[hit].str.cat(text, sep="; ").str.lstrip("; ")
    out["reason"] = reason.astype(object).where(reason != "", None)
    return out


def limit_values(config: RiskConfig) -> dict[str, float]:
    """The candidate-scope limits by check name (shares of equity)."""
    return {
        "worst_scenario_loss": config.max_scenario_loss,
        "sector_exposure": config.max_sector_exposure,
        "cluster_exposure": config.max_cluster_exposure,
        "beta_weighted_delta": config.max_beta_weighted_delta,
        "var_99": config.max_var_99,
    }
