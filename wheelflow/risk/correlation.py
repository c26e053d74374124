"""Returns, robust covariance, betas and correlation clusters from daily price history.

Covariance is the Ledoit-Wolf shrinkage estimate (Ledoit & Wolf 2004, "A well-conditioned
estimator for large-dimensional covariance matrices") from scikit-learn: with 250 days of
history and thousands of names the sample covariance is singular, the shrunk one is not.
Clusters come from average-linkage hierarchical clustering of the correlation distance
``sqrt((1 - rho) / 2)`` (Mantegna 1999), cut at a correlation threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
from scipy.spatial.distance import squareform
from sklearn.covariance import ledoit_wolf

from wheelflow.risk.revalue import FloatArray

DEFAULT_BENCHMARK = "SPY"


def daily_returns(bars: pd.DataFrame, min_days: int = 20) -> pd.DataFrame:
    """Simple daily close-to-close returns, dates x symbols, from ``price_bars`` rows
    (``symbol``, ``bar_date``, ``close``). A symbol with fewer than ``min_days`` returns is
    dropped; a missing day inside a symbol's history is a 0 return (no move observed)."""
    if bars.empty:
        return pd.DataFrame()
    closes = bars.pivot_table(index="bar_date", columns="symbol", values="close", aggfunc="last")
    closes = closes.sort_index()
    returns = closes.pct_change(fill_method=None).iloc[1:]
    enough = returns.notna().sum() >= min_days
    return returns.loc[:, enough].fillna(0.0)


def market_returns(returns: pd.DataFrame, benchmark: str = DEFAULT_BENCHMARK) -> pd.Series:
    """The benchmark's returns; without its history, the equal-weighted mean of all names
    (a market proxy, named ``"market"``)."""
    if benchmark in returns.columns:
        return returns[benchmark].rename(benchmark)
    return returns.mean(axis=1).rename("market")


def betas(returns: pd.DataFrame, market: pd.Series) -> pd.Series:
    """OLS beta of every column on ``market``: cov(r_i, r_m) / var(r_m)."""
    if returns.empty:
        return pd.Series(dtype=float)
    m = market.reindex(returns.index).fillna(0.0).to_numpy()
    m = m - m.mean()
    r = returns.to_numpy() - returns.to_numpy().mean(axis=0)
    var = float(m @ m)
    out = (m @ r) / var if var > 0 else np.ones(r.shape[1])
    return pd.Series(out, index=returns.columns, name="beta")


def shrunk_covariance(returns: pd.DataFrame) -> FloatArray:
    """Ledoit-Wolf covariance of the daily returns (symbols x symbols)."""
    cov, _shrinkage = ledoit_wolf(returns.to_numpy(dtype=np.float64))
    return np.asarray(cov)


def correlation_from_covariance(cov: FloatArray) -> FloatArray:
    sd = np.sqrt(np.clip(np.diag(cov), 1e-18, None))
    corr = cov / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


@dataclass(frozen=True)
class Clusters:
    """Cluster label per symbol (1..k) and the dendrogram's leaf order (for the heatmap)."""

    labels: pd.Series
    order: np.ndarray


def correlation_clusters(
    correlation: FloatArray, symbols: list[str], min_correlation: float = 0.5
) -> Clusters:
    """Average-linkage clusters whose members correlate at about ``min_correlation`` or more."""
    n = len(symbols)
    if n <= 1:
        return Clusters(pd.Series([1] * n, index=symbols, dtype=int), np.arange(n))
    dist = np.sqrt(np.clip((1.0 - correlation) / 2.0, 0.0, None))
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    cut = float(np.sqrt((1.0 - min_correlation) / 2.0))
    labels = fcluster(tree, t=cut, criterion="distance")
    return Clusters(pd.Series(labels, index=symbols), leaves_list(tree))
