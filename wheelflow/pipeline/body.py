"""The pipeline body: the stage sequence, batching, failure policy and run bookkeeping, once.

Every entry point runs this body and differs only in the ``PipelineSteps`` it hands over: the
Prefect flow (``flows/pipeline.py``) gives Prefect tasks, ``run_pipeline`` gives plain calls, and
each stage flow (``flows/stages.py``) calls the body's function for its stage.

Crash safety: readers serve only snapshots whose run completed (``finish_run`` flips the status
in one transaction); the run's row carries a heartbeat refreshed after every stage and batch, and
a run whose process died is marked crashed (its partial rows removed) by the next run.

Failure policy (README, "The pipeline"):
- a batch whose chain fetch fails after its retries is recorded per symbol
  (``pipeline_runs.details.chain_failures``) with an alert, and the run goes on;
- a batch refused by a data-quality gate is quarantined with its reasons and the run goes on,
  then ends failed (``details.gate_failures``);
- a run in which every chain fetch failed ends failed with the provider's error as its message;
- anything else raised (the quotes gate, a bug) ends the run failed with that error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from wheelflow import progress
from wheelflow.errors import DataQualityError, ProviderError, WheelflowError
from wheelflow.pipeline.chains import batch_label, batches, exercise_style
from wheelflow.pipeline.ingest import default_symbols, watchlist_symbols
from wheelflow.pipeline.run import (
    IngestResult,
    PipelineResult,
    RunContext,
    finish_run,
    heartbeat,
    mark_stale_runs_crashed,
    start_run,
)
from wheelflow.pipeline.steps import PLAIN_STEPS, PipelineSteps
from wheelflow.providers.base import ChainFetch, MarketDataProvider
from wheelflow.settings import Settings
from wheelflow.strategy.config import StrategyConfig

logger = logging.getLogger(__name__)

# The keys of ``pipeline_runs.stage_seconds``, whichever steps ran (0.0 for a stage not reached).
# ``fetch_chains`` is the time spent waiting for fetches (they run ahead, concurrently under
# Prefect); the chains' processing is split into validate, greeks and store.
STAGE_KEYS = (
    "ingest",
    "fetch_chains",
    "validate_chains",
    "greeks",
    "store_chains",
    "rank",
    "risk",
    "alerts",
)


class StageClock:
    """Wall seconds per stage, accumulated over batches."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STAGE_KEYS, 0.0)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


@dataclass
class ChainsOutcome:
    """What the chains stage stored and what it could not, per batch."""

    stored: list[pd.DataFrame] = field(default_factory=list)
    fetch_failures: dict[str, str] = field(default_factory=dict)  # symbol -> provider error
    gate_failures: list[str] = field(default_factory=list)
    provider_retries: int = 0

    @property
    def contracts(self) -> int:
        return int(sum(len(frame) for frame in self.stored))

    def frame(self) -> pd.DataFrame:
        return pd.concat(self.stored, ignore_index=True) if self.stored else pd.DataFrame()


def run_failure(
    symbols: Sequence[str],
    outcome: ChainsOutcome,
    gate_failures: Sequence[str] = (),
) -> WheelflowError | None:
    """The error a run (or the chains stage) ends with, naming the cause; None if it passed."""
    if symbols and outcome.contracts == 0 and set(symbols) <= set(outcome.fetch_failures):
        first = sorted(symbols)[0]
        return ProviderError(
            f"no chain could be fetched for any of {len(symbols)} underlying(s); "
            f"{first}: {outcome.fetch_failures[first]}",
            retryable=False,
        )
    refused = [*outcome.gate_failures, *gate_failures]
    if refused:
        return DataQualityError(
            f"{len(refused)} batch(es) refused by data-quality gates: " + "; ".join(refused)
        )
    return None


# --------------------------------------------------------------------------- the stages


def universe(
    ctx: RunContext, provider: MarketDataProvider, symbols: Sequence[str] | None
) -> list[str]:
    """``symbols`` if given, else the active watchlist (seeded from the provider's universe)."""
    return list(symbols) if symbols else watchlist_symbols(ctx.engine, default_symbols(provider))


def ingest_stage(
    ctx: RunContext, provider: MarketDataProvider, symbols: Sequence[str], steps: PipelineSteps
) -> IngestResult:
    progress.report("ingest underlyings")
    ingest = steps.ingest(ctx, provider, symbols)
    logger.info(
        "%d underlyings quoted, %d in the price window, %d with stock for covered calls",
        len(ingest.quotes),
        len(ingest.csp_symbols),
        len(ingest.cc_cost_basis),
    )
    return ingest


def process_chain_batch(
    ctx: RunContext,
    fetch: ChainFetch,
    label: str,
    exercise: str,
    steps: PipelineSteps,
    clock: StageClock | None = None,
) -> pd.DataFrame:
    """One fetched batch: chains gate -> IV and greeks -> greeks gate + store. Returns the stored
    rows; raises ``DataQualityError`` when a gate refuses the batch (already recorded)."""
    clock = clock or StageClock()
    with clock.timed("validate_chains"):
        chains = steps.validate_chains(ctx, fetch, label)
    with clock.timed("greeks"):
        with_greeks = steps.compute_greeks(ctx, chains, exercise, fetch.dividends)
    with clock.timed("store_chains"):
        return steps.store_greeks(ctx, with_greeks, label)


def chains_stage(
    ctx: RunContext,
    provider: MarketDataProvider,
    symbols: Sequence[str],
    steps: PipelineSteps,
    clock: StageClock | None = None,
) -> ChainsOutcome:
    """Chains of ``symbols`` in batches: every fetch is started first (Prefect runs them
    concurrently), then each batch is gated, priced and stored as it arrives."""
    clock = clock or StageClock()
    groups = batches(symbols, ctx.settings.chain_batch_size)
    pending = [steps.start_chain_fetch(provider, group) for group in groups]
    exercise = exercise_style(provider, ctx.settings)
    outcome = ChainsOutcome()
    for i, (group, started) in enumerate(zip(groups, pending, strict=True)):
        progress.report("fetch chains, IV and greeks", i, len(groups))
        label = batch_label(group)
        try:
            with clock.timed("fetch_chains"):
                fetch = started.result()
        except Exception as exc:  # retries exhausted: record, alert (later), go on
            cause = f"{type(exc).__name__}: {exc}"
            logger.warning("chain batch %s failed after retries: %s", label, cause)
            outcome.fetch_failures.update(dict.fromkeys(group, cause))
            continue
        outcome.fetch_failures.update(fetch.failures)
        outcome.provider_retries += fetch.retries
        if fetch.chains.empty and fetch.failures:
            continue  # the provider failed, not the data: nothing for the gate to refuse
        try:
            outcome.stored.append(process_chain_batch(ctx, fetch, label, exercise, steps, clock))
        except DataQualityError as exc:
            outcome.gate_failures.append(str(exc))
        heartbeat(ctx)
    progress.report("fetch chains, IV and greeks", len(groups), len(groups))
    return outcome


def rank_stage(
    ctx: RunContext, chains: pd.DataFrame, ingest: IngestResult, steps: PipelineSteps
) -> tuple[pd.DataFrame, list[str]]:
    """Ranked candidates (the rankings gate applied) and the gate's refusal, if any."""
    progress.report("rank opportunities")
    if chains.empty:
        return empty_rankings(), []
    try:
        ranked = steps.rank(ctx, chains, ingest.cc_cost_basis, ingest.csp_symbols, ingest.market)
        return ranked, []
    except DataQualityError as exc:
        return empty_rankings(), [str(exc)]


def risk_stage(
    ctx: RunContext, ranked: pd.DataFrame, quotes: pd.DataFrame | None, steps: PipelineSteps
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Risk-check the candidates and store them with their blocks; publish both."""
    progress.report("risk check")
    ranked, checks = steps.check_risk(ctx, ranked, quotes)
    steps.publish(ctx, ranked, checks)
    return ranked, checks


def alerts_stage(
    ctx: RunContext,
    ranked: pd.DataFrame,
    checks: pd.DataFrame,
    fetch_failures: dict[str, str],
    steps: PipelineSteps,
) -> list[dict[str, Any]]:
    progress.report("alerts")
    return steps.raise_alerts(ctx, ranked, checks, fetch_failures)


def empty_rankings() -> pd.DataFrame:
    from wheelflow.strategy.screening import RANKING_COLUMNS

    return pd.DataFrame(columns=list(RANKING_COLUMNS))


# --------------------------------------------------------------------------- the whole run


@contextmanager
def recorded_run(
    ctx: RunContext, clock: StageClock, flow_run_id: str | None = None
) -> Iterator[None]:
    """The run's ``pipeline_runs`` record: running on entry; failed, with the error, if the
    block raises (the block itself closes a run that ends normally). Runs of dead processes
    (stale heartbeat) are marked crashed first."""
    for crashed in mark_stale_runs_crashed(ctx.engine, ctx.settings.run_stale_seconds):
        logger.warning("run %s: %s", crashed.run_id, crashed.cause)
    start_run(ctx, prefect_flow_run_id=flow_run_id)
    try:
        yield
    except BaseException as exc:
        finish_run(ctx, "failed", stage_seconds=clock.seconds, error=f"{type(exc).__name__}: {exc}")
        raise


def run_wheel_pipeline(
    ctx: RunContext,
    provider: MarketDataProvider,
    steps: PipelineSteps,
    symbols: Sequence[str] | None = None,
    *,
    flow_run_id: str | None = None,
) -> PipelineResult:
    """Every stage once, in order, for one snapshot; the run is recorded in ``pipeline_runs``.

    Returns the result even when the run ended failed (``status``); ``result.failure`` is then
    the error naming the cause, which the Prefect flow raises to end Failed.
    """
    clock = StageClock()
    with recorded_run(ctx, clock, flow_run_id):
        with clock.timed("ingest"):
            ingest = ingest_stage(ctx, provider, universe(ctx, provider, symbols), steps)
        heartbeat(ctx)
        chains = chains_stage(ctx, provider, ingest.chain_symbols, steps, clock)
        with clock.timed("rank"):
            ranked, rank_refused = rank_stage(ctx, chains.frame(), ingest, steps)
        heartbeat(ctx)
        with clock.timed("risk"):
            ranked, checks = risk_stage(ctx, ranked, ingest.quotes, steps)
        heartbeat(ctx)
        with clock.timed("alerts"):
            alerts = alerts_stage(ctx, ranked, checks, chains.fetch_failures, steps)
        failure = run_failure(ingest.chain_symbols, chains, rank_refused)
        result = PipelineResult(
            run_id=ctx.run_id,
            snapshot_at=ctx.snapshot_at,
            status="failed" if failure else "completed",
            rankings=ranked,
            risk_checks=checks,
            alerts=alerts,
            counts={
                "underlyings": len(ingest.chain_symbols),
                "contracts": chains.contracts,
                "rankings": len(ranked),
            },
            stage_seconds=clock.seconds,
            failures=[*chains.gate_failures, *rank_refused],
            fetch_failures=chains.fetch_failures,
            provider_retries=chains.provider_retries,
            failure=failure,
        )
        finish_run(
            ctx,
            result.status,
            counts=result.counts,
            stage_seconds=result.stage_seconds,
            details=result.details,
            error=result.error,
        )
    result.delivery = steps.deliver(ctx)
    progress.report("done", 1, 1)
    return result


def run_pipeline(
    engine: Engine,
    provider: MarketDataProvider,
    config: StrategyConfig,
    settings: Settings,
    snapshot_at: Any = None,
    symbols: Sequence[str] | None = None,
    *,
    quality_gates: bool = True,
    steps: PipelineSteps = PLAIN_STEPS,
) -> PipelineResult:
    """The body with plain steps, without Prefect (simulations, scripts, benchmarks)."""
    ctx = RunContext(
        engine,
        settings,
        config,
        snapshot_at or provider.snapshot_time(),
        provider.name,
        quality_gates=quality_gates,
    )
    return run_wheel_pipeline(ctx, provider, steps, symbols)
