"""Black-Scholes-Merton model (European exercise, continuous dividend yield).

``pricing``: prices and analytical greeks; ``implied_volatility``: the chunked IV solver (with
greeks at the IV in the same pass); ``normalised``: Jaeckel's normalised Black price and the
Householder iteration the solver uses.
"""

from __future__ import annotations

from wheelflow.pricing.black_scholes_merton.implied_volatility import (
    implied_volatility,
    iv_and_greeks,
)
from wheelflow.pricing.black_scholes_merton.pricing import GREEK_NAMES, greeks, price

__all__ = ["GREEK_NAMES", "greeks", "implied_volatility", "iv_and_greeks", "price"]
