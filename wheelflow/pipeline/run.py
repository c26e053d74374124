"""Run bookkeeping: the run context, run ids and the ``pipeline_runs`` record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select, text, update

from models.tables import PipelineRun, utcnow
from wheelflow.alerts.rules import run_failed_alert
from wheelflow.alerts.store import announce, store_alerts
from wheelflow.db import execute, transaction, upsert_frame
from wheelflow.errors import WheelflowError
from wheelflow.settings import Settings
from wheelflow.strategy.config import StrategyConfig
from wheelflow.strategy.valuation import MarketContext

FLOW_NAME = "wheel_pipeline"
DEMO_ACCOUNT = "demo"
MAX_QUOTE_AGE_SECONDS = 36 * 3600.0  # a close snapshot read the next morning is still fresh
MAX_BAD_FRACTION = 0.5


@dataclass
class RunContext:
    """What every stage needs to know about the run it belongs to."""

    engine: Engine
    settings: Settings
    config: StrategyConfig
    snapshot_at: dt.datetime
    provider_name: str
    quality_gates: bool = True

    @property
    def run_id(self) -> str:
        return run_id_for(self.snapshot_at)


def run_id_for(snapshot_at: dt.datetime) -> str:
    """Runs are keyed by their snapshot: re-running a snapshot re-uses (and rewrites) its id."""
    return f"{snapshot_at:%Y%m%dT%H%M%SZ}"


@dataclass
class IngestResult:
    quotes: pd.DataFrame
    csp_symbols: list[str]  # priced inside the window: eligible for cash-secured puts
    cc_cost_basis: dict[str, float]  # long stock held (>= 100 shares): eligible for covered calls
    quarantined: int = 0
    # Volatility forecasts and event feeds of the chain symbols (what rankings value with).
    market: MarketContext = field(default_factory=MarketContext)

    @property
    def chain_symbols(self) -> list[str]:
        return sorted(set(self.csp_symbols) | set(self.cc_cost_basis))


@dataclass
class PipelineResult:
    """One run's outcome; ``failure`` is the error it ended with (None when completed)."""

    run_id: str
    snapshot_at: dt.datetime
    status: str
    rankings: pd.DataFrame
    risk_checks: pd.DataFrame
    alerts: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # batches refused by a gate
    fetch_failures: dict[str, str] = field(default_factory=dict)  # symbol -> provider error
    provider_retries: int = 0
    failure: WheelflowError | None = None
    delivery: str | None = None  # where the run's alerts went, when delivered in the run

    @property
    def error(self) -> str | None:
        return str(self.failure) if self.failure else None

    @property
    def details(self) -> dict[str, Any]:
        """``pipeline_runs.details``: the same keys whichever steps ran the body."""
        return {
            "provider_retries": self.provider_retries,
            "chain_failures": self.fetch_failures,
            "gate_failures": self.failures,
            "new_alerts": len(self.alerts),
        }

    def summary(self) -> dict[str, Any]:
        """What the flow returns (and the CLI prints)."""
        return {
            "run_id": self.run_id,
            "snapshot_at": self.snapshot_at.isoformat(),
            "status": self.status,
            **self.counts,
            "stage_seconds": self.stage_seconds,
            "fetch_failures": self.fetch_failures,
            "new_alerts": len(self.alerts),
            "delivery": self.delivery,
        }


COMPLETED = "completed"
# Tables holding a snapshot's pipeline output: a crashed run's partial rows are removed from them.
SNAPSHOT_TABLES = (
    "underlying_quotes",
    "option_snapshots",
    "quality_results",
    "quarantined_rows",
    "rankings",
    "risk_checks",
)


def start_run(ctx: RunContext, prefect_flow_run_id: str | None = None) -> None:
    """Record the run as running (a re-run of the same snapshot counts another attempt).

    A re-run of a snapshot whose run completed never downgrades it: the row stays `completed`
    (readers keep serving it) and only its attempts, heartbeat and flow run id change.
    """
    now = utcnow()
    with transaction(ctx.engine) as conn:
        prior = conn.execute(
            text("SELECT attempts, status FROM pipeline_runs WHERE run_id = :r"),
            {"r": ctx.run_id},
        ).first()
        if prior is not None and prior.status == COMPLETED:
            conn.execute(
                update(PipelineRun)
                .where(PipelineRun.run_id == ctx.run_id)
                .values(
                    attempts=int(prior.attempts or 0) + 1,
                    heartbeat_at=now,
                    prefect_flow_run_id=prefect_flow_run_id,
                )
            )
            return
        frame = pd.DataFrame(
            [
                {
                    "run_id": ctx.run_id,
                    "flow_name": FLOW_NAME,
                    "snapshot_at": ctx.snapshot_at,
                    "status": "running",
                    "provider": ctx.provider_name,
                    "started_at": now,
                    "finished_at": None,
                    "attempts": int(prior.attempts or 0) + 1 if prior is not None else 1,
                    "prefect_flow_run_id": prefect_flow_run_id,
                    "error": None,
                    "heartbeat_at": now,
                }
            ]
        )
        upsert_frame(conn, "pipeline_runs", frame)


def heartbeat(ctx: RunContext) -> None:
    """The run's process is alive: refresh ``heartbeat_at`` (after each stage and batch)."""
    with transaction(ctx.engine) as conn:
        conn.execute(
            update(PipelineRun)
            .where(PipelineRun.run_id == ctx.run_id)
            .values(heartbeat_at=utcnow())
        )


def finish_run(
    ctx: RunContext,
    status: str,
    *,
    counts: dict[str, int] | None = None,
    stage_seconds: dict[str, float] | None = None,
    details: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Close the run's record: status, counts, per-stage seconds, retries and failures.

    The status and the counts change in one transaction, so readers (who serve completed runs
    only) see the whole run at once. A completed run is never downgraded: a re-run that fails
    keeps it `completed` and records its error under ``details.rerun_error``.
    """
    counts = counts or {}
    values: dict[str, Any] = {
        "status": status,
        "finished_at": utcnow(),
        "heartbeat_at": utcnow(),
        "n_underlyings": counts.get("underlyings"),
        "n_contracts": counts.get("contracts"),
        "n_rankings": counts.get("rankings"),
        "stage_seconds": {k: round(v, 3) for k, v in (stage_seconds or {}).items()},
        "details": details or {},
        "error": error,
    }
    fresh: list[dict[str, Any]] = []
    with transaction(ctx.engine) as conn:
        current = conn.execute(
            text("SELECT status FROM pipeline_runs WHERE run_id = :r"), {"r": ctx.run_id}
        ).scalar()
        if current == COMPLETED and status != COMPLETED:
            values = {
                "heartbeat_at": values["heartbeat_at"],
                "details": {**(details or {}), "rerun_error": error or status},
            }
        conn.execute(update(PipelineRun).where(PipelineRun.run_id == ctx.run_id).values(**values))
        if status == "failed":  # operators hear of it through the one alert path
            attempt = conn.execute(
                select(PipelineRun.attempts).where(PipelineRun.run_id == ctx.run_id)
            ).scalar()
            alert = run_failed_alert(ctx.run_id, int(attempt or 1), ctx.snapshot_at, error)
            fresh = store_alerts(conn, [alert])
    announce(ctx.engine, fresh)


@dataclass(frozen=True)
class CrashedRun:
    run_id: str
    snapshot_at: dt.datetime
    prefect_flow_run_id: str | None
    cause: str


def mark_stale_runs_crashed(
    engine: Engine, stale_after_seconds: float, now: dt.datetime | None = None
) -> list[CrashedRun]:
    """Runs still `running` whose heartbeat is older than ``stale_after_seconds`` belong to a
    process that died (SIGKILL, out of memory, lost database): mark them `crashed` with the
    cause and delete their partial rows (readers never served them; a re-run writes them
    again). One transaction."""
    now = now or utcnow()
    horizon = now - dt.timedelta(seconds=stale_after_seconds)
    crashed: list[CrashedRun] = []
    with transaction(engine) as conn:
        r = PipelineRun
        beat = func.coalesce(r.heartbeat_at, r.started_at)
        rows = conn.execute(
            select(r.run_id, r.snapshot_at, r.prefect_flow_run_id, beat).where(
                r.status == "running", beat <= horizon
            )
        ).all()
        for run_id, snap, flow_run_id, last_beat in rows:
            cause = (
                f"crashed: no heartbeat since {last_beat:%Y-%m-%d %H:%M:%S} UTC "
                f"(stale after {stale_after_seconds:.0f} s): the process died "
                "(killed, out of memory or lost its database); partial rows removed"
            )
            for tbl in SNAPSHOT_TABLES:
                execute(conn, f"DELETE FROM {tbl} WHERE snapshot_at = :s", {"s": snap})
            conn.execute(
                update(PipelineRun)
                .where(PipelineRun.run_id == run_id, PipelineRun.status == "running")
                .values(status="crashed", finished_at=now, error=cause)
            )
            crashed.append(CrashedRun(str(run_id), snap, flow_run_id, cause))
    return crashed


def mark_run_crashed(engine: Engine, prefect_flow_run_id: str, status: str, cause: str) -> int:
    """The Prefect flow run crashed or was cancelled (its state hook): close its `running`
    row with ``status`` (crashed|cancelled) and the cause. Returns the rows changed."""
    with transaction(engine) as conn:
        result = conn.execute(
            update(PipelineRun)
            .where(
                PipelineRun.prefect_flow_run_id == prefect_flow_run_id,
                PipelineRun.status == "running",
            )
            .values(status=status, finished_at=utcnow(), error=cause)
        )
        return int(result.rowcount or 0)
