"""Tasks of alert delivery and the price watch (thin wrappers over ``wheelflow.alerts``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from tasks.pipeline import BACKOFF, JITTER, RETRIES, provider_retry_condition
from wheelflow.alerts.price_watch import WatchResult, watch_prices
from wheelflow.providers.base import MarketDataProvider
from wheelflow.strategy.config import AlertsConfig


@task(
    name="quote-watched-symbols",
    retries=RETRIES,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=provider_retry_condition,
    cache_policy=NO_CACHE,
)
def quote(provider: MarketDataProvider, symbols: Sequence[str]) -> pd.DataFrame:
    """One batched quotes call for every watched symbol (network: retried)."""
    return provider.quotes(symbols)


@task(name="evaluate-price-rules", cache_policy=NO_CACHE)
def evaluate_price_rules(
    engine: Engine,
    quotes: pd.DataFrame,
    config: AlertsConfig,
    now: dt.datetime,
    session_start: dt.datetime,
    provider: str,
) -> WatchResult:
    return watch_prices(
        engine, quotes, config, now=now, session_start=session_start, provider=provider
    )
