"""``wheel_pipeline``: the main DAG, run once per market snapshot.

ingest underlyings -> fetch chains (batches, retried) -> chains gate -> IV and greeks ->
greeks gate + store -> rank CSP/CC -> rankings gate -> risk check -> alerts -> artifacts.

A batch refused by a gate is recorded (quality result, alert) and skipped; the other batches go
on, and the run ends Failed so operators see it. A batch whose fetch fails after its retries is
recorded as a fetch failure with an alert; the run goes on for the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff

from tasks import pipeline as t
from tasks.artifacts import publish_artifacts
from wheelflow import progress
from wheelflow.errors import DataQualityError
from wheelflow.pipeline import (
    batch_label,
    batches,
    default_symbols,
    exercise_style,
    finish_run,
    start_run,
    watchlist_symbols,
)
from wheelflow.providers.base import MarketDataProvider
from wheelflow.runtime import build_context
from wheelflow.strategy.screening import RANKING_COLUMNS


@flow(name="wheel_pipeline", validate_parameters=False)
def wheel_pipeline(
    snapshot_at: dt.datetime | None = None,
    provider: MarketDataProvider | None = None,
    database_url: str | None = None,
    strategy_file: str | None = None,
    symbols: Sequence[str] | None = None,
    quality_gates: bool = True,
) -> dict[str, Any]:
    """Run the whole pipeline once for one snapshot; returns the run's summary."""
    logger = get_run_logger()
    ctx, provider = build_context(
        database_url=database_url,
        strategy_file=strategy_file,
        provider=provider,
        snapshot_at=snapshot_at,
        quality_gates=quality_gates,
    )
    start_run(ctx, prefect_flow_run_id=str(flow_run.id) if flow_run.id else None)
    timings: dict[str, float] = {}
    finished = False
    try:
        progress.report("ingest underlyings")
        universe = (
            list(symbols) if symbols else watchlist_symbols(ctx.engine, default_symbols(provider))
        )
        clock = dt.datetime.now()
        ingest = t.ingest_underlyings.with_options(
            retries=ctx.settings.provider_retries,
            retry_delay_seconds=exponential_backoff(ctx.settings.provider_retry_delay_seconds),
        )(ctx, provider, universe)
        timings["ingest"] = _since(clock)
        logger.info(
            "%d underlyings quoted, %d in the price window, %d with stock for covered calls",
            len(ingest.quotes),
            len(ingest.csp_symbols),
            len(ingest.cc_cost_basis),
        )

        groups = batches(ingest.chain_symbols, ctx.settings.chain_batch_size)
        clock = dt.datetime.now()
        fetch_task = t.fetch_chain_batch.with_options(
            retries=ctx.settings.provider_retries,
            retry_delay_seconds=exponential_backoff(ctx.settings.provider_retry_delay_seconds),
        )
        futures = [fetch_task.submit(provider, group) for group in groups]
        exercise = exercise_style(provider, ctx.settings)
        fetch_failures: dict[str, str] = {}
        gate_failures: list[str] = []
        provider_retries = 0
        stored: list[pd.DataFrame] = []
        for i, (group, future) in enumerate(zip(groups, futures, strict=True)):
            progress.report("fetch chains, IV and greeks", i, len(groups))
            label = batch_label(group)
            try:
                fetch = future.result()
            except Exception as exc:  # retries exhausted: record, alert, go on with the rest
                logger.error("chain batch %s failed after retries: %s", label, exc)
                fetch_failures.update({s: f"{type(exc).__name__}: {exc}" for s in group})
                continue
            fetch_failures.update(fetch.failures)
            provider_retries += fetch.retries
            try:
                chains = t.validate_chains(ctx, fetch, label)
                with_greeks = t.compute_greeks(ctx, chains, exercise)
                stored.append(t.validate_and_store_greeks(ctx, with_greeks, label))
            except DataQualityError as exc:
                gate_failures.append(str(exc))
        progress.report("fetch chains, IV and greeks", len(groups), len(groups))
        timings["chains_iv_greeks"] = _since(clock)

        progress.report("rank opportunities")
        clock = dt.datetime.now()
        chains_all = pd.concat(stored, ignore_index=True) if stored else pd.DataFrame()
        ranked = (
            t.rank_opportunities(ctx, chains_all, ingest.cc_cost_basis, ingest.csp_symbols)
            if len(chains_all)
            else pd.DataFrame(columns=list(RANKING_COLUMNS))
        )
        timings["rank"] = _since(clock)

        progress.report("risk check")
        clock = dt.datetime.now()
        ranked, checks = t.check_risk(ctx, ranked, ingest.quotes)
        timings["risk"] = _since(clock)

        progress.report("alerts")
        clock = dt.datetime.now()
        alerts = t.raise_alerts(ctx, ranked, checks, fetch_failures)
        publish_artifacts(ctx.run_id, ranked, checks)
        timings["alerts"] = _since(clock)

        counts = {
            "underlyings": len(ingest.chain_symbols),
            "contracts": int(sum(len(f) for f in stored)),
            "rankings": len(ranked),
        }
        status = "failed" if gate_failures else "completed"
        finish_run(
            ctx,
            status,
            counts=counts,
            stage_seconds=timings,
            details={
                "provider_retries": provider_retries,
                "chain_failures": fetch_failures,
                "gate_failures": gate_failures,
                "new_alerts": len(alerts),
            },
            error="; ".join(gate_failures) or None,
        )
        finished = True
        progress.report("done", 1, 1)
        if gate_failures:
            raise DataQualityError(
                f"{len(gate_failures)} batch(es) refused by data-quality gates: "
                + "; ".join(gate_failures)
            )
        return {
            "run_id": ctx.run_id,
            "snapshot_at": ctx.snapshot_at.isoformat(),
            **counts,
            "stage_seconds": timings,
            "fetch_failures": fetch_failures,
            "new_alerts": len(alerts),
        }
    except Exception as exc:
        if not finished:
            finish_run(ctx, "failed", stage_seconds=timings, error=f"{type(exc).__name__}: {exc}")
        raise


def _since(start: dt.datetime) -> float:
    return (dt.datetime.now() - start).total_seconds()
