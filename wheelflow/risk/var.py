"""Value at risk and expected shortfall by full revaluation.

Two scenario sets, both repricing every option of the book:
- historical simulation: the stored daily returns replayed on today's book (1-day), and their
  overlapping n-day compounded sums for the to-expiry horizon;
- Monte Carlo: multivariate normal daily returns with the (Ledoit-Wolf) covariance, scaled by
  the horizon (square-root of time), seeded so that a run is reproducible.

VaR at level a is minus the (1 - a) quantile of P&L; expected shortfall is minus the mean P&L
at or beyond it (both positive numbers for a loss, USD).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wheelflow.risk.revalue import DAY, Book, FloatArray, revalue

LEVELS = (0.95, 0.99)
MIN_HISTORY_SCENARIOS = 20


def var_es(pnl: FloatArray, level: float) -> tuple[float, float]:
    """(VaR, expected shortfall) of a P&L sample at confidence ``level``."""
    if len(pnl) == 0:
        return float("nan"), float("nan")
    cut = float(np.quantile(pnl, 1.0 - level))
    tail = pnl[pnl <= cut]
    return -cut, -float(tail.mean())


def monte_carlo_moves(
    cov: FloatArray, n: int, horizon_days: float = 1.0, seed: int = 0
) -> FloatArray:
    """``n`` draws of relative moves (n x assets), normal with covariance ``cov x days``.

    Uses an eigen-decomposition (robust to a covariance that is only semi-definite)."""
    k = cov.shape[0]
    if k == 0:
        return np.zeros((n, 0))
    values, vectors = np.linalg.eigh(cov * horizon_days)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    z = np.random.default_rng(seed).standard_normal((n, k))
    return np.maximum(z @ root.T, -0.99)


def historical_moves(
    returns: pd.DataFrame, symbols: np.ndarray, horizon_days: int = 1
) -> FloatArray:
    """Overlapping ``horizon_days``-day compounded moves of the book's underlyings.

    A symbol without history moves like the average of the others that day (a market proxy)."""
    r = returns.reindex(columns=list(symbols))
    proxy = returns.mean(axis=1) if returns.shape[1] else pd.Series(0.0, index=returns.index)
    r = r.apply(lambda col: col.fillna(proxy)).fillna(0.0)
    growth = np.log1p(r.to_numpy(dtype=np.float64))
    if horizon_days > 1:
        csum = np.vstack([np.zeros((1, growth.shape[1])), np.cumsum(growth, axis=0)])
        growth = csum[horizon_days:] - csum[:-horizon_days]
    return np.expm1(growth)


def select_moves(drawn: FloatArray, cov_symbols: list[str], symbols: np.ndarray) -> FloatArray:
    """Columns of ``drawn`` (over ``cov_symbols``) for ``symbols``; 0 for one not there."""
    position = {s: i for i, s in enumerate(cov_symbols)}
    take = np.array([position.get(str(s), -1) for s in symbols], dtype=np.int64)
    if drawn.shape[1] == 0:
        return np.zeros((len(drawn), len(take)))
    return np.where(take >= 0, drawn[:, np.maximum(take, 0)], 0.0)


def horizon_to_expiry(book: Book) -> int:
    """Days to the last expiry of the book's options (at least 1)."""
    if not book.is_option.any():
        return 1
    return max(1, int(np.ceil(book.years[book.is_option].max() * 365.0)))


def var_table(
    book: Book,
    returns: pd.DataFrame,
    cov: FloatArray,
    cov_symbols: list[str],
    *,
    scenarios: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """VaR and ES per method (historical, monte_carlo), horizon (1d, to_expiry) and level."""
    rows: list[dict[str, object]] = []
    to_expiry = horizon_to_expiry(book)
    position = {s: i for i, s in enumerate(cov_symbols)}
    own = [position[str(s)] for s in book.symbols if str(s) in position]
    for horizon_name, days in (("1d", 1), ("to_expiry", to_expiry)):
        hist = historical_moves(returns, book.symbols, days) if len(returns) else np.zeros((0, 0))
        samples: dict[str, FloatArray] = {}
        if len(hist) >= MIN_HISTORY_SCENARIOS:
            samples["historical"] = revalue(book, hist, horizon_years=days * DAY)
        if len(own):
            # only the book's names: a small eigen-decomposition, not the whole universe's
            drawn = monte_carlo_moves(cov[np.ix_(own, own)], scenarios, days, seed)
            mc = select_moves(drawn, [cov_symbols[i] for i in own], book.symbols)
            samples["monte_carlo"] = revalue(book, mc, horizon_years=days * DAY)
        for method, pnl in samples.items():
            for level in LEVELS:
                v, es = var_es(pnl, level)
                rows.append(
                    {
                        "method": method,
                        "horizon": horizon_name,
                        "horizon_days": days,
                        "level": level,
                        "var": v,
                        "es": es,
                        "scenarios": len(pnl),
                    }
                )
    return pd.DataFrame(
        rows, columns=["method", "horizon", "horizon_days", "level", "var", "es", "scenarios"]
    )
