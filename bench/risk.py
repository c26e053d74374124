"""Risk-service benchmark, single thread.

Run: ``.venv/bin/python bench/risk.py [--positions 500] [--scenarios 10000] [--names 3000]``

1. Full revaluation of a ``--positions`` book (short puts and calls on 100 underlyings, and
   stock) under ``--scenarios`` Monte Carlo scenarios from a Ledoit-Wolf covariance
   (``wheelflow.risk.revalue.revalue``): seconds and option prices per second, next to one
   plain BSM pass over the same number of prices (``wheelflow.pricing.price`` on flat arrays
   of the same size) measured in the same run: the ratio is the cost of the book bookkeeping.
2. Correlation (Ledoit-Wolf) and average-linkage clustering of ``--names`` underlyings from
   252 daily returns (``wheelflow.risk.market.market_context``): seconds.
Best of ``--repeats``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy loads

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from wheelflow.pricing import price  # noqa: E402
from wheelflow.risk.correlation import shrunk_covariance  # noqa: E402
from wheelflow.risk.market import market_context  # noqa: E402
from wheelflow.risk.revalue import Book, revalue  # noqa: E402
from wheelflow.risk.var import monte_carlo_moves  # noqa: E402


def best(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def random_book(positions: int, names: int, seed: int = 3) -> Book:
    rng = np.random.default_rng(seed)
    symbol = rng.integers(0, names, positions)
    spots = rng.uniform(5, 150, names)
    is_option = rng.random(positions) < 0.9
    spot = spots[symbol]
    return Book.from_frame(
        pd.DataFrame(
            {
                "symbol": [f"S{i:04d}" for i in symbol],
                "asset_type": np.where(is_option, "option", "stock"),
                "right": np.where(rng.random(positions) < 0.7, "P", "C"),
                "strike": np.round(spot * rng.uniform(0.8, 1.1, positions), 1),
                "years": rng.uniform(5, 60, positions) / 365.0,
                "units": np.where(is_option, -100.0 * rng.integers(1, 5, positions), 100.0),
                "iv": rng.uniform(0.2, 0.9, positions),
                "spot": spot,
            }
        )
    )


def random_returns(names: int, days: int = 252, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    market = rng.normal(0, 0.01, (days, 1))
    sector = rng.normal(0, 0.01, (days, 11))[:, rng.integers(0, 11, names)]
    r = market + sector + rng.normal(0, 0.015, (days, names))
    index = pd.bdate_range("2025-01-02", periods=days).date
    return pd.DataFrame(r, index=index, columns=[f"S{i:04d}" for i in range(names)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--positions", type=int, default=500)
    ap.add_argument("--scenarios", type=int, default=10_000)
    ap.add_argument("--names", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    underlyings = 100
    book = random_book(args.positions, underlyings)
    returns = random_returns(underlyings)
    cov = shrunk_covariance(returns.reindex(columns=list(book.symbols)))
    moves = monte_carlo_moves(cov, args.scenarios, 1.0, seed=1)
    n_prices = int(book.is_option.sum()) * args.scenarios

    reval = best(lambda: revalue(book, moves, horizon_years=1 / 365), args.repeats)
    rng = np.random.default_rng(9)
    flat = {
        "s": rng.uniform(5, 150, n_prices),
        "k": rng.uniform(5, 150, n_prices),
        "t": rng.uniform(0.01, 0.2, n_prices),
        "v": rng.uniform(0.2, 0.9, n_prices),
        "c": rng.random(n_prices) < 0.3,
    }
    bsm = best(
        lambda: price(flat["s"], flat["k"], flat["t"], 0.04, 0.0, flat["v"], flat["c"]),
        args.repeats,
    )
    print(
        f"full revaluation: {args.positions} positions ({int(book.is_option.sum())} options) x "
        f"{args.scenarios:,} MC scenarios = {n_prices / 1e6:.1f}M option prices: {reval:.3f} s "
        f"({n_prices / reval / 1e6:.1f}M prices/s); target < 1 s"
    )
    print(
        f"one BSM pass over {n_prices / 1e6:.1f}M prices (same run): {bsm:.3f} s "
        f"({n_prices / bsm / 1e6:.1f}M prices/s); revaluation / BSM pass = {reval / bsm:.2f}x"
    )

    wide = random_returns(args.names)
    closes = 100.0 * (1.0 + wide).cumprod()
    bars = closes.reset_index(names="bar_date").melt(
        id_vars="bar_date", var_name="symbol", value_name="close"
    )
    symbols = list(wide.columns)
    t0 = time.perf_counter()
    ctx = market_context(bars, symbols, {}, min_correlation=0.5)
    total = time.perf_counter() - t0
    t1 = time.perf_counter()
    market_context(bars, symbols, {}, min_correlation=0.5)
    again = time.perf_counter() - t1
    print(
        f"correlation + clustering of {args.names:,} underlyings x {len(wide)} days "
        f"(from {len(bars):,} bar rows, {dt.date.today()}): {min(total, again):.2f} s, "
        f"{ctx.cluster.nunique()} clusters; target < 5 s"
    )


if __name__ == "__main__":
    main()
