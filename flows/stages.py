"""Each stage of the pipeline as a flow of its own, for operators re-running one step.

Each flow runs the pipeline body's function for its stage (``wheelflow.pipeline.body``) with the
Prefect steps, so batching and the failure policy are the whole pipeline's. Downstream stages
default to the newest stored snapshot and read their inputs from the tables, so e.g.
``rank_opportunities_flow`` can re-rank yesterday's chains under a new strategy file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from prefect import flow, get_run_logger

from tasks.pipeline import prefect_steps
from wheelflow.errors import WheelflowError
from wheelflow.pipeline import (
    ChainsOutcome,
    RunContext,
    alerts_stage,
    chains_stage,
    ingest_stage,
    latest_snapshot,
    load_option_snapshot,
    process_chain_batch,
    rank_stage,
    risk_stage,
    run_failure,
    stored_ingest,
    stored_rankings,
    stored_risk_checks,
    universe,
)
from wheelflow.providers.base import CHAIN_COLUMNS, ChainFetch, MarketDataProvider, conform
from wheelflow.runtime import build_context


def _stored_context(
    table: str,
    snapshot_at: dt.datetime | None,
    database_url: str | None,
    strategy_file: str | None,
) -> RunContext:
    from wheelflow.runtime import engine_for, strategy_config
    from wheelflow.settings import get_settings

    settings = get_settings()
    engine = engine_for(database_url or settings.resolved_database_url)
    snapshot = snapshot_at or latest_snapshot(engine, table)
    if snapshot is None:
        raise WheelflowError(f"no snapshot stored in {table}: run wheel_pipeline first")
    return RunContext(
        engine, settings, strategy_config(settings, strategy_file), snapshot, provider_name="stored"
    )


@flow(name="ingest_underlyings", validate_parameters=False)
def ingest_underlyings_flow(
    snapshot_at: dt.datetime | None = None,
    symbols: Sequence[str] | None = None,
    provider: MarketDataProvider | None = None,
    database_url: str | None = None,
    strategy_file: str | None = None,
) -> dict[str, Any]:
    """Watchlist -> quotes -> quotes gate -> price filter, for one snapshot."""
    ctx, provider = build_context(
        database_url=database_url,
        strategy_file=strategy_file,
        provider=provider,
        snapshot_at=snapshot_at,
    )
    steps = prefect_steps(ctx.settings)
    result = ingest_stage(ctx, provider, universe(ctx, provider, symbols), steps)
    return {
        "snapshot_at": ctx.snapshot_at.isoformat(),
        "quoted": len(result.quotes),
        "csp_symbols": result.csp_symbols,
        "cc_symbols": sorted(result.cc_cost_basis),
    }


@flow(name="fetch_chains", validate_parameters=False)
def fetch_chains_flow(
    snapshot_at: dt.datetime | None = None,
    symbols: Sequence[str] | None = None,
    provider: MarketDataProvider | None = None,
    database_url: str | None = None,
    strategy_file: str | None = None,
) -> dict[str, Any]:
    """Chains of the snapshot's eligible underlyings (or ``symbols``) -> gates -> IV/greeks ->
    ``option_snapshots``. Needs the snapshot's quotes (run ``ingest_underlyings`` first)."""
    ctx, provider = build_context(
        database_url=database_url,
        strategy_file=strategy_file,
        provider=provider,
        snapshot_at=snapshot_at,
    )
    wanted = list(symbols) if symbols else stored_ingest(ctx).chain_symbols
    if not wanted:
        raise WheelflowError(f"no eligible underlyings stored for {ctx.snapshot_at}")
    outcome = chains_stage(ctx, provider, wanted, prefect_steps(ctx.settings))
    failure = run_failure(wanted, outcome)
    if failure is not None:
        raise failure
    return {
        "snapshot_at": ctx.snapshot_at.isoformat(),
        "contracts": outcome.contracts,
        "failures": outcome.fetch_failures,
    }


@flow(name="compute_greeks", validate_parameters=False)
def compute_greeks_flow(
    snapshot_at: dt.datetime | None = None,
    database_url: str | None = None,
    exercise: str = "european",
) -> dict[str, Any]:
    """Recompute IV and greeks of a stored snapshot (e.g. after changing the exercise style)."""
    ctx = _stored_context("option_snapshots", snapshot_at, database_url, None)
    chains = load_option_snapshot(ctx.engine, ctx.snapshot_at)
    stored = process_chain_batch(
        ctx,
        ChainFetch(chains=conform(chains, CHAIN_COLUMNS)),
        "recompute",
        exercise,
        prefect_steps(ctx.settings),
    )
    return {"snapshot_at": ctx.snapshot_at.isoformat(), "contracts": len(stored)}


@flow(name="rank_opportunities", validate_parameters=False)
def rank_opportunities_flow(
    snapshot_at: dt.datetime | None = None,
    database_url: str | None = None,
    strategy_file: str | None = None,
) -> dict[str, Any]:
    """Rank a stored snapshot's chains (and risk-check them, since rankings carry the blocks)."""
    ctx = _stored_context("option_snapshots", snapshot_at, database_url, strategy_file)
    steps = prefect_steps(ctx.settings)
    ingest = stored_ingest(ctx)
    chains = load_option_snapshot(ctx.engine, ctx.snapshot_at)
    ranked, refused = rank_stage(ctx, chains, ingest, steps)
    failure = run_failure([], ChainsOutcome(), refused)
    if failure is not None:
        raise failure
    ranked, _ = risk_stage(ctx, ranked, ingest.quotes, steps)
    return {"snapshot_at": ctx.snapshot_at.isoformat(), "rankings": len(ranked)}


@flow(name="check_risk", validate_parameters=False)
def check_risk_flow(
    snapshot_at: dt.datetime | None = None,
    database_url: str | None = None,
    strategy_file: str | None = None,
) -> dict[str, Any]:
    """Re-check a snapshot's stored rankings against the current positions and limits."""
    ctx = _stored_context("rankings", snapshot_at, database_url, strategy_file)
    _, checks = risk_stage(
        ctx,
        stored_rankings(ctx.engine, ctx.snapshot_at),
        stored_ingest(ctx).quotes,
        prefect_steps(ctx.settings),
    )
    breaches = int((~checks["passed"].astype(bool)).sum())
    get_run_logger().info("%d checks, %d breaches", len(checks), breaches)
    return {"snapshot_at": ctx.snapshot_at.isoformat(), "checks": len(checks), "breaches": breaches}


@flow(name="send_alerts", validate_parameters=False)
def send_alerts_flow(
    snapshot_at: dt.datetime | None = None,
    database_url: str | None = None,
    strategy_file: str | None = None,
) -> dict[str, Any]:
    """Alert on a stored snapshot's top candidates and risk breaches (de-duplicated)."""
    ctx = _stored_context("rankings", snapshot_at, database_url, strategy_file)
    alerts = alerts_stage(
        ctx,
        stored_rankings(ctx.engine, ctx.snapshot_at),
        stored_risk_checks(ctx.engine, ctx.snapshot_at),
        {},
        prefect_steps(ctx.settings),
    )
    return {"snapshot_at": ctx.snapshot_at.isoformat(), "new_alerts": len(alerts)}
