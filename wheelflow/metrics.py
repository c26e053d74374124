"""Prometheus metrics computed from the wheelflow tables at scrape time.

A custom collector (no counters kept in memory): every scrape runs a handful of small aggregate
queries in one read-only connection, so the exporter is stateless and any number of replicas
agree. If the database cannot be read, the scrape still answers with
``wheelflow_database_up 0`` and the error is logged (never a 500).

Metric names, all gauges (ages in seconds, counts in rows/objects):

- ``wheelflow_database_up``: 1 when the tables could be read.
- ``wheelflow_pipeline_last_run_age_seconds{flow}``: now - end (or start) of the latest run.
- ``wheelflow_pipeline_last_run_status{flow,status}``: 1 for the latest run's status, else 0.
- ``wheelflow_pipeline_last_success_age_seconds{flow}``: now - end of the latest completed run.
- ``wheelflow_pipeline_last_run_rows{flow,stage}``: underlyings, contracts, rankings written.
- ``wheelflow_pipeline_last_run_stage_seconds{flow,stage}``: wall time of each stage.
- ``wheelflow_quarantined_rows{flow,stage}``: rows refused by the gates of the latest run.
- ``wheelflow_quality_gate_failures{flow,stage}``: failed gate results of the latest run.
- ``wheelflow_quality_bad_fraction{flow,stage}``: worst bad-row fraction of the latest run.
- ``wheelflow_alerts_unacknowledged{severity}``: open alerts (info, warning, critical).
- ``wheelflow_risk_breaches{check}``: failing subjects per check at the latest risk snapshot.
- ``wheelflow_positions_open{account,asset_type}``: open positions.
- ``wheelflow_realized_pnl{account}``: realized P&L (dollars) summed over all positions.
- ``wheelflow_orders{status}``: orders per status.
- ``wheelflow_metrics_collect_seconds``: how long this scrape's queries took.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import CollectorRegistry
from sqlalchemy import ColumnElement, Connection, Engine, and_, case, func, select
from sqlalchemy.exc import SQLAlchemyError

from models.tables import (
    Alert,
    Order,
    PipelineRun,
    Position,
    QualityResult,
    QuarantinedRow,
    RiskCheck,
    utcnow,
)
from wheelflow.queries import completed_snapshots

log = logging.getLogger(__name__)

PREFIX = "wheelflow"
RUN_STATUSES = ("running", "completed", "failed", "crashed")
ALERT_SEVERITIES = ("info", "warning", "critical")
ORDER_STATUSES = ("pending", "submitted", "filled", "cancelled", "rejected")


@dataclass
class Gauge:
    """One gauge family: its samples as (label values, value)."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()
    samples: list[tuple[tuple[str, ...], float]] = field(default_factory=list)

    def add(self, value: float, *label_values: str) -> None:
        self.samples.append((tuple(label_values), float(value)))

    def family(self) -> GaugeMetricFamily:
        fam = GaugeMetricFamily(f"{PREFIX}_{self.name}", self.documentation, labels=self.labels)
        for label_values, value in self.samples:
            fam.add_metric(list(label_values), value)
        return fam


def _age(now: dt.datetime, at: dt.datetime) -> float:
    return max((now - at).total_seconds(), 0.0)


def _latest_runs(conn: Connection) -> list[dict[str, object]]:
    """The most recent run of each flow (by start time)."""
    r = PipelineRun.__table__
    latest = (
        select(r.c.flow_name, func.max(r.c.started_at).label("started_at"))
        .group_by(r.c.flow_name)
        .subquery()
    )
    wanted = (
        r.c.run_id,
        r.c.flow_name,
        r.c.status,
        r.c.started_at,
        r.c.finished_at,
        r.c.n_underlyings,
        r.c.n_contracts,
        r.c.n_rankings,
        r.c.stage_seconds,
    )
    rows = conn.execute(
        select(*wanted).join(
            latest,
            and_(r.c.flow_name == latest.c.flow_name, r.c.started_at == latest.c.started_at),
        )
    ).mappings()
    by_flow: dict[str, dict[str, object]] = {}
    for row in rows:
        by_flow.setdefault(str(row["flow_name"]), dict(row))
    return [by_flow[k] for k in sorted(by_flow)]


def _pipeline_gauges(conn: Connection, now: dt.datetime) -> list[Gauge]:
    age = Gauge("pipeline_last_run_age_seconds", "Seconds since the latest run ended", ("flow",))
    status = Gauge(
        "pipeline_last_run_status", "1 for the latest run's status, else 0", ("flow", "status")
    )
    success = Gauge(
        "pipeline_last_success_age_seconds",
        "Seconds since the latest completed run ended",
        ("flow",),
    )
    rows = Gauge("pipeline_last_run_rows", "Rows the latest run wrote", ("flow", "stage"))
    seconds = Gauge(
        "pipeline_last_run_stage_seconds", "Wall seconds per stage, latest run", ("flow", "stage")
    )
    quarantined = Gauge(
        "quarantined_rows", "Rows quarantined by the latest run's gates", ("flow", "stage")
    )
    gate_failures = Gauge(
        "quality_gate_failures", "Failed gate results of the latest run", ("flow", "stage")
    )
    bad_fraction = Gauge(
        "quality_bad_fraction", "Worst bad-row fraction of the latest run", ("flow", "stage")
    )
    runs = _latest_runs(conn)
    run_flow = {str(run["run_id"]): str(run["flow_name"]) for run in runs}
    for run in runs:
        flow = str(run["flow_name"])
        ended = run["finished_at"] or run["started_at"]
        assert isinstance(ended, dt.datetime)
        age.add(_age(now, ended), flow)
        for st in sorted({*RUN_STATUSES, str(run["status"])}):
            status.add(1.0 if st == run["status"] else 0.0, flow, st)
        for stage in ("underlyings", "contracts", "rankings"):
            count = run[f"n_{stage}"]
            if isinstance(count, int):
                rows.add(count, flow, stage)
        stage_seconds = run["stage_seconds"]
        if isinstance(stage_seconds, dict):
            for stage, secs in sorted(stage_seconds.items()):
                if isinstance(secs, int | float):
                    seconds.add(secs, flow, str(stage))

    r = PipelineRun.__table__
    for flow, finished in conn.execute(
        select(r.c.flow_name, func.max(r.c.finished_at))
        .where(r.c.status == "completed", r.c.finished_at.is_not(None))
        .group_by(r.c.flow_name)
        .order_by(r.c.flow_name)
    ):
        success.add(_age(now, finished), flow)

    if run_flow:
        z = QuarantinedRow.__table__
        for run_id, stage, n in conn.execute(
            select(z.c.run_id, z.c.stage, func.count())
            .where(z.c.run_id.in_(run_flow))
            .group_by(z.c.run_id, z.c.stage)
            .order_by(z.c.run_id, z.c.stage)
        ):
            quarantined.add(n, run_flow[run_id], stage)
        q = QualityResult.__table__
        for run_id, stage, failed, worst in conn.execute(
            select(
                q.c.run_id,
                q.c.stage,
                func.sum(case((q.c.success.is_(False), 1), else_=0)),
                func.max(q.c.bad_fraction),
            )
            .where(q.c.run_id.in_(run_flow))
            .group_by(q.c.run_id, q.c.stage)
            .order_by(q.c.run_id, q.c.stage)
        ):
            gate_failures.add(failed or 0, run_flow[run_id], stage)
            bad_fraction.add(worst or 0.0, run_flow[run_id], stage)
    return [age, status, success, rows, seconds, quarantined, gate_failures, bad_fraction]


def _count_by(
    conn: Connection,
    column: ColumnElement[Any],
    where: Sequence[ColumnElement[bool]] = (),
    defaults: Sequence[str] = (),
) -> dict[str, int]:
    """Row count per value of ``column``; every value in ``defaults`` appears, 0 if absent."""
    counts = dict.fromkeys(defaults, 0)
    stmt = select(column, func.count()).where(*where).group_by(column)
    for key, n in conn.execute(stmt):
        counts[str(key)] = int(n)
    return dict(sorted(counts.items()))


def _book_gauges(conn: Connection) -> list[Gauge]:
    alerts = Gauge("alerts_unacknowledged", "Alerts nobody acknowledged yet", ("severity",))
    a = Alert.__table__
    for severity, n in _count_by(
        conn, a.c.severity, [a.c.acknowledged_at.is_(None)], ALERT_SEVERITIES
    ).items():
        alerts.add(n, severity)

    breaches = Gauge("risk_breaches", "Failing subjects per check, latest snapshot", ("check",))
    k = RiskCheck.__table__
    latest = conn.execute(
        select(func.max(k.c.snapshot_at)).where(k.c.snapshot_at.in_(completed_snapshots()))
    ).scalar()
    if latest is not None:
        for check, failing in conn.execute(
            select(k.c.check_name, func.sum(case((k.c.passed.is_(False), 1), else_=0)))
            .where(k.c.snapshot_at == latest)
            .group_by(k.c.check_name)
            .order_by(k.c.check_name)
        ):
            breaches.add(failing or 0, check)

    positions = Gauge("positions_open", "Open positions", ("account", "asset_type"))
    p = Position.__table__
    for account, asset_type, n in conn.execute(
        select(p.c.account, p.c.asset_type, func.count())
        .where(p.c.status == "open")
        .group_by(p.c.account, p.c.asset_type)
        .order_by(p.c.account, p.c.asset_type)
    ):
        positions.add(n, account, asset_type)

    pnl = Gauge("realized_pnl", "Realized P&L in dollars, all positions", ("account",))
    for account, total in conn.execute(
        select(p.c.account, func.coalesce(func.sum(p.c.realized_pnl), 0.0))
        .group_by(p.c.account)
        .order_by(p.c.account)
    ):
        pnl.add(float(total), account)

    orders = Gauge("orders", "Orders per status", ("status",))
    o = Order.__table__
    for status, n in _count_by(conn, o.c.status, defaults=ORDER_STATUSES).items():
        orders.add(n, status)
    return [alerts, breaches, positions, pnl, orders]


def collect_gauges(conn: Connection, now: dt.datetime | None = None) -> list[Gauge]:
    """Every wheelflow gauge, read from the tables through ``conn`` (naive UTC ``now``)."""
    now = now or utcnow()
    return _pipeline_gauges(conn, now) + _book_gauges(conn)


class WheelflowCollector:
    """prometheus_client collector that reads the gauges from the database at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # no query at registration time

    def collect(self) -> Iterator[GaugeMetricFamily]:
        started = time.perf_counter()
        up = Gauge("database_up", "1 when the wheelflow tables could be read")
        gauges: list[Gauge] = []
        try:
            with self.engine.connect() as conn:
                gauges = collect_gauges(conn)
            up.add(1)
        except SQLAlchemyError as exc:
            log.warning("metrics: cannot read the database: %s", str(exc).splitlines()[0])
            up.add(0)
        took = Gauge("metrics_collect_seconds", "Seconds this scrape's queries took")
        took.add(time.perf_counter() - started)
        for gauge in [up, *gauges, took]:
            yield gauge.family()


def make_registry(engine: Engine) -> CollectorRegistry:
    """A registry holding only the wheelflow collector (no process metrics of the exporter)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WheelflowCollector(engine))
    return registry
