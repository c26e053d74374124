"""Tasks of the wheel pipeline, one per stage, and ``prefect_steps``: the bundle of them the
pipeline body (``wheelflow.pipeline.body``) runs inside a flow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import exponential_backoff
from sqlalchemy import Engine

from tasks.artifacts import publish_artifacts
from wheelflow import pipeline as stages
from wheelflow.alerts.delivery import deliver_in_process
from wheelflow.pipeline import IngestResult, PipelineSteps, RunContext
from wheelflow.providers.base import ChainFetch, MarketDataProvider
from wheelflow.providers.http import retry_whole_batch
from wheelflow.settings import Settings
from wheelflow.strategy.valuation import MarketContext

# Provider calls: the defaults below; ``prefect_steps`` sets retries and delays from settings
# (WHEELFLOW_TASK_RETRIES, WHEELFLOW_TASK_RETRY_DELAY_SECONDS). Per-request faults (timeouts,
# 5xx, 429) are the HTTP client's to retry (WHEELFLOW_PROVIDER_RETRIES); a task retries only
# what that layer cannot (``retry_whole_batch``).
RETRIES = 1
BACKOFF = exponential_backoff(backoff_factor=10)
JITTER = 0.5


def provider_retry_condition(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    try:
        state.result()
    except Exception as exc:
        return retry_whole_batch(exc)
    return False


# Timeouts live where the waiting happens: every HTTP provider call has one
# (WHEELFLOW_PROVIDER_TIMEOUT_SECONDS); a Prefect timeout cannot interrupt a worker thread.


@task(
    name="ingest-underlyings",
    retries=RETRIES,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=provider_retry_condition,
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
    retry_condition_fn=provider_retry_condition,
    cache_policy=NO_CACHE,
)
def fetch_chain_batch(provider: MarketDataProvider, symbols: Sequence[str]) -> ChainFetch:
    return stages.fetch_chain_batch(provider, symbols)


@task(name="validate-chains", cache_policy=NO_CACHE)
def validate_chains(ctx: RunContext, fetch: ChainFetch, label: str) -> pd.DataFrame:
    return stages.validate_chains(ctx, fetch, label)


@task(name="compute-iv-greeks", cache_policy=NO_CACHE)
def compute_greeks(
    ctx: RunContext, chains: pd.DataFrame, exercise: str, dividends: pd.DataFrame | None = None
) -> pd.DataFrame:
    return stages.compute_greeks(
        chains, ctx.snapshot_at, ctx.settings.risk_free_rate, exercise, dividends
    )


@task(name="validate-and-store-greeks", cache_policy=NO_CACHE)
def validate_and_store_greeks(ctx: RunContext, frame: pd.DataFrame, label: str) -> pd.DataFrame:
    return stages.validate_and_store_greeks(ctx, frame, label)


@task(name="rank-opportunities", cache_policy=NO_CACHE)
def rank_opportunities(
    ctx: RunContext,
    chains: pd.DataFrame,
    cc_cost_basis: dict[str, float],
    csp_symbols: Sequence[str] | None,
    market: MarketContext | None = None,
) -> pd.DataFrame:
    return stages.rank_opportunities(ctx, chains, cc_cost_basis, csp_symbols, market)


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


@task(name="deliver-alerts", cache_policy=NO_CACHE)
def deliver_alerts(engine: Engine, settings: Settings) -> str | None:
    """Send the outbox's due alerts from this process; one line saying where they went (None:
    nothing was due)."""
    report = deliver_in_process(engine, settings)
    if report is None:
        return "alerts: published to RabbitMQ for the `wheelflow notify` workers"
    return report.summary() if report.attempted else None


def prefect_steps(settings: Settings) -> PipelineSteps:
    """The pipeline's steps as Prefect tasks; chain batches fan out with ``submit``."""
    provider_options: dict[str, Any] = {
        "retries": settings.task_retries,
        "retry_delay_seconds": exponential_backoff(settings.task_retry_delay_seconds),
    }
    return PipelineSteps(
        ingest=ingest_underlyings.with_options(**provider_options),
        start_chain_fetch=fetch_chain_batch.with_options(**provider_options).submit,
        validate_chains=validate_chains,
        compute_greeks=compute_greeks,
        store_greeks=validate_and_store_greeks,
        rank=rank_opportunities,
        check_risk=check_risk,
        raise_alerts=raise_alerts,
        publish=lambda ctx, rankings, checks: publish_artifacts(
            ctx.run_id, rankings, checks, ctx.settings.data_dir
        ),
        deliver=lambda ctx: deliver_alerts(ctx.engine, ctx.settings),
    )
