"""American prices, greeks and implied volatility on whole arrays (see :mod:`.engine`).

Same signatures, units and status codes as :mod:`wheelflow.pricing.black_scholes_merton`:
theta per calendar day, vega and rho per percentage point, int8 :class:`IVStatus` codes.

Discrete cash dividends (``dividends``, :class:`wheelflow.pricing.dividends.CashDividends`)
follow the escrowed model: the engine prices the option on the risky part S* = S - PV(cash
dividends before expiry). A call may also be exercised just before an ex-date, when the
dividend it would lose is worth more than its time value: that choice is the European call on
S* maturing at the ex-date t_i with strike K_i = K - D_i - PV_{t_i}(later dividends) (exact in
the escrowed model), and the American value is the largest of these and the American call on
S* (Black's pseudo-American bound, refined by the continuous-exercise table for the last
period). Puts, which are exercised after ex-dates, take the American put on S*.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wheelflow.pricing._inputs import BoolArray, FloatArray, as_call_flags, as_float
from wheelflow.pricing.american import bjerksund_stensland as fallback
from wheelflow.pricing.american.engine import BETA_MAX, CHUNK, in_table_domain, premium, table
from wheelflow.pricing.black_scholes_merton.implied_volatility import (
    implied_volatility as european_iv,
)
from wheelflow.pricing.black_scholes_merton.pricing import GREEK_NAMES
from wheelflow.pricing.black_scholes_merton.pricing import greeks as european_greeks
from wheelflow.pricing.black_scholes_merton.pricing import price as european_price
from wheelflow.pricing.dividends import CashDividends, escrow
from wheelflow.pricing.status import IVStatus

OK, BELOW_INTRINSIC, ABOVE_UPPER_BOUND, NO_CONVERGENCE, UNDETERMINED = (
    int(IVStatus.OK),
    int(IVStatus.BELOW_INTRINSIC),
    int(IVStatus.ABOVE_UPPER_BOUND),
    int(IVStatus.NO_CONVERGENCE),
    int(IVStatus.UNDETERMINED),
)
NEWTON_STEPS = 16
_CONVERGED = 1e-11  # |price - quote| below this fraction of the put's strike (K, or S for calls)
_CONVERGED_STEP = 1e-6  # or a Newton step below this fraction of sigma (taken: ~1e-12 left)
_INV_SQRT_2PI = 0.3989422804014327
Greeks = dict[str, FloatArray]


@dataclass
class _Branch:
    """Exercise of a call just before an ex-date: a European call on S* (lanes of a chunk)."""

    lanes: NDArray[np.intp]
    strike: FloatArray
    t: FloatArray


@dataclass
class _Contracts:
    """1-D contracts of one chunk: quoted spot ``s``, the spot the engine prices (``s_star``,
    S minus the PV of cash dividends), and the dividend bookkeeping for greeks."""

    s: FloatArray
    k: FloatArray
    t: FloatArray
    r: FloatArray
    q: FloatArray
    call: BoolArray
    s_star: FloatArray
    pv: FloatArray | None = None
    pv_times_t: FloatArray | None = None
    branches: list[_Branch] = field(default_factory=list)

    def take(self, idx: NDArray[np.intp]) -> _Contracts:
        """The contracts at ``idx`` (branches re-indexed)."""
        position = np.full(self.s.size, -1, dtype=np.intp)
        position[idx] = np.arange(idx.size)
        branches = []
        for b in self.branches:
            keep = position[b.lanes] >= 0
            if keep.any():
                branches.append(_Branch(position[b.lanes[keep]], b.strike[keep], b.t[keep]))
        pv = None if self.pv is None else self.pv[idx]
        pvt = None if self.pv_times_t is None else self.pv_times_t[idx]
        s, k, t, r, q, s_star = (
            a[idx] for a in (self.s, self.k, self.t, self.r, self.q, self.s_star)
        )
        return _Contracts(s, k, t, r, q, self.call[idx], s_star, pv, pvt, branches)

    @property
    def exercise_value(self) -> FloatArray:
        return np.where(self.call, self.s - self.k, self.k - self.s)


def _contracts(
    s: FloatArray,
    k: FloatArray,
    t: FloatArray,
    r: FloatArray,
    q: FloatArray,
    call: BoolArray,
    dividends: CashDividends | None,
    rows: tuple[slice, int] | None = None,
) -> _Contracts:
    if dividends is None:
        return _Contracts(s, k, t, r, q, call, s)
    if rows is None:
        times, amounts = dividends.rows(s.size)
    else:  # one chunk of n contracts
        part, n = rows
        times, amounts = (x[part] for x in dividends.rows(n))
    esc = escrow(s, t, r, CashDividends(times, amounts))
    branches = []
    for j in range(times.shape[1]):
        lanes = np.flatnonzero(esc.paid[:, j] & call)
        if not lanes.size:
            continue
        tj = times[lanes, j]
        later_paid = esc.paid[lanes] & (times[lanes] > tj[:, None])
        later = np.where(
            later_paid, amounts[lanes] * np.exp(-r[lanes, None] * (times[lanes] - tj[:, None])), 0
        ).sum(axis=1)
        branches.append(_Branch(lanes, k[lanes] - amounts[lanes, j] - later, tj))
    return _Contracts(s, k, t, r, q, call, esc.spot, esc.pv, esc.pv_times_t, branches)


def _flatten(
    *floats: ArrayLike, is_call: ArrayLike
) -> tuple[tuple[int, ...], list[FloatArray], BoolArray]:
    arrays = np.broadcast_arrays(*(as_float(a) for a in floats), as_call_flags(is_call))
    return (
        arrays[0].shape,
        [a.reshape(-1) for a in arrays[:-1]],
        arrays[-1].reshape(-1).astype(bool),
    )


def _coordinates(
    s: FloatArray,
    k: FloatArray,
    t: FloatArray,
    r: FloatArray,
    q: FloatArray,
    sigma: FloatArray,
    call: BoolArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Put coordinates (x, v, alpha, beta), the scale (strike of the put) and sqrt(t)/sigma.

    A call is the put with spot and strike, r and q swapped: C(S, K, r, q) = P(K, S, q, r).
    """
    sqrt_t = np.sqrt(t)
    per_vol = sqrt_t / sigma
    x = np.log(s / k)
    np.negative(x, out=x, where=call)
    alpha = np.where(call, q, r) * per_vol
    beta = np.where(call, r, q) * per_vol
    return x, sigma * sqrt_t, alpha, beta, np.where(call, s, k), per_vol


def _early(r: FloatArray, q: FloatArray, call: BoolArray) -> BoolArray:
    """Where early exercise can pay without cash dividends: puts r > 0, calls q > 0."""
    return np.where(call, q, r) > 0.0


def _european_branch(c: _Contracts, b: _Branch, vol: FloatArray) -> FloatArray:
    """Value of exercising just before the ex-date: European call on S* (any strike sign)."""
    s, r, q = c.s_star[b.lanes], c.r[b.lanes], c.q[b.lanes]
    strike = np.maximum(b.strike, 1e-12 * c.k[b.lanes])
    value = european_price(s, strike, b.t, r, q, vol[b.lanes], True)
    forward_value = s * np.exp(-q * b.t) - b.strike * np.exp(-r * b.t)
    return np.where(b.strike > 0.0, value, forward_value)


def _value(c: _Contracts, vol: FloatArray, with_vega: bool) -> tuple[FloatArray, FloatArray]:
    """American value (and d value / d sigma) of contracts inside or outside the table."""
    value = european_price(c.s_star, c.k, c.t, c.r, c.q, vol, c.call)
    vega = np.zeros(value.size)
    if with_vega:
        vega = _european_vega(c.s_star, c.k, c.t, c.r, c.q, vol)
    early = _early(c.r, c.q, c.call) & np.isfinite(value) & (c.t > 0.0) & (vol > 0.0)
    if early.any():
        x, v, alpha, beta, scale, _ = _coordinates(c.s_star, c.k, c.t, c.r, c.q, vol, c.call)
        table_lanes = early & in_table_domain(v, alpha, beta)
        idx = np.flatnonzero(table_lanes)
        if idx.size:
            p = premium(x[idx], v[idx], alpha[idx], beta[idx], derivatives=with_vega)
            star_exercise = np.where(
                c.call[idx], c.s_star[idx] - c.k[idx], c.k[idx] - c.s_star[idx]
            )
            # the interpolant may dip a hair below zero where the premium vanishes: clamp
            premium_value = np.maximum(p.value, 0.0)
            value[idx] = np.where(
                p.exercise, star_exercise, value[idx] + scale[idx] * premium_value
            )
            if with_vega:
                d_sigma = (p.d_lnv - alpha[idx] * p.d_alpha - beta[idx] * p.d_beta) / vol[idx]
                vega[idx] = np.where(p.exercise, 0.0, vega[idx] + scale[idx] * d_sigma)
        rest = np.flatnonzero(early & ~table_lanes)
        if rest.size:
            args = (c.s_star[rest], c.k[rest], c.t[rest], c.r[rest], c.q[rest])
            value[rest] = fallback.american_price(*args, vol[rest], c.call[rest])
            if with_vega:
                bumped = fallback.american_price(*args, vol[rest] * (1 + 1e-6), c.call[rest])
                vega[rest] = (bumped - value[rest]) / (1e-6 * vol[rest])
    for b in c.branches:
        branch = _european_branch(c, b, vol)
        better = branch > value[b.lanes]
        value[b.lanes[better]] = branch[better]
        if with_vega and better.any():
            lanes = b.lanes[better]
            vega[lanes] = _european_vega(
                c.s_star[lanes],
                np.maximum(b.strike[better], 1e-300),
                b.t[better],
                c.r[lanes],
                c.q[lanes],
                vol[lanes],
            )
    exercise_now = c.exercise_value
    now = exercise_now > value
    value[now] = exercise_now[now]
    vega[now] = 0.0
    return value, vega


def _european_vega(
    s: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, q: FloatArray, vol: FloatArray
) -> FloatArray:
    """BSM d price / d sigma (per unit sigma)."""
    sqrt_t = np.sqrt(t)
    d1 = (np.log(s / k) + (r - q) * t) / (vol * sqrt_t) + 0.5 * vol * sqrt_t
    return s * np.exp(-q * t - 0.5 * d1 * d1) * sqrt_t * _INV_SQRT_2PI


def _greeks(c: _Contracts, vol: FloatArray) -> Greeks:
    """American greeks (vollib units) of contracts with a valid vol."""
    out = european_greeks(c.s_star, c.k, c.t, c.r, c.q, vol, c.call)
    out = {name: np.array(values, dtype=np.float64) for name, values in out.items()}
    value = european_price(c.s_star, c.k, c.t, c.r, c.q, vol, c.call)
    early = _early(c.r, c.q, c.call) & np.isfinite(out["delta"])
    x, v, alpha, beta, scale, per_vol = _coordinates(c.s_star, c.k, c.t, c.r, c.q, vol, c.call)
    table_lanes = early & in_table_domain(v, alpha, beta)
    idx = np.flatnonzero(table_lanes)
    if idx.size:
        p = premium(x[idx], v[idx], alpha[idx], beta[idx], derivatives=True)
        s, t, call, a, b = (arr[idx] for arr in (c.s_star, c.t, c.call, alpha, beta))
        sc, vv = scale[idx], vol[idx]
        curvature = p.d_xx - p.d_x
        extra = {
            # put: scale K, x = ln(S/K); call: scale S, x = ln(K/S)
            "delta": np.where(call, p.value - p.d_x, sc * p.d_x / s),
            "gamma": np.where(call, curvature / s, sc * curvature / (s * s)),
            "theta": -sc * (p.d_lnv + a * p.d_alpha + b * p.d_beta) / (2.0 * t) / 365.0,
            "vega": sc * (p.d_lnv - a * p.d_alpha - b * p.d_beta) / vv * 0.01,
            "rho": sc * np.where(call, p.d_beta, p.d_alpha) * per_vol[idx] * 0.01,
        }
        sign = np.where(call, 1.0, -1.0)
        for name in GREEK_NAMES:
            total = out[name][idx] + extra[name]
            out[name][idx] = np.where(p.exercise, sign if name == "delta" else 0.0, total)
        star_exercise = sign * (s - c.k[idx])
        value[idx] = np.where(p.exercise, star_exercise, value[idx] + sc * np.maximum(p.value, 0))
    rest = np.flatnonzero(early & ~table_lanes)
    if rest.size:
        args = (c.s_star[rest], c.k[rest], c.t[rest], c.r[rest], c.q[rest], vol[rest])
        slow = fallback.american_greeks(*args, c.call[rest])
        value[rest] = fallback.american_price(*args, c.call[rest])
        for name in GREEK_NAMES:
            out[name][rest] = slow[name]
    for br in c.branches:
        branch = _european_branch(c, br, vol)
        better = branch > value[br.lanes]
        if not better.any():
            continue
        lanes = br.lanes[better]
        value[lanes] = branch[better]
        g = european_greeks(
            c.s_star[lanes],
            np.maximum(br.strike[better], 1e-300),
            br.t[better],
            c.r[lanes],
            c.q[lanes],
            vol[lanes],
            True,
        )
        for name in GREEK_NAMES:
            out[name][lanes] = g[name]
    if c.pv is not None and c.pv_times_t is not None:
        # S* = S - PV(dividends): the PV grows at r as time passes and falls with r
        out["theta"] -= out["delta"] * c.r * c.pv / 365.0
        out["rho"] += out["delta"] * c.pv_times_t * 0.01
    now = c.exercise_value > value
    if now.any():
        out["delta"][now] = np.where(c.call[now], 1.0, -1.0)
        for name in ("gamma", "theta", "vega", "rho"):
            out[name][now] = 0.0
    return out


def price(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    dividends: CashDividends | None = None,
) -> FloatArray:
    """American price per share (arrays broadcast); NaN for invalid inputs, never warns.

    Without cash dividends, where early exercise can never pay (calls with q <= 0, puts with
    r <= 0) this is the European BSM price, exactly. Never below the exercise value.
    """
    shape, (s, k, t_, r_, q_, vol), call = _flatten(spot, strike, t, r, q, sigma, is_call=is_call)
    out = np.empty(s.size)
    with np.errstate(all="ignore"):
        for start in range(0, s.size, CHUNK):
            part = slice(start, start + CHUNK)
            c = _contracts(
                s[part],
                k[part],
                t_[part],
                r_[part],
                q_[part],
                call[part],
                dividends,
                _rows(part, s.size, dividends),
            )
            out[part] = _value(c, vol[part], with_vega=False)[0]
    return out.reshape(shape)


def _rows(part: slice, n: int, dividends: CashDividends | None) -> tuple[slice, int] | None:
    """The chunk ``part`` of ``n`` contracts, for slicing their dividend rows."""
    return None if dividends is None else (part, n)


def greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    dividends: CashDividends | None = None,
) -> Greeks:
    """American greeks: analytical BSM greeks plus the premium interpolant's derivatives.

    Units as :func:`wheelflow.pricing.black_scholes_merton.greeks`. Where exercising now is
    optimal delta is +1 / -1 and the other greeks are zero.
    """
    shape, (s, k, t_, r_, q_, vol), call = _flatten(spot, strike, t, r, q, sigma, is_call=is_call)
    out = {name: np.empty(s.size) for name in GREEK_NAMES}
    with np.errstate(all="ignore"):
        for start in range(0, s.size, CHUNK):
            part = slice(start, start + CHUNK)
            c = _contracts(
                s[part],
                k[part],
                t_[part],
                r_[part],
                q_[part],
                call[part],
                dividends,
                _rows(part, s.size, dividends),
            )
            g = _greeks(c, vol[part])
            for name in GREEK_NAMES:
                out[name][part] = g[name]
    return {name: values.reshape(shape) for name, values in out.items()}


def implied_volatility(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    tolerance: ArrayLike | None = None,
    dividends: CashDividends | None = None,
) -> tuple[FloatArray, NDArray[np.int8]]:
    """American implied volatility and int8 :class:`IVStatus` codes (see :func:`iv_and_greeks`)."""
    result = _solve(price, spot, strike, t, r, q, is_call, tolerance, dividends, with_greeks=False)
    return result["iv"], result["status"]  # type: ignore[return-value]


def iv_and_greeks(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    tolerance: ArrayLike | None = None,
    dividends: CashDividends | None = None,
) -> dict[str, FloatArray | NDArray[np.int8]]:
    """American IV, its status and the greeks at it (keys as the European version).

    Without cash dividends, contracts where early exercise never pays (calls with q <= 0, puts
    with r <= 0) are European and solved as such. The others: a quote at the exercise value
    (exercising now is optimal: any low enough sigma fits), or below the lowest American value
    by at most ``tolerance`` (currency, e.g. half the spread), is UNDETERMINED; further below,
    BELOW_INTRINSIC; at or above the bound (S for a call, K for a put), ABOVE_UPPER_BOUND.
    Otherwise bracketed Newton on the American price from the European IV of the quote (an
    upper bound: the American value is never below the European one), with the interpolant's
    vega; greeks at the solution. Quotes the table cannot reach go to the Bjerksund-Stensland
    solver.
    """
    return _solve(price, spot, strike, t, r, q, is_call, tolerance, dividends, with_greeks=True)


def _solve(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    tolerance: ArrayLike | None,
    dividends: CashDividends | None,
    with_greeks: bool,
) -> dict[str, FloatArray | NDArray[np.int8]]:
    tol_in = 0.0 if tolerance is None else tolerance
    shape, (quote, s, k, t_, r_, q_, tol), call = _flatten(
        price, spot, strike, t, r, q, tol_in, is_call=is_call
    )
    tol = np.maximum(tol, 0.0)
    n = s.size
    sigma = np.empty(n)
    codes = np.empty(n, dtype=np.int8)
    out = {name: np.full(n, np.nan) for name in GREEK_NAMES} if with_greeks else {}
    with np.errstate(all="ignore"):
        for start in range(0, n, CHUNK):
            part = slice(start, start + CHUNK)
            c = _contracts(
                s[part],
                k[part],
                t_[part],
                r_[part],
                q_[part],
                call[part],
                dividends,
                _rows(part, n, dividends),
            )
            _solve_chunk(
                c,
                quote[part],
                tol[part],
                sigma[part],
                codes[part],
                {name: g[part] for name, g in out.items()},
            )
    result: dict[str, FloatArray | NDArray[np.int8]] = {
        "iv": sigma.reshape(shape),
        "status": codes.reshape(shape),
    }
    result.update({name: g.reshape(shape) for name, g in out.items()})
    return result


def _solve_chunk(
    c: _Contracts,
    p: FloatArray,
    tol: FloatArray,
    out_sigma: FloatArray,
    out_codes: NDArray[np.int8],
    out_greeks: Greeks,
) -> None:
    """Solve one chunk in place. Caller sets ``np.errstate(all="ignore")``."""
    sigma_e, codes = european_iv(p, c.s_star, c.k, c.t, c.r, c.q, c.call, tol)
    sigma = sigma_e.copy()
    early = _early(c.r, c.q, c.call)
    for b in c.branches:
        early[b.lanes] = True
    # at the European value for sigma 0 (zero time value of the forward) the American price,
    # never below the European one, can only match at its own floor: no sigma is determined
    flat_floor = early & (codes == OK) & (sigma_e == 0.0)
    solvable = early & np.isin(codes, (OK, BELOW_INTRINSIC, ABOVE_UPPER_BOUND, UNDETERMINED))
    exercise_now = np.maximum(c.exercise_value, 0.0)
    bound = np.where(c.call, c.s, c.k)  # an American call is worth at most S, a put at most K
    codes[solvable] = OK
    codes[solvable & (p >= bound)] = ABOVE_UPPER_BOUND
    at_exercise = solvable & (p <= exercise_now * (1.0 + 4e-16)) & (codes == OK)
    codes[at_exercise] = UNDETERMINED
    codes[at_exercise & (p < exercise_now - tol)] = BELOW_INTRINSIC
    codes[flat_floor & (codes == OK)] = UNDETERMINED
    todo = np.flatnonzero(solvable & (codes == OK))
    if todo.size:
        start = sigma_e[todo]
        start = np.where(np.isfinite(start) & (start > 0.0), start, 1.0)
        sub = c.take(todo)
        solved, sub_codes, slow = _newton(sub, p[todo], tol[todo], start)
        sigma[todo] = solved
        codes[todo] = sub_codes
        if slow.any():  # the table cannot reach the quote: the Bjerksund-Stensland solver
            lanes = todo[slow]
            from wheelflow.pricing.american.bjerksund_stensland_iv import (
                american_implied_volatility,
            )

            sigma[lanes], codes[lanes] = american_implied_volatility(
                p[lanes],
                c.s_star[lanes],
                c.k[lanes],
                c.t[lanes],
                c.r[lanes],
                c.q[lanes],
                c.call[lanes],
                tol[lanes],
            )
    ok = codes == OK
    sigma[~ok] = np.nan
    out_sigma[:] = sigma
    out_codes[:] = codes
    if not out_greeks:
        return
    lanes = np.flatnonzero(ok)
    if lanes.size:
        g = _greeks(c.take(lanes), sigma[lanes])
        for name in GREEK_NAMES:
            out_greeks[name][lanes] = g[name]


def _newton(
    c: _Contracts, p: FloatArray, tol: FloatArray, start: FloatArray
) -> tuple[FloatArray, NDArray[np.int8], BoolArray]:
    """Bracketed Newton on the American price; returns (sigma, codes, needs the fallback)."""
    n = p.size
    sqrt_t = np.sqrt(c.t)
    tab = table()
    v_min, v_max = tab.v_range
    drift_max = min(tab.alpha_max, BETA_MAX)
    # lowest sigma inside the table: v >= v_min and alpha, beta <= their maxima
    sigma_lo = np.maximum(v_min / sqrt_t, np.maximum(c.r, c.q) * sqrt_t / drift_max)
    sigma_lo *= 1.0 + 1e-12
    sigma_cap = v_max / sqrt_t
    lo = sigma_lo.copy()
    hi = np.minimum(np.maximum(start, sigma_lo), sigma_cap)
    sigma = hi.copy()
    codes = np.zeros(n, dtype=np.int8)
    slow = np.zeros(n, dtype=bool)
    done = np.zeros(n, dtype=bool)
    scale = np.where(c.call, c.s, c.k)
    active = np.arange(n)
    sub = c
    for _ in range(NEWTON_STEPS + 1):
        if not active.size:
            break
        a = active
        value, vega = _value(sub, sigma[a], with_vega=True)
        f = value - p[a]
        converged = np.abs(f) <= _CONVERGED * scale[a]
        above = f > 0.0  # sigma too high: keep the bracket
        hi[a] = np.where(above, sigma[a], hi[a])
        lo[a] = np.where(above, lo[a], sigma[a])
        newton_step = f / vega
        candidate = sigma[a] - newton_step
        converged |= np.abs(newton_step) <= _CONVERGED_STEP * sigma[a]
        # every step, since Newton may reach the table's floor late (flat prices):
        # Heading below the table's lowest sigma: if the quote is below the American value
        # there and that value is the exercise value, the quote is undetermined (within the
        # tolerance) or bad data; any other quote the table cannot reach -> fallback.
        check = np.flatnonzero(~converged & ~(candidate > sigma_lo[a]) & ~(lo[a] > sigma_lo[a]))
        if check.size:
            cc = a[check]
            low_value, _ = _value(sub.take(check), sigma_lo[cc], with_vega=False)
            exercise_now = np.maximum(
                np.where(c.call[cc], c.s[cc] - c.k[cc], c.k[cc] - c.s[cc]), 0.0
            )
            too_low = low_value > p[cc]
            floor_is_exercise = low_value <= exercise_now * (1.0 + 1e-9) + 1e-12 * scale[cc]
            # at the model's lowest value (within the tolerance and rounding) no sigma is
            # determined; below the exercise value it is bad data; else the fallback
            near = low_value - p[cc] <= tol[cc] + 1e-12 * scale[cc]
            codes[cc[too_low & near]] = UNDETERMINED
            codes[cc[too_low & ~near & floor_is_exercise]] = BELOW_INTRINSIC
            slow[cc[too_low & ~near & ~floor_is_exercise]] = True
            done[cc[too_low]] = True
        beyond = (f < 0.0) & (sigma[a] >= sigma_cap[a])  # underpriced at the table's top
        slow[a[beyond]] = True
        done[a[beyond]] = True
        converged &= ~done[a]
        # a price flat in sigma (exercise region) determines no volatility
        flat = converged & ~(vega > 0.0)
        codes[a[flat]] = UNDETERMINED
        done[a[converged]] = True
        inside = (candidate > lo[a]) & (candidate < hi[a]) & np.isfinite(candidate)
        midpoint = np.sqrt(lo[a] * hi[a])
        sigma[a] = np.where(inside, candidate, np.where(converged, sigma[a], midpoint))
        keep = ~done[a]
        active = a[keep]
        sub = sub.take(np.flatnonzero(keep))
    codes[active] = NO_CONVERGENCE
    slow[active] = True  # let the fallback try
    return sigma, codes, slow
