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
from wheelflow.pricing.status import STATUS_NAMES, IVStatus, status_names

EXERCISE_STYLES = ("european", "american")

__all__ = [
    "EXERCISE_STYLES",
    "GREEK_NAMES",
    "STATUS_NAMES",
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
) -> FloatArray:
    """Option price per share in currency (see the model modules for units and methods)."""
    result: FloatArray = _model(exercise).price(spot, strike, t, r, q, sigma, is_call)
    return result


def greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    exercise: str = "european",
) -> dict[str, FloatArray]:
    """Delta, gamma, theta (per calendar day), vega and rho (per 1 percentage point)."""
    result: dict[str, FloatArray] = _model(exercise).greeks(spot, strike, t, r, q, sigma, is_call)
    return result


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
    return_status: bool = False,
) -> FloatArray | tuple[FloatArray, NDArray[np.int8]]:
    """Annualised implied volatility per contract; NaN where no volatility fits the price.

    With ``return_status=True`` returns ``(sigma, status)``, status as int8 :class:`IVStatus`
    codes (the same representation as :func:`iv_and_greeks`). ``tolerance`` (currency per
    contract, e.g. half the bid-ask spread): how far below the lowest model value (intrinsic)
    a quote may lie and still be UNDETERMINED rather than BELOW_INTRINSIC (bad data).
    """
    sigma, codes = _model(exercise).implied_volatility(
        price, spot, strike, t, r, q, is_call, tolerance
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
) -> dict[str, NDArray[np.float64] | NDArray[np.int8]]:
    """Implied volatility, its status and the greeks at it, in one pass.

    Keys: ``iv``, ``status`` (int8 :class:`IVStatus` codes), ``delta``, ``gamma``, ``theta``
    (per calendar day), ``vega`` and ``rho`` (per 1 percentage point). Greeks are NaN where the
    status is not OK (UNDETERMINED included). ``tolerance`` as in :func:`implied_volatility`.
    """
    result: dict[str, NDArray[np.float64] | NDArray[np.int8]] = _model(exercise).iv_and_greeks(
        price, spot, strike, t, r, q, is_call, tolerance
    )
    return result
