"""``run_pipeline``: every stage once, in order, without Prefect."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Engine

from wheelflow.errors import DataQualityError
from wheelflow.pipeline.chains import (
    batch_label,
    batches,
    compute_greeks,
    exercise_style,
    fetch_chain_batch,
    validate_and_store_greeks,
    validate_chains,
)
from wheelflow.pipeline.decide import apply_risk_checks, raise_alerts, rank_opportunities
from wheelflow.pipeline.ingest import default_symbols, ingest_underlyings, watchlist_symbols
from wheelflow.pipeline.run import PipelineResult, RunContext, finish_run, start_run
from wheelflow.providers.base import MarketDataProvider
from wheelflow.settings import Settings
from wheelflow.strategy.config import StrategyConfig


def run_pipeline(
    engine: Engine,
    provider: MarketDataProvider,
    config: StrategyConfig,
    settings: Settings,
    snapshot_at: dt.datetime | None = None,
    symbols: Sequence[str] | None = None,
    *,
    quality_gates: bool = True,
) -> PipelineResult:
    """Every stage once, in order, without Prefect (simulations and scripts).

    A batch refused by a gate is recorded and skipped; the result's ``status`` is then
    ``failed`` with the reasons in ``failures`` (the Prefect flow turns that into a Failed run).
    """
    ctx = RunContext(
        engine,
        settings,
        config,
        snapshot_at or provider.snapshot_time(),
        provider.name,
        quality_gates=quality_gates,
    )
    timings: dict[str, float] = {}
    failures: list[str] = []
    start_run(ctx)
    try:
        t0 = time.perf_counter()
        universe = (
            list(symbols) if symbols else watchlist_symbols(engine, default_symbols(provider))
        )
        ingest = ingest_underlyings(ctx, provider, universe)
        timings["ingest"] = time.perf_counter() - t0

        good_frames: list[pd.DataFrame] = []
        fetch_failures: dict[str, str] = {}
        retries = 0
        for batch in batches(ingest.chain_symbols, settings.chain_batch_size):
            t0 = time.perf_counter()
            fetch = fetch_chain_batch(provider, batch)
            fetch_failures.update(fetch.failures)
            retries += fetch.retries
            timings["fetch_chains"] = timings.get("fetch_chains", 0) + time.perf_counter() - t0
            try:
                t0 = time.perf_counter()
                chains = validate_chains(ctx, fetch, batch_label(batch))
                timings["validate_chains"] = (
                    timings.get("validate_chains", 0) + time.perf_counter() - t0
                )
                t0 = time.perf_counter()
                with_greeks = compute_greeks(
                    chains,
                    ctx.snapshot_at,
                    settings.risk_free_rate,
                    exercise_style(provider, settings),
                )
                timings["greeks"] = timings.get("greeks", 0) + time.perf_counter() - t0
                t0 = time.perf_counter()
                good_frames.append(validate_and_store_greeks(ctx, with_greeks, batch_label(batch)))
                timings["store_chains"] = timings.get("store_chains", 0) + time.perf_counter() - t0
            except DataQualityError as exc:
                failures.append(str(exc))
        chains_all = pd.concat(good_frames, ignore_index=True) if good_frames else pd.DataFrame()
        t0 = time.perf_counter()
        ranked = (
            rank_opportunities(ctx, chains_all, ingest.cc_cost_basis, ingest.csp_symbols)
            if len(chains_all)
            else pd.DataFrame()
        )
        timings["rank"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ranked, checks = apply_risk_checks(
            ctx, ranked if len(ranked) else _empty_rankings(), ingest.quotes
        )
        timings["risk"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        alerts = raise_alerts(ctx, ranked, checks, fetch_failures)
        timings["alerts"] = time.perf_counter() - t0
        counts = {
            "underlyings": len(ingest.chain_symbols),
            "contracts": int(sum(map(len, good_frames))),
            "rankings": len(ranked),
        }
        status = "failed" if failures else "completed"
        finish_run(
            ctx,
            status,
            counts=counts,
            stage_seconds=timings,
            details={
                "provider_retries": retries,
                "chain_failures": fetch_failures,
                "gate_failures": failures,
            },
            error="; ".join(failures) or None,
        )
        return PipelineResult(
            ctx.run_id, ctx.snapshot_at, status, ranked, checks, alerts, counts, timings, failures
        )
    except Exception as exc:
        finish_run(ctx, "failed", stage_seconds=timings, error=f"{type(exc).__name__}: {exc}")
        raise


def _empty_rankings() -> pd.DataFrame:
    from wheelflow.strategy.screening import RANKING_COLUMNS

    return pd.DataFrame(columns=list(RANKING_COLUMNS))
