"""Vectorized option pricing: prices, greeks and implied volatility, one API for every model.

NumPy arrays in, NumPy arrays out; scalars broadcast. The models live in subpackages, each with
the same functions (``price``, ``greeks``, ``implied_volatility``, ``iv_and_greeks``):

- :mod:`wheelflow.pricing.black_scholes_merton`: European exercise;
- :mod:`wheelflow.pricing.american`: American exercise.

The functions here pick the model by ``exercise`` ("european" or "american"). Statuses are int8
:class:`IVStatus` codes everywhere (names via :func:`status_names`). Imports point one way:
this module -> models -> ``status`` / ``_inputs``; no model imports this module.
"""

from __future__ import annotations

from types import ModuleType
from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wheelflow.pricing import american, black_scholes_merton
from wheelflow.pricing._inputs import FloatArray
from wheelflow.pricing.black_scholes_merton import GREEK_NAMES
from wheelflow.pricing.dividends import CashDividends, escrow
from wheelflow.pricing.status import STATUS_NAMES, IVStatus, status_names

EXERCISE_STYLES = ("european", "american")

__all__ = [
    "EXERCISE_STYLES",
    "GREEK_NAMES",
    "STATUS_NAMES",
    "CashDividends",
    "IVStatus",
    "greeks",
    "implied_volatility",
    "iv_and_greeks",
    "price",
    "status_names",
]


def _model(exercise: str) -> ModuleType:
    if exercise == "european":
        return black_scholes_merton
    if exercise == "american":
        return american
    raise ValueError(f"exercise must be 'european' or 'american', got {exercise!r}")


def price(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    exercise: str = "european",
    *,
    dividends: CashDividends | None = None,
) -> FloatArray:
    """Option price per share in currency (see the model modules for units and methods).

    ``dividends``: cash dividends (escrowed model, :mod:`wheelflow.pricing.dividends`) on top
    of the continuous yield ``q``.
    """
    if exercise == "american":
        return american.price(spot, strike, t, r, q, sigma, is_call, dividends)
    _model(exercise)
    star = _escrowed_spot(spot, t, r, dividends)
    return black_scholes_merton.price(star, strike, t, r, q, sigma, is_call)


def greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    exercise: str = "european",
    *,
    dividends: CashDividends | None = None,
) -> dict[str, FloatArray]:
    """Delta, gamma, theta (per calendar day), vega and rho (per 1 percentage point)."""
    if exercise == "american":
        return american.greeks(spot, strike, t, r, q, sigma, is_call, dividends)
    _model(exercise)
    star = _escrowed_spot(spot, t, r, dividends)
    out = black_scholes_merton.greeks(star, strike, t, r, q, sigma, is_call)
    return _with_dividend_terms(out, spot, t, r, dividends)


@overload
def implied_volatility(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    exercise: str = ...,
    *,
    tolerance: ArrayLike | None = ...,
    dividends: CashDividends | None = ...,
    return_status: Literal[False] = ...,
) -> FloatArray: ...


@overload
def implied_volatility(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    exercise: str = ...,
    *,
    tolerance: ArrayLike | None = ...,
    dividends: CashDividends | None = ...,
    return_status: Literal[True],
) -> tuple[FloatArray, NDArray[np.int8]]: ...


def implied_volatility(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    exercise: str = "european",
    *,
    tolerance: ArrayLike | None = None,
    dividends: CashDividends | None = None,
    return_status: bool = False,
) -> FloatArray | tuple[FloatArray, NDArray[np.int8]]:
    """Annualised implied volatility per contract; NaN where no volatility fits the price.

    With ``return_status=True`` returns ``(sigma, status)``, status as int8 :class:`IVStatus`
    codes (the same representation as :func:`iv_and_greeks`). ``tolerance`` (currency per
    contract, e.g. half the bid-ask spread): how far below the lowest model value (intrinsic)
    a quote may lie and still be UNDETERMINED rather than BELOW_INTRINSIC (bad data).
    """
    if exercise == "american":
        sigma, codes = american.implied_volatility(
            price, spot, strike, t, r, q, is_call, tolerance, dividends
        )
    else:
        _model(exercise)
        star = _escrowed_spot(spot, t, r, dividends)
        sigma, codes = black_scholes_merton.implied_volatility(
            price, star, strike, t, r, q, is_call, tolerance
        )
    if return_status:
        return sigma, codes
    result: FloatArray = sigma
    return result


def iv_and_greeks(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    exercise: str = "european",
    *,
    tolerance: ArrayLike | None = None,
    dividends: CashDividends | None = None,
) -> dict[str, NDArray[np.float64] | NDArray[np.int8]]:
    """Implied volatility, its status and the greeks at it, in one pass.

    Keys: ``iv``, ``status`` (int8 :class:`IVStatus` codes), ``delta``, ``gamma``, ``theta``
    (per calendar day), ``vega`` and ``rho`` (per 1 percentage point). Greeks are NaN where the
    status is not OK (UNDETERMINED included). ``tolerance`` as in :func:`implied_volatility`.
    """
    if exercise == "american":
        return american.iv_and_greeks(price, spot, strike, t, r, q, is_call, tolerance, dividends)
    _model(exercise)
    star = _escrowed_spot(spot, t, r, dividends)
    result = black_scholes_merton.iv_and_greeks(price, star, strike, t, r, q, is_call, tolerance)
    if dividends is not None:
        greeks_only = {name: np.asarray(result[name], dtype=np.float64) for name in GREEK_NAMES}
        result.update(_with_dividend_terms(greeks_only, spot, t, r, dividends))
    return result


def _escrowed_spot(
    spot: ArrayLike, t: ArrayLike, r: ArrayLike, dividends: CashDividends | None
) -> ArrayLike:
    """S* = S - PV(cash dividends before expiry): the European model's spot."""
    if dividends is None:
        return spot
    s, tt, rr = (
        a.reshape(-1) for a in np.broadcast_arrays(*(np.asarray(x, float) for x in (spot, t, r)))
    )
    shape = np.broadcast(*(np.asarray(x) for x in (spot, t, r))).shape
    return escrow(s, tt, rr, dividends).spot.reshape(shape)


def _with_dividend_terms(
    out: dict[str, FloatArray],
    spot: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    dividends: CashDividends | None,
) -> dict[str, FloatArray]:
    """Theta and rho through S* = S - PV(dividends): the PV grows at r and falls with r."""
    if dividends is None:
        return out
    shape = out["delta"].shape
    arrays = np.broadcast_arrays(*(np.asarray(x, float) for x in (spot, t, r)), out["delta"])
    s, tt, rr = (a.reshape(-1) for a in arrays[:3])
    esc = escrow(s, tt, rr, dividends)
    delta = out["delta"].reshape(-1)
    out = dict(out)
    out["theta"] = (out["theta"].reshape(-1) - delta * rr * esc.pv / 365.0).reshape(shape)
    out["rho"] = (out["rho"].reshape(-1) + delta * esc.pv_times_t * 0.01).reshape(shape)
    return out
