"""``make_provider``: the configured market-data provider (``WHEELFLOW_PROVIDER``)."""

from __future__ import annotations

import httpx

from wheelflow.errors import ConfigError
from wheelflow.providers.base import MarketDataProvider
from wheelflow.settings import Settings

PROVIDERS = ("synthetic", "tradier", "alpaca", "cboe", "files")


def make_provider(
    settings: Settings, *, transport: httpx.MockTransport | None = None
) -> MarketDataProvider:
    """Build the provider named by ``settings.provider`` from its settings.

    Adapters are imported lazily so the synthetic default never loads HTTP code. ``transport``
    replaces the network of the HTTP providers (tests). Missing credentials raise
    ``ProviderAuthError`` naming the setting; an unknown name raises ``ConfigError``.
    """
    name = settings.provider
    if name == "synthetic":
        from wheelflow.providers.synthetic import SyntheticMarket

        return SyntheticMarket(
            seed=settings.synthetic_seed, universe_size=settings.synthetic_universe_size
        )
    if name == "tradier":
        from wheelflow.providers.tradier import TradierMarketData

        return TradierMarketData.from_settings(settings, transport)
    if name == "alpaca":
        from wheelflow.providers.alpaca import AlpacaMarketData

        return AlpacaMarketData.from_settings(settings, transport)
    if name == "cboe":
        from wheelflow.providers.cboe import CboeDelayedQuotes

        return CboeDelayedQuotes.from_settings(settings, transport)
    if name == "files":
        from wheelflow.providers.files import FileChains

        return FileChains.from_settings(settings)
    raise ConfigError(
        f"WHEELFLOW_PROVIDER: unknown provider {name!r}; one of {', '.join(PROVIDERS)}"
    )
