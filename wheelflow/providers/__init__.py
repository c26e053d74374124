"""Market-data and broker providers. Every provider returns the same typed frames (see ``base``)."""

from __future__ import annotations

from wheelflow.providers.base import (
    BAR_COLUMNS,
    CHAIN_COLUMNS,
    QUOTE_COLUMNS,
    ChainFetch,
    MarketDataProvider,
)

__all__ = [
    "BAR_COLUMNS",
    "CHAIN_COLUMNS",
    "QUOTE_COLUMNS",
    "ChainFetch",
    "MarketDataProvider",
]
