"""American implied volatility: invert the Bjerksund-Stensland (2002) price, vectorized."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wheelflow.pricing._inputs import BoolArray, FloatArray, as_call_flags, as_float
from wheelflow.pricing.american.bjerksund_stensland import american_price
from wheelflow.pricing.black_scholes_merton.implied_volatility import (
    implied_volatility as european_iv,
)
from wheelflow.pricing.black_scholes_merton.pricing import greeks
from wheelflow.pricing.status import IVStatus

OK, BELOW_INTRINSIC, ABOVE_UPPER_BOUND, NO_CONVERGENCE, UNDETERMINED = (
    IVStatus.OK,
    IVStatus.BELOW_INTRINSIC,
    IVStatus.ABOVE_UPPER_BOUND,
    IVStatus.NO_CONVERGENCE,
    IVStatus.UNDETERMINED,
)
_SIGMA_FLOOR = 1e-4  # lowest volatility searched for American quotes
_SIGMA_CAP = 20.0


def american_implied_volatility(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    tolerance: ArrayLike | None = None,
    rtol: float = 1e-12,
    max_iterations: int = 100,
) -> tuple[FloatArray, NDArray[np.int8]]:
    """Volatility whose Bjerksund-Stensland (2002) price equals ``price``; ``(sigma, codes)``.

    Codes as :class:`wheelflow.pricing.status.IVStatus`. Contracts where early exercise
    never pays (calls with q <= 0, puts with r <= 0) get the European IV. The others are solved
    by a vectorized Illinois (modified regula falsi) iteration on the bracket
    [1e-4, European IV], since the American price is at least the European one at any sigma;
    the bracket is widened up to sigma = 20 when the European IV does not exist. A price at the
    exercise value (where exercising now is optimal, any low enough sigma fits), or below it or
    below the American value at sigma = 1e-4 by at most ``tolerance`` (currency, e.g. half
    the bid-ask spread), is UNDETERMINED; further below, BELOW_INTRINSIC (bad data).
    """
    arrays = np.broadcast_arrays(
        *(
            as_float(a)
            for a in (price, spot, strike, t, r, q, 0.0 if tolerance is None else tolerance)
        )
    )
    shape = arrays[0].shape
    p, s, k, tt, rr, qq, tol = (a.reshape(-1) for a in arrays)
    tol = np.maximum(tol, 0.0)
    call = np.broadcast_to(as_call_flags(is_call), shape).reshape(-1)
    sigma, codes = european_iv(p, s, k, tt, rr, qq, call, tol)
    with np.errstate(all="ignore"):
        sign = np.where(call, 1.0, -1.0)
        exercise_now = np.maximum(sign * (s - k), 0.0)
        bound = np.where(call, s, k)  # an American call is worth at most S, a put at most K
        early = np.where(call, qq > 0.0, rr > 0.0)
        solvable = early & np.isin(codes, (OK, BELOW_INTRINSIC, ABOVE_UPPER_BOUND))
        codes[solvable] = OK
        codes[solvable & (p >= bound)] = ABOVE_UPPER_BOUND
        at_exercise = solvable & (p <= exercise_now * (1.0 + 4e-16)) & (codes == OK)
        codes[at_exercise] = UNDETERMINED
        codes[at_exercise & (p < exercise_now - tol)] = BELOW_INTRINSIC
        todo = np.flatnonzero(solvable & (codes == OK) & ~at_exercise)
        if todo.size:
            hi_start = np.where(
                np.isfinite(sigma[todo]) & (sigma[todo] > _SIGMA_FLOOR), sigma[todo], 1.0
            )
            solved, sub_codes = _illinois(
                p[todo],
                s[todo],
                k[todo],
                tt[todo],
                rr[todo],
                qq[todo],
                call[todo],
                hi_start,
                tol[todo],
                rtol,
                max_iterations,
            )
            sigma[todo] = solved
            codes[todo] = sub_codes
        sigma[codes != OK] = np.nan
    return sigma.reshape(shape), codes.reshape(shape)


def _illinois(
    p: FloatArray,
    s: FloatArray,
    k: FloatArray,
    t: FloatArray,
    r: FloatArray,
    q: FloatArray,
    call: BoolArray,
    hi: FloatArray,
    price_tolerance: FloatArray,
    tolerance: float,
    max_iterations: int,
) -> tuple[FloatArray, NDArray[np.int8]]:
    """Bracketed root of american_price(sigma) - p, vectorized; returns (sigma, codes)."""

    def f(idx: NDArray[np.intp], vol: FloatArray) -> FloatArray:
        return american_price(s[idx], k[idx], t[idx], r[idx], q[idx], vol, call[idx]) - p[idx]

    n = p.size
    everyone = np.arange(n)
    codes = np.zeros(n, dtype=np.int8)
    lo = np.full(n, _SIGMA_FLOOR)
    f_lo = f(everyone, lo)
    # below the lowest American value: within the tolerance undetermined, else bad data
    codes[f_lo > 0.0] = np.where(
        f_lo[f_lo > 0.0] <= price_tolerance[f_lo > 0.0], UNDETERMINED, BELOW_INTRINSIC
    )
    f_hi = f(everyone, hi)
    for _ in range(8):  # widen the bracket where the European IV was not an upper bound
        short = np.flatnonzero((f_hi < 0.0) & (hi < _SIGMA_CAP))
        if not short.size:
            break
        hi[short] = np.minimum(2.0 * hi[short], _SIGMA_CAP)
        f_hi[short] = f(short, hi[short])
    codes[(codes == 0) & ~(f_hi >= 0.0)] = ABOVE_UPPER_BOUND
    # Tighten the bracket from above with Newton steps that use the European vega (the early
    # exercise premium makes the American vega a little smaller, so these land near the root).
    for _ in range(3):
        loose = np.flatnonzero((codes == 0) & (f_hi > 0.0) & (lo == _SIGMA_FLOOR))
        if not loose.size:
            break
        vega = (
            100.0
            * greeks(s[loose], k[loose], t[loose], r[loose], q[loose], hi[loose], call[loose])[
                "vega"
            ]
        )
        x = hi[loose] - f_hi[loose] / vega
        x = np.where((x > lo[loose]) & (x < hi[loose]), x, 0.5 * (lo[loose] + hi[loose]))
        fx = f(loose, x)
        below = fx < 0.0
        lo[loose[below]] = x[below]
        f_lo[loose[below]] = fx[below]
        hi[loose[~below]] = x[~below]
        f_hi[loose[~below]] = fx[~below]
    root = np.where(f_hi == 0.0, hi, np.nan)
    active = np.flatnonzero((codes == 0) & (f_hi != 0.0))
    side = np.zeros(n, dtype=np.int8)  # Illinois: which end was kept last time
    for _ in range(max_iterations):
        if not active.size:
            break
        a, b, fa, fb = lo[active], hi[active], f_lo[active], f_hi[active]
        x = b - fb * (b - a) / (fb - fa)
        x = np.where((x > a) & (x < b), x, 0.5 * (a + b))
        fx = f(active, x)
        # keep the sign change: replace hi if fx > 0 else lo; halve the stale end's value
        upper = fx > 0.0
        hi[active] = np.where(upper, x, b)
        f_hi[active] = np.where(upper, fx, np.where(side[active] == -1, 0.5 * fb, fb))
        lo[active] = np.where(upper, a, x)
        f_lo[active] = np.where(upper, np.where(side[active] == 1, 0.5 * fa, fa), fx)
        side[active] = np.where(upper, 1, -1)
        # converged: price matched, bracket closed, or the residual is at the noise floor of the
        # approximation (~1e-14 of the strike: its terms are of the strike's size and cancel)
        done = (np.abs(fx) <= np.maximum(tolerance * p[active], 1e-14 * k[active])) | (
            hi[active] - lo[active] <= tolerance * hi[active]
        )
        root[active[done]] = x[done]
        active = active[~done]
    codes[active] = NO_CONVERGENCE
    return root, codes


def iv_and_greeks(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    tolerance: ArrayLike | None = None,
) -> dict[str, FloatArray | NDArray[np.int8]]:
    """American IV, its status codes and the greeks at it (keys as the European version)."""
    from wheelflow.pricing.american.bjerksund_stensland import american_greeks

    sigma, codes = american_implied_volatility(price, spot, strike, t, r, q, is_call, tolerance)
    out: dict[str, FloatArray | NDArray[np.int8]] = {"iv": sigma, "status": codes}
    out.update(american_greeks(spot, strike, t, r, q, sigma, is_call))
    return out
