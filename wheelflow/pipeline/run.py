"""Run bookkeeping: the run context, run ids and the ``pipeline_runs`` record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select, text, update

from models.tables import PipelineRun, utcnow
from wheelflow.alerts.rules import run_failed_alert
from wheelflow.alerts.store import announce, store_alerts
from wheelflow.db import transaction, upsert_frame
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


def start_run(ctx: RunContext, prefect_flow_run_id: str | None = None) -> None:
    """Record the run as running (a re-run of the same snapshot counts another attempt)."""
    now = utcnow()
    with transaction(ctx.engine) as conn:
        prior = conn.execute(
            text("SELECT attempts FROM pipeline_runs WHERE run_id = :r"), {"r": ctx.run_id}
        ).scalar()
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
                    "attempts": int(prior or 0) + 1,
                    "prefect_flow_run_id": prefect_flow_run_id,
                    "error": None,
                }
            ]
        )
        upsert_frame(conn, "pipeline_runs", frame)


def finish_run(
    ctx: RunContext,
    status: str,
    *,
    counts: dict[str, int] | None = None,
    stage_seconds: dict[str, float] | None = None,
    details: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Close the run's record: status, counts, per-stage seconds, retries and failures."""
    counts = counts or {}
    values = {
        "status": status,
        "finished_at": utcnow(),
        "n_underlyings": counts.get("underlyings"),
        "n_contracts": counts.get("contracts"),
        "n_rankings": counts.get("rankings"),
        "stage_seconds": {k: round(v, 3) for k, v in (stage_seconds or {}).items()},
        "details": details or {},
        "error": error,
    }
    fresh: list[dict[str, Any]] = []
    with transaction(ctx.engine) as conn:
        conn.execute(update(PipelineRun).where(PipelineRun.run_id == ctx.run_id).values(**values))
        if status == "failed":  # operators hear of it through the one alert path
            attempt = conn.execute(
                select(PipelineRun.attempts).where(PipelineRun.run_id == ctx.run_id)
            ).scalar()
            alert = run_failed_alert(ctx.run_id, int(attempt or 1), ctx.snapshot_at, error)
            fresh = store_alerts(conn, [alert])
    announce(ctx.engine, fresh)
