"""Random option contracts over the ranges the pricing engine is specified for (tests, bench)."""

from __future__ import annotations

import numpy as np


def random_contracts(n: int, seed: int, max_sigma: float = 3.0) -> dict[str, np.ndarray]:
    """``n`` contracts: spot 1..500, K/S 0.5..2, t 1 day..2 years (years), r 0..8 %, q 0..5 %,
    sigma 0.05..``max_sigma`` (log-uniform where the range spans decades), half calls.

    Keys: spot, strike, t, r, q, sigma, is_call (bool). No prices: callers choose the model.
    """
    rng = np.random.default_rng(seed)
    spot = np.exp(rng.uniform(0.0, np.log(500.0), n))
    return {
        "spot": spot,
        "strike": spot * np.exp(rng.uniform(np.log(0.5), np.log(2.0), n)),
        "t": np.exp(rng.uniform(np.log(1 / 365), np.log(2.0), n)),
        "r": rng.uniform(0.0, 0.08, n),
        "q": rng.uniform(0.0, 0.05, n),
        "sigma": np.exp(rng.uniform(np.log(0.05), np.log(max_sigma), n)),
        "is_call": rng.random(n) < 0.5,
    }
