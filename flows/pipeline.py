"""``wheel_pipeline``: the main DAG, run once per market snapshot.

The stage sequence, batching and failure policy are the pipeline body's
(``wheelflow.pipeline.body``); this flow hands it the Prefect tasks as its steps and turns a run
that ended failed into a Failed flow run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from tasks.pipeline import prefect_steps
from wheelflow.pipeline import run_wheel_pipeline
from wheelflow.providers.base import MarketDataProvider
from wheelflow.runtime import build_context


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
    ctx, provider = build_context(
        database_url=database_url,
        strategy_file=strategy_file,
        provider=provider,
        snapshot_at=snapshot_at,
        quality_gates=quality_gates,
    )
    result = run_wheel_pipeline(
        ctx,
        provider,
        prefect_steps(ctx.settings),
        symbols,
        flow_run_id=str(flow_run.id) if flow_run.id else None,
    )
    if result.failure is not None:
        raise result.failure
    return result.summary()
