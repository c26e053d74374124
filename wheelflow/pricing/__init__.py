"""Vectorized option pricing: Black-Scholes-Merton prices, greeks and implied volatility.

NumPy arrays in, NumPy arrays out; scalars broadcast. See the submodules for units.
"""

from __future__ import annotations

from wheelflow.pricing.black_scholes import GREEK_NAMES, greeks, price

__all__ = ["GREEK_NAMES", "greeks", "price"]
