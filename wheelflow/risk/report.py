"""One account's risk report: figures, dollar greeks, exposures, scenarios and VaR.

Everything here is computed from the account's book (see :mod:`.account`) and the run's
:class:`~wheelflow.risk.market.MarketContext`; nothing reads the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from wheelflow.risk.market import MarketContext
from wheelflow.risk.revalue import Book, dollar_greeks, notional_exposure
from wheelflow.risk.scenarios import (
    STANDARD_SCENARIOS,
    AssignmentTest,
    all_puts_assigned,
    assignment_row,
    run_scenarios,
)
from wheelflow.risk.var import var_table
from wheelflow.strategy.config import RiskConfig, ScenarioSpec

EXPOSURE_COLUMNS = ("symbol", "sector", "cluster", "beta", "notional", "delta_usd")


@dataclass
class AccountRisk:
    """The risk figures of one account (USD unless a name says ``pct``/share)."""

    account: str
    figures: dict[str, Any]
    greeks: dict[str, float]
    exposure: pd.DataFrame  # per underlying: EXPOSURE_COLUMNS
    scenarios: pd.DataFrame  # scenario, kind, pnl, pnl_pct, description
    var: pd.DataFrame  # method, horizon, horizon_days, level, var, es, scenarios
    assignment: AssignmentTest
    book: Book
    stress_pnl: np.ndarray = field(repr=False)  # per stress scenario, in ``specs`` order
    specs: dict[str, ScenarioSpec] = field(repr=False, default_factory=dict)

    @property
    def equity(self) -> float:
        return float(self.figures["equity"])

    def by(self, column: str) -> pd.Series:
        """Notional exposure summed per ``sector`` or ``cluster`` (USD), largest first."""
        if self.exposure.empty:
            return pd.Series(dtype=float)
        return self.exposure.groupby(column)["notional"].sum().sort_values(ascending=False)

    def var_of(self, level: float = 0.99, horizon: str = "1d") -> tuple[float, str]:
        """(VaR, method): Monte Carlo when there is a covariance, else historical."""
        for method in ("monte_carlo", "historical"):
            hit = self.var[
                (self.var["method"] == method)
                & (self.var["horizon"] == horizon)
                & np.isclose(self.var["level"], level)
            ]
            if len(hit):
                return float(hit["var"].iloc[0]), method
        return float("nan"), "none"


def scenario_specs(config: RiskConfig) -> dict[str, ScenarioSpec]:
    return {**STANDARD_SCENARIOS, **config.scenarios}


def account_risk(
    account: str,
    figures: dict[str, Any],
    book: Book,
    market: MarketContext,
    config: RiskConfig,
    *,
    seed: int = 0,
    with_var: bool = True,
) -> AccountRisk:
    """Assemble the report of one account (``with_var=False``: no VaR table, for the per-order
    guard, which prices its own candidate VaR)."""
    equity = float(figures["equity"])
    symbols = [str(s) for s in book.symbols]
    beta = market.beta_of(symbols)
    sector = {s: str(market.sector.get(s, f"Unknown: {s}")) for s in symbols}
    g = dollar_greeks(book)
    g["beta"] = g["symbol"].map(beta).astype(float)
    g["notional"] = notional_exposure(book)
    per = g.groupby("symbol", sort=True)[["delta_usd", "notional"]].sum()
    exposure = pd.DataFrame(
        {
            "symbol": per.index.astype(str),
            "sector": [sector[s] for s in per.index],
            "cluster": [str(market.cluster.get(s, s)) for s in per.index],
            "beta": [beta[s] for s in per.index],
            "notional": per["notional"].to_numpy(),
            "delta_usd": per["delta_usd"].to_numpy(),
        },
        columns=list(EXPOSURE_COLUMNS),
    )
    greeks = {
        "delta_usd": float(g["delta_usd"].sum()),
        "gamma_usd": float(g["gamma_usd"].sum()),
        "theta_usd": float(g["theta_usd"].sum()),
        "vega_usd": float(g["vega_usd"].sum()),
        "beta_weighted_delta_usd": float((g["delta_usd"] * g["beta"]).sum()),
    }
    specs = scenario_specs(config)
    stress = run_scenarios(book, specs, equity, beta, sector)
    assignment = all_puts_assigned(book, float(figures["cash"]))
    scenarios = pd.concat(
        [stress, pd.DataFrame([assignment_row(assignment, equity)])], ignore_index=True
    )
    var = (
        var_table(
            book,
            market.returns,
            market.cov,
            market.cov_symbols,
            scenarios=config.monte_carlo_scenarios,
            seed=seed,
        )
        if with_var
        else pd.DataFrame(columns=["method", "horizon", "horizon_days", "level", "var", "es"])
    )
    return AccountRisk(
        account=account,
        figures=figures,
        greeks=greeks,
        exposure=exposure,
        scenarios=scenarios,
        var=var,
        assignment=assignment,
        book=book,
        stress_pnl=stress["pnl"].to_numpy(dtype=np.float64),
        specs=specs,
    )
