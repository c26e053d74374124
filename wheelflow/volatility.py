"""Volatility forecasts per underlying from its daily closes (the real-world sigma of EV).

Both models reduce to three numbers per underlying, in daily variance of log returns:
``current`` (the next day's), ``long_run`` and the daily ``persistence`` phi with which the
first decays towards the second. The average variance over the next h trading days is then

    v(h) = long_run + (current - long_run) x (1 - phi^h) / (h (1 - phi))

(the GARCH(1,1) term structure, Hull ch. 23), annualized x 252. A contract's horizon is its
days to expiry in trading days, h = days x 252 / 365.

- ``blend`` (the default): current = EWMA variance with lambda = 0.94 (RiskMetrics),
  long_run = the mean squared return over the last year, phi = 0.97 (half-life 23 trading
  days). Closed form, no fitting, stable on short histories.
- ``garch``: GARCH(1,1) fitted by maximum likelihood with the ``arch`` library: current = the
  one-step conditional variance, long_run = omega / (1 - alpha - beta), phi = alpha + beta.
  A fit that fails or is not stationary falls back to the blend for that underlying.

``bench/volatility_forecast.py`` compares them out of sample (QLIKE and MSE); see README.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

TRADING_DAYS = 252
EWMA_LAMBDA = 0.94
BLEND_PERSISTENCE = 0.97
LONG_RUN_DAYS = 252
MIN_RETURNS = 20  # fewer returns than this: no forecast (NaN)

Model = Literal["blend", "garch"]


@dataclass(frozen=True)
class VolatilityForecast:
    """Per-underlying term-structure parameters (daily variances)."""

    symbols: tuple[str, ...]
    current: np.ndarray
    long_run: np.ndarray
    persistence: np.ndarray
    model: tuple[str, ...]  # which model produced each row ("blend", "garch")

    @classmethod
    def empty(cls) -> VolatilityForecast:
        """No forecast for any symbol (contracts are then valued at their implied vol)."""
        none = np.array([], dtype=float)
        return cls((), none, none, none, ())

    def annualized(self, symbols: pd.Series | np.ndarray, days: np.ndarray) -> np.ndarray:
        """Forecast volatility (annualized) of each (underlying, calendar days) pair."""
        if not self.symbols:
            return np.full(len(np.asarray(days)), np.nan)
        pos = {s: i for i, s in enumerate(self.symbols)}
        idx = pd.Series(np.asarray(symbols, dtype=object)).map(pos)
        known = idx.notna().to_numpy()
        i = idx.fillna(0).to_numpy(dtype=int)
        h = np.maximum(np.asarray(days, dtype=float) * TRADING_DAYS / 365.0, 1.0)
        avg = average_variance(self.current[i], self.long_run[i], self.persistence[i], h)
        return np.where(known, np.sqrt(avg * TRADING_DAYS), np.nan)


def average_variance(
    current: np.ndarray, long_run: np.ndarray, persistence: np.ndarray, horizon: np.ndarray
) -> np.ndarray:
    """Mean daily variance over the next ``horizon`` trading days (mean-reverting)."""
    phi = np.clip(np.asarray(persistence, dtype=float), 0.0, 1.0 - 1e-9)
    h = np.asarray(horizon, dtype=float)
    weight = (1.0 - phi**h) / (h * (1.0 - phi))
    return long_run + (current - long_run) * weight


def log_returns(bars: pd.DataFrame) -> pd.DataFrame:
    """Daily log returns, one column per symbol (rows: bar dates ascending)."""
    closes = bars.pivot_table(index="bar_date", columns="symbol", values="close", aggfunc="last")
    closes = closes.sort_index().where(lambda c: c > 0)
    return np.log(closes).diff().iloc[1:]


def blend_parameters(returns: pd.DataFrame) -> pd.DataFrame:
    """current, long_run, persistence per symbol (columns of ``returns``)."""
    sq = returns**2
    ewma = sq.ewm(alpha=1.0 - EWMA_LAMBDA, adjust=True, ignore_na=True).mean().iloc[-1]
    long_run = sq.tail(LONG_RUN_DAYS).mean()
    count = returns.notna().sum()
    out = pd.DataFrame(
        {"current": ewma, "long_run": long_run, "persistence": BLEND_PERSISTENCE}
    ).astype(float)
    out.loc[count < MIN_RETURNS, ["current", "long_run"]] = np.nan
    return out


def garch_parameters(returns: pd.DataFrame) -> pd.DataFrame:
    """GARCH(1,1) current, long_run, persistence per symbol (NaN where the fit is unusable).

    One maximum-likelihood fit per underlying (not per contract); returns scaled to percent
    for the optimizer's sake.
    """
    from arch import arch_model  # imported here: only the garch forecast needs it

    rows: dict[str, tuple[float, float, float]] = {}
    for symbol in returns.columns:
        r = returns[symbol].dropna().tail(LONG_RUN_DAYS * 2)
        if len(r) < max(MIN_RETURNS, 60):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = arch_model(100 * r, mean="Zero", vol="GARCH", p=1, q=1).fit(
                    disp="off", show_warning=False
                )
            except (ValueError, np.linalg.LinAlgError):
                continue
        omega, alpha, beta = (float(res.params[k]) for k in ("omega", "alpha[1]", "beta[1]"))
        phi = alpha + beta
        if not (np.isfinite(phi) and 0 <= phi < 0.999 and omega > 0):
            continue
        current = float(res.forecast(horizon=1, reindex=False).variance.iloc[-1, 0])
        rows[str(symbol)] = (current / 1e4, omega / (1 - phi) / 1e4, phi)
    return pd.DataFrame.from_dict(
        rows, orient="index", columns=["current", "long_run", "persistence"]
    ).reindex(returns.columns)


def forecast_volatility(bars: pd.DataFrame, model: Model = "blend") -> VolatilityForecast:
    """Fit ``model`` to each symbol's closes in ``bars`` (BAR_COLUMNS)."""
    if bars.empty:
        return VolatilityForecast.empty()
    returns = log_returns(bars)
    blend = blend_parameters(returns)
    used = pd.Series("blend", index=blend.index, dtype=object)
    params = blend
    if model == "garch":
        garch = garch_parameters(returns)
        ok = garch["current"].notna()
        params = garch.where(ok, blend)
        used = used.where(~ok, "garch")
    return VolatilityForecast(
        symbols=tuple(str(s) for s in params.index),
        current=params["current"].to_numpy(dtype=float),
        long_run=params["long_run"].to_numpy(dtype=float),
        persistence=params["persistence"].to_numpy(dtype=float),
        model=tuple(str(m) for m in used),
    )


def qlike(forecast_var: np.ndarray, realized_var: np.ndarray) -> float:
    """Mean QLIKE loss (Patton 2011): robust to noise in the realized variance proxy."""
    f, r = np.asarray(forecast_var, dtype=float), np.asarray(realized_var, dtype=float)
    ok = (f > 0) & (r > 0) & np.isfinite(f) & np.isfinite(r)
    ratio = r[ok] / f[ok]
    return float(np.mean(ratio - np.log(ratio) - 1.0))


def forecast_table(forecast: VolatilityForecast) -> Mapping[str, float]:
    """Symbol -> one-month (21 trading days) annualized forecast, for display."""
    days = np.full(len(forecast.symbols), 21 * 365 / TRADING_DAYS)
    vols = forecast.annualized(np.array(forecast.symbols, dtype=object), days)
    return dict(zip(forecast.symbols, vols.tolist(), strict=True))
