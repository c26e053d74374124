"""Tasks of the wheel pipeline, one per stage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from wheelflow import pipeline as stages
from wheelflow.pipeline import IngestResult, RunContext
from wheelflow.providers.base import ChainFetch, MarketDataProvider

# Provider calls: the defaults below; flows override retries and delays from settings
# (WHEELFLOW_PROVIDER_RETRIES, WHEELFLOW_PROVIDER_RETRY_DELAY_SECONDS) with ``with_options``.
RETRIES = 3
BACKOFF = exponential_backoff(backoff_factor=2)
JITTER = 0.5
# Timeouts live where the waiting happens: every HTTP provider call has one
# (WHEELFLOW_PROVIDER_TIMEOUT_SECONDS); a Prefect timeout cannot interrupt a worker thread.


@task(
    name="ingest-underlyings",
    retries=RETRIES,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    cache_policy=NO_CACHE,
)
def ingest_underlyings(
    ctx: RunContext, provider: MarketDataProvider, symbols: Sequence[str]
) -> IngestResult:
    return stages.ingest_underlyings(ctx, provider, symbols)


@task(
    name="fetch-chain-batch",
    retries=RETRIES,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    cache_policy=NO_CACHE,
)
def fetch_chain_batch(provider: MarketDataProvider, symbols: Sequence[str]) -> ChainFetch:
    return stages.fetch_chain_batch(provider, symbols)


@task(name="validate-chains", cache_policy=NO_CACHE)
def validate_chains(ctx: RunContext, fetch: ChainFetch, label: str) -> pd.DataFrame:
    return stages.validate_chains(ctx, fetch, label)


@task(name="compute-iv-greeks", cache_policy=NO_CACHE)
def compute_greeks(ctx: RunContext, chains: pd.DataFrame, exercise: str) -> pd.DataFrame:
    return stages.compute_greeks(chains, ctx.snapshot_at, ctx.settings.risk_free_rate, exercise)


@task(name="validate-and-store-greeks", cache_policy=NO_CACHE)
def validate_and_store_greeks(ctx: RunContext, frame: pd.DataFrame, label: str) -> pd.DataFrame:
    return stages.validate_and_store_greeks(ctx, frame, label)


@task(name="rank-opportunities", cache_policy=NO_CACHE)
def rank_opportunities(
    ctx: RunContext,
    chains: pd.DataFrame,
    cc_cost_basis: dict[str, float],
    csp_symbols: Sequence[str] | None,
) -> pd.DataFrame:
    return stages.rank_opportunities(ctx, chains, cc_cost_basis, csp_symbols)


@task(name="check-risk", cache_policy=NO_CACHE)
def check_risk(
    ctx: RunContext, rankings: pd.DataFrame, quotes: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return stages.apply_risk_checks(ctx, rankings, quotes)


@task(name="raise-alerts", cache_policy=NO_CACHE)
def raise_alerts(
    ctx: RunContext,
    rankings: pd.DataFrame,
    checks: pd.DataFrame,
    fetch_failures: dict[str, str],
) -> list[dict[str, Any]]:
    return stages.raise_alerts(ctx, rankings, checks, fetch_failures)
