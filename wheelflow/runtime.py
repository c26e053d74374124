"""Building what a run needs from settings: engine (cached per URL), strategy config, provider.

Flows, the CLI and the API call these so that every entry point resolves settings the same way.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from sqlalchemy import Engine

from wheelflow.db import ensure_schema, make_engine
from wheelflow.pipeline import RunContext
from wheelflow.providers.base import MarketDataProvider
from wheelflow.settings import Settings, get_settings
from wheelflow.strategy.config import StrategyConfig, load_strategy_config

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def engine_for(url: str) -> Engine:
    """One migrated engine per database URL per process."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            ensure_schema(engine)
            _engines[url] = engine
        return engine


def strategy_config(settings: Settings, strategy_file: str | Path | None = None) -> StrategyConfig:
    return load_strategy_config(strategy_file or settings.strategy_file)


def provider_from_settings(settings: Settings) -> MarketDataProvider:
    from wheelflow.providers.factory import make_provider

    return make_provider(settings)


def build_context(
    *,
    database_url: str | None = None,
    strategy_file: str | Path | None = None,
    provider: MarketDataProvider | None = None,
    snapshot_at: dt.datetime | None = None,
    quality_gates: bool = True,
    settings: Settings | None = None,
) -> tuple[RunContext, MarketDataProvider]:
    """Resolve a run's context: explicit arguments win over settings."""
    settings = settings or get_settings()
    provider = provider or provider_from_settings(settings)
    engine = engine_for(database_url or settings.resolved_database_url)
    ctx = RunContext(
        engine=engine,
        settings=settings,
        config=strategy_config(settings, strategy_file),
        snapshot_at=snapshot_at or provider.snapshot_time(),
        provider_name=provider.name,
        quality_gates=quality_gates,
    )
    return ctx, provider
