"""American exercise: prices, greeks and implied volatility at European speed.

``engine``: the interpolated early-exercise premium (table in ``data/``, built by
``scripts/build_american_table.py``); ``pricing``: the public functions on whole arrays;
``bjerksund_stensland`` and ``implied_volatility``: the Bjerksund-Stensland (2002) closed form
and its solver, the fallback outside the table's domain.
"""

from __future__ import annotations

from wheelflow.pricing.american.pricing import greeks, implied_volatility, iv_and_greeks, price

__all__ = ["greeks", "implied_volatility", "iv_and_greeks", "price"]
