"""Vectorized option pricing: Black-Scholes-Merton prices, greeks and implied volatility.

NumPy arrays in, NumPy arrays out; scalars broadcast. See the submodules for units and methods.
"""

from __future__ import annotations

from wheelflow.pricing.black_scholes import GREEK_NAMES, greeks, price
from wheelflow.pricing.implied_vol import (
    STATUS_NAMES,
    IVStatus,
    implied_volatility,
    implied_volatility_status,
    iv_and_greeks,
    status_names,
)

__all__ = [
    "GREEK_NAMES",
    "STATUS_NAMES",
    "IVStatus",
    "greeks",
    "implied_volatility",
    "implied_volatility_status",
    "iv_and_greeks",
    "price",
    "status_names",
]
