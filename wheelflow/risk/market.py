"""What the risk figures need from the market, built once per run for every account:
returns, betas against the benchmark, the shrunk covariance, sectors and correlation clusters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wheelflow.risk.correlation import (
    DEFAULT_BENCHMARK,
    betas,
    correlation_clusters,
    correlation_from_covariance,
    daily_returns,
    market_returns,
    shrunk_covariance,
)
from wheelflow.risk.revalue import FloatArray
from wheelflow.risk.sectors import sectors_for
from wheelflow.risk.var import monte_carlo_moves


@dataclass(frozen=True)
class MarketContext:
    returns: pd.DataFrame  # dates x symbols, simple daily returns
    benchmark: str  # the benchmark's symbol, or "market" (equal-weighted proxy)
    beta: pd.Series  # by symbol; 1.0 for a symbol without history
    sector: pd.Series  # by symbol
    cluster: pd.Series  # by symbol: "C1", "C2", ...; a symbol without history is its own
    cov: FloatArray  # Ledoit-Wolf daily covariance over ``cov_symbols``
    cov_symbols: list[str]
    order: np.ndarray  # dendrogram leaf order of ``cov_symbols`` (heatmap)
    correlation: FloatArray
    realized_vol: pd.Series  # annualised, by symbol
    _draws: dict[tuple[int, float, int], FloatArray] = field(default_factory=dict, repr=False)

    def draws(self, n: int, horizon_days: float = 1.0, seed: int = 0) -> FloatArray:
        """Monte Carlo moves over ``cov_symbols`` (cached: every candidate and order of a run
        is checked against the same scenarios)."""
        key = (n, horizon_days, seed)
        if key not in self._draws:
            self._draws[key] = monte_carlo_moves(self.cov, n, horizon_days, seed)
        return self._draws[key]

    def beta_of(self, symbols: Sequence[str]) -> dict[str, float]:
        return {s: float(self.beta.get(s, 1.0)) for s in symbols}


def market_context(
    bars: pd.DataFrame,
    symbols: Sequence[str],
    sector_map: Mapping[str, str],
    provider_sectors: Mapping[str, str] | None = None,
    *,
    benchmark: str = DEFAULT_BENCHMARK,
    min_correlation: float = 0.5,
) -> MarketContext:
    """Context for ``symbols`` (held or candidate underlyings) from ``price_bars`` rows."""
    wanted = sorted({str(s) for s in symbols})
    returns = daily_returns(bars)
    market = market_returns(returns, benchmark) if len(returns) else pd.Series(dtype=float)
    held = returns.reindex(columns=[s for s in wanted if s in returns.columns])
    beta = betas(held, market).reindex(wanted).fillna(1.0)
    if held.shape[1] >= 1 and len(held) >= 2:
        cov = (
            shrunk_covariance(held)
            if held.shape[1] >= 2
            else np.atleast_2d(np.var(held.to_numpy(), axis=0, ddof=1))
        )
        corr = correlation_from_covariance(cov)
        clusters = correlation_clusters(corr, list(held.columns), min_correlation)
        labels = clusters.labels.map(lambda c: f"C{c}")
        order = clusters.order
    else:
        cov = corr = np.zeros((0, 0))
        labels = pd.Series(dtype=str)
        order = np.array([], dtype=int)
    cluster = pd.Series(
        [labels.get(s, f"{s} (no history)") for s in wanted], index=wanted, dtype=object
    )
    vol = held.std(ddof=1) * np.sqrt(252.0) if len(held) >= 2 else pd.Series(dtype=float)
    return MarketContext(
        returns=returns,
        benchmark=str(market.name) if len(returns) else benchmark,
        beta=beta,
        sector=sectors_for(wanted, sector_map, provider_sectors),
        cluster=cluster,
        cov=np.asarray(cov, dtype=np.float64),
        cov_symbols=list(held.columns),
        order=np.asarray(order),
        correlation=np.asarray(corr, dtype=np.float64),
        realized_vol=vol.reindex(wanted),
    )
