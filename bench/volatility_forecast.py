"""Out-of-sample comparison of the volatility forecasts behind expected values.

Run: ``.venv/bin/python bench/volatility_forecast.py [--as-of 2026-12-01] [--step 21]``

At forecast origins every ``--step`` sessions (after 126 sessions of history), each model is
fitted on the closes up to the origin only and forecasts the mean daily variance of the next
h = 5, 21, 42 sessions; that is compared with the realized mean squared log return over those
sessions. Printed per data set and horizon: mean QLIKE (Patton 2011; the ranking-robust loss
for noisy variance proxies) and the MSE of annualized variance, with the ratio to the naive
baseline (the last 21 sessions' realized variance) measured in the same run.

Data sets: the synthetic market's history (every default underlying), and simulated
GARCH(1,1) paths with typical equity parameters (alpha 0.08, beta 0.90; volatility clustering
that the synthetic market lacks). The recorded real bars under tests/fixtures/providers hold
two sessions per symbol: too few for any out-of-sample figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from wheelflow.providers.synthetic import EPOCH, SyntheticMarket
from wheelflow.volatility import (
    TRADING_DAYS,
    average_variance,
    blend_parameters,
    garch_parameters,
    log_returns,
    qlike,
)

HORIZONS = (5, 21, 42)
MIN_HISTORY = 126

Forecaster = Callable[[pd.DataFrame, int], np.ndarray]


def _term(params: pd.DataFrame, h: int) -> np.ndarray:
    return average_variance(
        params["current"].to_numpy(float),
        params["long_run"].to_numpy(float),
        params["persistence"].to_numpy(float),
        np.full(len(params), float(h)),
    )


def naive_21(history: pd.DataFrame, h: int) -> np.ndarray:
    return (history.tail(21) ** 2).mean().to_numpy(float)


def ewma_flat(history: pd.DataFrame, h: int) -> np.ndarray:
    return blend_parameters(history)["current"].to_numpy(float)


def blend(history: pd.DataFrame, h: int) -> np.ndarray:
    return _term(blend_parameters(history), h)


def garch(history: pd.DataFrame, h: int) -> np.ndarray:
    params = garch_parameters(history)
    return np.where(params["current"].notna(), _term(params, h), blend(history, h))


MODELS: dict[str, Forecaster] = {
    "naive 21d": naive_21,
    "ewma 0.94": ewma_flat,
    "blend": blend,
    "garch(1,1)": garch,
}


def evaluate(returns: pd.DataFrame, step: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """Loss table (dataset-agnostic) and seconds spent per model."""
    rows = []
    seconds = dict.fromkeys(MODELS, 0.0)
    origins = range(MIN_HISTORY, len(returns) - max(HORIZONS), step)
    for origin in origins:
        history = returns.iloc[:origin]
        for name, model in MODELS.items():
            for h in HORIZONS:
                realized = (returns.iloc[origin : origin + h] ** 2).mean().to_numpy(float)
                t0 = time.perf_counter()
                forecast = model(history, h)
                seconds[name] += time.perf_counter() - t0
                rows.append((name, h, forecast, realized))
    table = []
    for name in MODELS:
        for h in HORIZONS:
            f = np.concatenate([r[2] for r in rows if r[0] == name and r[1] == h])
            z = np.concatenate([r[3] for r in rows if r[0] == name and r[1] == h])
            mse = float(np.nanmean(((f - z) * TRADING_DAYS) ** 2))
            table.append({"model": name, "h": h, "qlike": qlike(f, z), "mse": mse, "n": len(f)})
    return pd.DataFrame(table), seconds


def garch_paths(n_symbols: int, n_days: int, seed: int) -> pd.DataFrame:
    """Log returns of GARCH(1,1) paths: long-run vol 20-80 %, alpha 0.08, beta 0.90."""
    rng = np.random.default_rng(seed)
    alpha, beta = 0.08, 0.90
    long_vol = rng.uniform(0.2, 0.8, n_symbols) / np.sqrt(TRADING_DAYS)
    omega = long_vol**2 * (1 - alpha - beta)
    var = long_vol**2
    out = np.empty((n_days, n_symbols))
    for t in range(n_days):
        r = np.sqrt(var) * rng.standard_normal(n_symbols)
        out[t] = r
        var = omega + alpha * r**2 + beta * var
    return pd.DataFrame(out, columns=[f"G{i:02d}" for i in range(n_symbols)])


def _print(title: str, table: pd.DataFrame, seconds: dict[str, float]) -> None:
    print(f"\n{title}")
    base = table[table["model"] == "naive 21d"].set_index("h")
    print(f"{'model':<12}{'h':>4}{'QLIKE':>9}{'vs naive':>10}{'MSE':>10}{'vs naive':>10}{'s':>8}")
    for _, row in table.iterrows():
        b = base.loc[row["h"]]
        print(
            f"{row['model']:<12}{row['h']:>4}{row['qlike']:>9.4f}{row['qlike'] / b['qlike']:>10.2f}"
            f"{row['mse']:>10.4f}{row['mse'] / b['mse']:>10.2f}{seconds[row['model']]:>8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 12, 1))
    parser.add_argument("--step", type=int, default=21, help="sessions between forecast origins")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    market = SyntheticMarket(seed=args.seed, as_of=args.as_of)
    bars = market.price_history(market.symbols, EPOCH, args.as_of)
    synthetic = log_returns(bars)
    table, seconds = evaluate(synthetic, args.step)
    _print(
        f"synthetic market: {synthetic.shape[1]} underlyings, {len(synthetic)} sessions "
        f"to {args.as_of}",
        table,
        seconds,
    )
    clustered = garch_paths(30, len(synthetic), args.seed)
    table, seconds = evaluate(clustered, args.step)
    _print(f"GARCH(1,1) paths: 30 series, {len(clustered)} sessions", table, seconds)


if __name__ == "__main__":
    main()
