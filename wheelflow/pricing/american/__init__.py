"""American exercise (Bjerksund-Stensland 2002 for now): prices, greeks, implied volatility."""

from __future__ import annotations

from wheelflow.pricing.american.bjerksund_stensland import american_greeks as greeks
from wheelflow.pricing.american.bjerksund_stensland import american_price as price
from wheelflow.pricing.american.implied_volatility import american_implied_volatility, iv_and_greeks

implied_volatility = american_implied_volatility

__all__ = ["greeks", "implied_volatility", "iv_and_greeks", "price"]
