"""Vectorized Black-Scholes-Merton prices and analytical greeks (continuous dividend yield).

Units: ``spot`` and ``strike`` in currency, ``t`` in years (ACT/365), ``r`` and ``q`` continuously
compounded annual rates (0.05 = 5 %), ``sigma`` annualised volatility (0.2 = 20 %).
Greeks follow vollib's analytical conventions: theta per calendar day (/365), vega and rho per
1 percentage point (/100).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from wheelflow.pricing._inputs import BoolArray, FloatArray, as_call_flags, as_float

_INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi)
GREEK_NAMES = ("delta", "gamma", "theta", "vega", "rho")


def price(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Option price per share in currency (arrays broadcast).

    Black-Scholes-Merton with continuous dividend yield (Haug 2007, eq. 1.8).
    ``t == 0`` or ``sigma == 0`` gives the discounted forward intrinsic value; negative ``t`` or
    ``sigma``, non-positive ``spot``/``strike`` and non-finite inputs give NaN. Never warns.
    """
    s, k, tt, rr, qq, vol = (as_float(a) for a in (spot, strike, t, r, q, sigma))
    call = as_call_flags(is_call)
    with np.errstate(all="ignore"):
        # Intrinsic value of the forward plus the out-of-the-money value, as LetsBeRational
        # does (Jaeckel 2015, eq. 2.3): no cancellation for deep in-the-money contracts, and the
        # IV solver inverts exactly this decomposition.
        discount = np.exp(-rr * tt)
        forward = s * np.exp((rr - qq) * tt)
        total_vol = vol * np.sqrt(tt)
        h = -np.abs(np.log(forward / k)) / total_vol
        half = 0.5 * total_vol
        low, high = np.minimum(forward, k), np.maximum(forward, k)
        time_value = low * ndtr(h + half) - high * ndtr(h - half)
        time_value = np.where(total_vol > 0.0, time_value, 0.0)
        itm = (forward > k) == call
        value = discount * (time_value + (high - low) * itm)
        bad = ~((s > 0.0) & (k > 0.0) & (tt >= 0.0) & (vol >= 0.0) & np.isfinite(value))
        bad |= ~(np.isfinite(rr) & np.isfinite(qq) & np.isfinite(vol) & np.isfinite(tt))
        return np.where(bad, np.nan, value)


def greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> dict[str, FloatArray]:
    """European BSM greeks as arrays: delta, gamma, theta (per day), vega and rho (per 1 %).

    Same formulas and scaling as ``vollib.black_scholes_merton.greeks.analytical`` (Hull 2018,
    ch. 19). NaN where ``t <= 0``, ``sigma <= 0`` or any input is invalid. Never warns.
    """
    s, k, tt, rr, qq, vol = (as_float(a) for a in (spot, strike, t, r, q, sigma))
    call = as_call_flags(is_call)
    with np.errstate(all="ignore"):
        sqrt_t = np.sqrt(tt)
        total_vol = vol * sqrt_t
        d1 = (np.log(s / k) + (rr - qq) * tt) / total_vol + 0.5 * total_vol
        return _greeks_from_d1(s, k, tt, rr, qq, vol, call, d1, sqrt_t)


def _greeks_from_d1(
    s: FloatArray,
    k: FloatArray,
    tt: FloatArray,
    rr: FloatArray,
    qq: FloatArray,
    vol: FloatArray,
    call: BoolArray,
    d1: FloatArray,
    sqrt_t: FloatArray,
) -> dict[str, FloatArray]:
    """Greeks given d1 (see :func:`greeks`). Caller sets errstate."""
    sign = np.where(call, 1.0, -1.0)
    total_vol = vol * sqrt_t
    d2 = d1 - total_vol
    dividend_discount = np.exp(-qq * tt)
    discount = np.exp(-rr * tt)
    pdf_d1 = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    cdf_d1 = ndtr(sign * d1)
    cdf_d2 = ndtr(sign * d2)
    spot_pdf = s * dividend_discount * pdf_d1
    strike_pv = k * discount
    out = {
        "delta": sign * dividend_discount * cdf_d1,
        "gamma": dividend_discount * pdf_d1 / (s * total_vol),
        "theta": (
            -spot_pdf * vol / (2.0 * sqrt_t)
            + sign * (qq * s * dividend_discount * cdf_d1 - rr * strike_pv * cdf_d2)
        )
        / 365.0,
        "vega": spot_pdf * sqrt_t * 0.01,
        "rho": sign * tt * strike_pv * cdf_d2 * 0.01,
    }
    bad = ~((s > 0.0) & (k > 0.0) & (tt > 0.0) & (vol > 0.0) & np.isfinite(d1))
    bad |= ~(np.isfinite(rr) & np.isfinite(qq))
    if bad.any():
        out = {name: np.where(bad, np.nan, value) for name, value in out.items()}
    return out
