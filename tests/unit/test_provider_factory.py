"""make_provider builds the configured provider from settings."""

from __future__ import annotations

import pytest

from tests.provider_fakes import FIXTURES
from wheelflow.errors import ProviderAuthError, ProviderError
from wheelflow.providers.alpaca import AlpacaMarketData
from wheelflow.providers.base import MarketDataProvider
from wheelflow.providers.cboe import CboeDelayedQuotes
from wheelflow.providers.factory import make_provider
from wheelflow.providers.files import FileChains
from wheelflow.providers.tradier import PRODUCTION_URL, TradierMarketData
from wheelflow.settings import load_settings


def test_synthetic_is_built_from_seed_and_universe_size() -> None:
    provider = make_provider(load_settings(provider="synthetic", synthetic_universe_size=5))
    assert isinstance(provider, MarketDataProvider)
    assert provider.name == "synthetic"
    assert len(provider.symbols) == 5  # type: ignore[attr-defined]


def test_tradier_production_url_follows_the_sandbox_setting() -> None:
    provider = make_provider(
        load_settings(provider="tradier", tradier_token="t0ken-1234", tradier_sandbox=False)
    )
    assert isinstance(provider, TradierMarketData)
    assert provider.client.base_url == PRODUCTION_URL


def test_alpaca_and_cboe_and_files_are_built() -> None:
    alpaca = make_provider(
        load_settings(provider="alpaca", alpaca_key_id="id-1234", alpaca_secret_key="sec-1234")
    )
    assert isinstance(alpaca, AlpacaMarketData)
    assert isinstance(make_provider(load_settings(provider="cboe")), CboeDelayedQuotes)
    files = make_provider(load_settings(provider="files", files_path=FIXTURES / "files_replay"))
    assert isinstance(files, FileChains)


def test_missing_credentials_name_the_setting() -> None:
    with pytest.raises(ProviderAuthError, match="WHEELFLOW_TRADIER_TOKEN"):
        make_provider(load_settings(provider="tradier", tradier_token=""))
    with pytest.raises(ProviderError, match="WHEELFLOW_FILES_PATH"):
        make_provider(load_settings(provider="files"))
