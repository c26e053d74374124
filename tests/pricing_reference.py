"""Test and benchmark helpers: a binomial tree for American options, random contracts.

The Cox-Ross-Rubinstein tree is the slow, trusted reference.

Vectorized over contracts; the Python loop runs over time steps (O(steps^2) work per contract),
so it is for tests and spot checks, not for whole chains. Error at 2000 steps is below 1e-4 of the
strike on the test grid (measured against 1000 steps).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from wheelflow.pricing._inputs import FloatArray, as_call_flags, as_float


def binomial_price(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    steps: int = 2000,
) -> FloatArray:
    """American price on a Cox-Ross-Rubinstein tree (reference; O(steps^2) per contract).

    Vectorized over contracts (1-D after broadcasting); the Python loop runs over time steps.
    """
    s, k, tt, rr, qq, vol = (
        a.reshape(-1)
        for a in np.broadcast_arrays(*(as_float(a) for a in (spot, strike, t, r, q, sigma)))
    )
    sign = np.where(np.broadcast_to(as_call_flags(is_call), s.shape).reshape(-1), 1.0, -1.0)
    shape = np.broadcast(*(np.asarray(a) for a in (spot, strike, t, r, q, sigma))).shape
    dt = tt / steps
    up = np.exp(vol * np.sqrt(dt))
    p_up = (np.exp((rr - qq) * dt) - 1.0 / up) / (up - 1.0 / up)
    disc = np.exp(-rr * dt)
    j = np.arange(steps + 1)
    # node prices at maturity: S u^(2j - steps), contracts along axis 0
    log_up = np.log(up)[:, None]
    prices = s[:, None] * np.exp(log_up * (2 * j - steps)[None, :])
    values = np.maximum(sign[:, None] * (prices - k[:, None]), 0.0)
    for n in range(steps - 1, -1, -1):
        prices = s[:, None] * np.exp(log_up * (2 * j[: n + 1] - n)[None, :])
        cont = disc[:, None] * (
            p_up[:, None] * values[:, 1 : n + 2] + (1.0 - p_up[:, None]) * values[:, : n + 1]
        )
        values = np.maximum(cont, sign[:, None] * (prices - k[:, None]))
    return values[:, 0].reshape(shape)


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
