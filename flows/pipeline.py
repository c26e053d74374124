"""``wheel_pipeline``: the main DAG, run once per market snapshot.

The stage sequence, batching and failure policy are the pipeline body's
(``wheelflow.pipeline.body``); this flow hands it the Prefect tasks as its steps and turns a run
that ended failed into a Failed flow run. Around the body:
- parameters are validated (the UI sends ``snapshot_at`` as an ISO string, symbols as a list);
- runs of dead processes (stale heartbeat) are marked crashed first, in ``pipeline_runs`` and,
  when they had one, on their Prefect flow run (a ``wheelflow run`` killed with SIGKILL would
  otherwise stay Running in the UI);
- a crash or cancellation Prefect sees (``on_crashed``/``on_cancellation``) closes the run's row;
- every data-quality gate's result is published as a table artifact.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from prefect import Flow, flow
from prefect.client.schemas.objects import FlowRun
from prefect.runtime import flow_run
from prefect.states import State

from tasks.artifacts import publish_gate_artifacts
from tasks.pipeline import prefect_steps
from wheelflow.pipeline import run_wheel_pipeline
from wheelflow.pipeline.gates import gate_report
from wheelflow.pipeline.run import mark_run_crashed, mark_stale_runs_crashed
from wheelflow.providers.base import MarketDataProvider
from wheelflow.runtime import build_context, engine_for
from wheelflow.settings import get_settings

log = logging.getLogger(__name__)


def close_run_record(status: str) -> Any:
    """A state hook: the flow run ended ``status`` (crashed|cancelled) outside the body's own
    bookkeeping; its `running` row gets that status and Prefect's message as the cause."""

    def hook(flow: Flow[Any, Any], flow_run: FlowRun, state: State[Any]) -> None:
        url = flow_run.parameters.get("database_url") or get_settings().resolved_database_url
        cause = f"{status}: Prefect flow run {state.name}: {state.message or 'no message'}"
        mark_run_crashed(engine_for(url), str(flow_run.id), status, cause)

    return hook


def crash_stale_runs(url: str) -> None:
    """Mark runs whose heartbeat went stale crashed, here and on their Prefect flow runs."""
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    crashed = mark_stale_runs_crashed(engine_for(url), get_settings().run_stale_seconds)
    stale_flow_runs = [c for c in crashed if c.prefect_flow_run_id]
    if not stale_flow_runs:
        return
    with get_client(sync_client=True) as client:
        for run in stale_flow_runs:
            try:
                client.set_flow_run_state(
                    str(run.prefect_flow_run_id), Crashed(message=run.cause), force=True
                )
            except Exception as exc:
                log.warning("flow run %s not marked crashed: %s", run.prefect_flow_run_id, exc)


@flow(
    name="wheel_pipeline",
    on_crashed=[close_run_record("crashed")],
    on_cancellation=[close_run_record("cancelled")],
)
def wheel_pipeline(
    snapshot_at: dt.datetime | None = None,
    provider: MarketDataProvider | None = None,
    database_url: str | None = None,
    strategy_file: str | None = None,
    symbols: list[str] | None = None,
    quality_gates: bool = True,
) -> dict[str, Any]:
    """Run the whole pipeline once for one snapshot; returns the run's summary.

    From the UI: ``snapshot_at`` (ISO 8601, naive UTC; default the provider's current
    snapshot) and ``symbols`` (a list, default the watchlist); ``provider`` is for callers in
    Python only.
    """
    ctx, provider = build_context(
        database_url=database_url,
        strategy_file=strategy_file,
        provider=provider,
        snapshot_at=_naive_utc(snapshot_at),
        quality_gates=quality_gates,
    )
    crash_stale_runs(ctx.engine.url.render_as_string(hide_password=False))
    result = run_wheel_pipeline(
        ctx,
        provider,
        prefect_steps(ctx.settings),
        _upper(symbols),
        flow_run_id=str(flow_run.id) if flow_run.id else None,
    )
    publish_gate_artifacts(ctx.run_id, gate_report(ctx.engine, ctx.run_id))
    if result.failure is not None:
        raise result.failure
    return result.summary()


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Snapshots are naive UTC; an aware value from the UI is converted."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _upper(symbols: Sequence[str] | None) -> list[str] | None:
    return [s.strip().upper() for s in symbols if s.strip()] if symbols else None
