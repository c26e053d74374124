"""The wheel pipeline: its stages as plain functions and the one body that orders them.

Each stage computes over whole batches, passes its output through a data-quality gate and
writes its tables in one transaction. ``body`` runs the stage sequence, batching, failure policy
and run bookkeeping once, through a ``PipelineSteps`` bundle: plain calls (``run_pipeline``:
simulations, scripts) or Prefect tasks (``tasks.pipeline.prefect_steps``: the flows).

Stages: ingest underlyings (watchlist -> quotes -> price filter) -> fetch chains (per batch of
symbols) -> validate chains -> IV and greeks -> validate greeks and store -> rank CSP and CC ->
validate rankings -> risk check (blocks candidates) -> alerts.

Modules: ``run`` (context, run records), ``gates``, ``ingest``, ``chains`` (fetch, IV/greeks,
store), ``decide`` (rank, risk, alerts), ``steps`` (the steps interface, plain steps), ``body``
(the stage sequence, ``run_pipeline``), ``stored`` (stage re-runs). Everything public is
re-exported here.
"""

from __future__ import annotations

from wheelflow.pipeline.body import (
    STAGE_KEYS,
    ChainsOutcome,
    StageClock,
    alerts_stage,
    chains_stage,
    ingest_stage,
    process_chain_batch,
    rank_stage,
    risk_stage,
    run_failure,
    run_pipeline,
    run_wheel_pipeline,
    universe,
)
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
from wheelflow.pipeline.gates import fail_stage, record_gate, run_stage_gate
from wheelflow.pipeline.ingest import (
    default_symbols,
    ingest_underlyings,
    open_positions,
    seed_demo_positions,
    watchlist_symbols,
)
from wheelflow.pipeline.run import (
    DEMO_ACCOUNT,
    FLOW_NAME,
    MAX_BAD_FRACTION,
    MAX_QUOTE_AGE_SECONDS,
    IngestResult,
    PipelineResult,
    RunContext,
    finish_run,
    run_id_for,
    start_run,
)
from wheelflow.pipeline.steps import PLAIN_STEPS, Deferred, Pending, PipelineSteps
from wheelflow.pipeline.stored import (
    latest_snapshot,
    load_option_snapshot,
    stored_ingest,
    stored_rankings,
    stored_risk_checks,
)

__all__ = [
    "DEMO_ACCOUNT",
    "FLOW_NAME",
    "MAX_BAD_FRACTION",
    "MAX_QUOTE_AGE_SECONDS",
    "PLAIN_STEPS",
    "STAGE_KEYS",
    "ChainsOutcome",
    "Deferred",
    "IngestResult",
    "Pending",
    "PipelineResult",
    "PipelineSteps",
    "RunContext",
    "StageClock",
    "alerts_stage",
    "apply_risk_checks",
    "batch_label",
    "batches",
    "chains_stage",
    "compute_greeks",
    "default_symbols",
    "exercise_style",
    "fail_stage",
    "fetch_chain_batch",
    "finish_run",
    "ingest_stage",
    "ingest_underlyings",
    "latest_snapshot",
    "load_option_snapshot",
    "open_positions",
    "process_chain_batch",
    "raise_alerts",
    "rank_opportunities",
    "rank_stage",
    "record_gate",
    "risk_stage",
    "run_failure",
    "run_id_for",
    "run_pipeline",
    "run_stage_gate",
    "run_wheel_pipeline",
    "seed_demo_positions",
    "start_run",
    "stored_ingest",
    "stored_rankings",
    "stored_risk_checks",
    "universe",
    "validate_and_store_greeks",
    "validate_chains",
    "watchlist_symbols",
]
