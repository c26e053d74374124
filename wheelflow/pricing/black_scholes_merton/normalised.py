"""Normalised Black price and the core implied-volatility iteration (NumPy, no Python loops).

Every European quote is reduced (Jaeckel 2015, "Let's be rational", section 2) to an
out-of-the-money call in normalised form::

    b(x, s) = exp(x/2) N(x/s + s/2) - exp(-x/2) N(x/s - s/2),   x = ln(F/K) <= 0,  s = sigma sqrt(t)

with 0 < b < exp(x/2). The solver inverts b for the total volatility s:

1. initial guess from a 400 x 600 table of ln s over (ln|x|, L**(1/4)) with L = -ln(b / b_max),
   bilinear; relative error below 5e-4 for |x| in [1e-7, 30] and L in [1e-6, 745] (built once
   per process in ~0.3 s by inverting b along fine s grids, then polished);
2. a fourth-order Householder step (Householder 1970) on g(s) = ln b(s) - ln beta, nearly linear
   in both wings. With b' = exp(-(h^2 + s^2/4)/2) / sqrt(2 pi) and h = x/s, the derivative
   ratios are r2 = b''/b' = h^2/s - s/4 and r3 = b'''/b' = r2^2 - 3 h^2/s^2 - 1/4 (differentiate
   ln b'); from a 5e-4 guess one step lands within ~1e-13 (quartic convergence);
3. the caller verifies the result; contracts that fail (far outside the table, prices near
   underflow) go through :func:`refine`: more steps, then bisection on ln s, which needs only
   monotonicity.

Precision: b is evaluated as the difference of two CDF terms; deep out of the money with small s
they nearly cancel (relative error ~ eps |x| / s^2), which limits sigma to ~eps / (s |h|)
relative, far below 1e-10 wherever the price carries information about sigma.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from wheelflow.pricing._inputs import BoolArray, FloatArray

_INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi)

# Initial-guess table: rows are ln|x|, columns are L**(1/4) with L = -ln(b / b_max).
_LNA_MIN, _LNA_MAX, _N_LNA = np.log(1e-7), np.log(30.0), 400
_C_MIN, _C_MAX, _N_C = 1e-6**0.25, 745.0**0.25, 600
_guess_table: FloatArray | None = None

# Bisection range for stragglers, in ln s.
_LN_S_MIN, _LN_S_MAX = np.log(1e-12), np.log(60.0)
CONVERGED_RELATIVE_STEP = 1e-8


def normalised_otm_call(x: FloatArray, s: FloatArray) -> FloatArray:
    """Normalised Black call price b(x, s) for x <= 0 (out of the money); caller sets errstate."""
    h = x / s
    half_s = 0.5 * s
    return np.exp(0.5 * x) * ndtr(h + half_s) - np.exp(-0.5 * x) * ndtr(h - half_s)


def householder_step(
    x: FloatArray,
    s: FloatArray,
    ln_beta: FloatArray,
    exp_half_x: FloatArray,
    exp_minus_half_x: FloatArray,
) -> FloatArray:
    """Fourth-order Householder correction ds for ln b(x, s) = ln beta (x <= 0)."""
    h = x / s
    half_s = 0.5 * s
    b = exp_half_x * ndtr(h + half_s)
    b -= exp_minus_half_x * ndtr(h - half_s)
    h_sq = h * h
    # b' = db/ds = phi(h + s/2) exp(x/2) = exp(-(h^2 + s^2/4)/2) / sqrt(2 pi)
    nu = half_s * half_s
    nu += h_sq
    nu *= -0.5
    np.exp(nu, out=nu)
    nu *= _INV_SQRT_2PI
    nu /= b  # nu = b' / b = g' for g = ln b
    newton = ln_beta - np.log(b)
    newton /= nu
    h_sq /= s
    h2 = h_sq - 0.5 * half_s  # b'' / b' = h^2 / s - s / 4
    h_sq /= s
    h_sq *= -3.0
    h_sq -= 0.25
    h_sq += h2 * h2  # third derivative ratio: (b''/b')^2 - 3 h^2 / s^2 - 1/4
    c = 2.0 * nu
    c -= 3.0 * h2
    c *= nu
    c += h_sq  # g''' / g' = b'''/b' - 3 (b''/b') nu + 2 nu^2
    h2 -= nu  # g'' / g' = b''/b' - nu
    c *= newton
    c *= 1.0 / 6.0
    c += h2
    c *= newton
    c += 1.0  # 1 + n (a + c n / 6)
    h2 *= 0.5 * newton
    h2 += 1.0  # 1 + a n / 2
    h2 *= newton
    h2 /= c
    return h2


def _build_guess_table() -> FloatArray:
    """ln s on the (ln|x|, L**0.25) grid, by inverting b along each row of a fine s grid."""
    ln_a = np.linspace(_LNA_MIN, _LNA_MAX, _N_LNA)
    c_grid = np.linspace(_C_MIN, _C_MAX, _N_C)
    table = np.empty((_N_LNA, _N_C))
    unit = np.linspace(0.0, 1.0, 6000)
    with np.errstate(all="ignore"):
        for row, la in enumerate(ln_a):  # one-off, 400 rows
            a = np.exp(la)
            ln_s = np.log(a / 45.0) + unit * (np.log(60.0) - np.log(a / 45.0))
            b = normalised_otm_call(np.full_like(ln_s, -a), np.exp(ln_s))
            coord = (-(np.log(b) + 0.5 * a)) ** 0.25
            keep = np.isfinite(coord)
            # coord decreases with s; np.interp needs increasing abscissae
            table[row] = np.interp(c_grid, coord[keep][::-1], ln_s[keep][::-1])
        # polish the nodes to machine precision with two Householder steps
        x = -np.exp(ln_a)[:, None] * np.ones((1, _N_C))
        ln_beta = -0.5 * -x - c_grid[None, :] ** 4
        s = np.exp(table)
        for _ in range(2):
            step = householder_step(x, s, ln_beta, np.exp(0.5 * x), np.exp(-0.5 * x))
            s = np.where(np.isfinite(step) & (s + step > 0), s + step, s)
    return np.log(s)


def initial_guess(abs_x: FloatArray, ln_beta_over_max: FloatArray) -> FloatArray:
    """Total volatility guess s0 from the table (bilinear in ln s; four flat gathers)."""
    global _guess_table
    if _guess_table is None:
        _guess_table = _build_guess_table().ravel()
    table = _guess_table
    fi = np.log(np.maximum(abs_x, 1e-7))
    fi -= _LNA_MIN
    fi *= (_N_LNA - 1) / (_LNA_MAX - _LNA_MIN)
    np.clip(fi, 0.0, _N_LNA - 1.000001, out=fi)
    fj = np.sqrt(np.sqrt(-ln_beta_over_max))
    fj -= _C_MIN
    fj *= (_N_C - 1) / (_C_MAX - _C_MIN)
    np.clip(fj, 0.0, _N_C - 1.000001, out=fj)
    i = fi.astype(np.intp)
    j = fj.astype(np.intp)
    fi -= i  # now the weights within the cell
    fj -= j
    flat = i * _N_C
    flat += j
    v00 = table[flat]
    v01 = table[flat + 1]
    flat += _N_C
    v10 = table[flat]
    v11 = table[flat + 1]
    low = v00 + fj * (v01 - v00)
    high = v10 + fj * (v11 - v10)
    return np.exp(low + fi * (high - low))


def solve_total_volatility(
    x: FloatArray, beta: FloatArray, iterations: int = 2
) -> tuple[FloatArray, BoolArray]:
    """Total volatility s with b(x, s) = beta, for x <= 0 and 0 < beta < exp(x/2).

    Robust general-purpose path (guess, ``iterations`` Householder steps, bisection for the
    rest); the chunked engine in :mod:`wheelflow.pricing.implied_vol` uses the same pieces with
    one step and a fused final check. Returns ``(s, converged)``; caller sets ``np.errstate``.
    """
    ln_beta = np.log(beta)
    s = initial_guess(-x, ln_beta - 0.5 * x)
    return refine(x, beta, s, iterations)


def refine(
    x: FloatArray, beta: FloatArray, s: FloatArray, iterations: int = 2
) -> tuple[FloatArray, BoolArray]:
    """``iterations`` Householder steps from ``s``, then bisection where they did not settle."""
    exp_half_x = np.exp(0.5 * x)
    exp_minus_half_x = 1.0 / exp_half_x
    ln_beta = np.log(beta)
    step = np.full_like(s, np.inf)
    for _ in range(iterations):
        step = householder_step(x, s, ln_beta, exp_half_x, exp_minus_half_x)
        s = s + step
    ok = np.isfinite(s) & (s > 0.0) & (np.abs(step) <= CONVERGED_RELATIVE_STEP * s)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        s_bad, ok_bad = _bisect(x[bad], beta[bad])
        s[bad] = s_bad
        ok[bad] = ok_bad
    return s, ok


def _bisect(x: FloatArray, beta: FloatArray, steps: int = 90) -> tuple[FloatArray, BoolArray]:
    """Bracketed fallback: bisection on ln s (b is increasing in s), then one polish step."""
    low = np.full_like(beta, _LN_S_MIN)
    high = np.full_like(beta, _LN_S_MAX)
    for _ in range(steps):
        mid = 0.5 * (low + high)
        above = normalised_otm_call(x, np.exp(mid)) > beta
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    s = np.exp(0.5 * (low + high))
    step = householder_step(x, s, np.log(beta), np.exp(0.5 * x), np.exp(-0.5 * x))
    polished = s + step
    better = np.isfinite(polished) & (np.abs(step) <= 1e-6 * s)
    s = np.where(better, polished, s)
    inside = (low > _LN_S_MIN + 1e-9) & (high < _LN_S_MAX - 1e-9)
    return s, inside
