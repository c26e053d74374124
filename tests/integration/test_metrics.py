"""The Prometheus exporter (wheelflow.metrics, ``wheelflow metrics serve``) on real databases."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, insert

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
from wheelflow.db import make_engine, transaction
from wheelflow.metrics import collect_gauges, make_registry

NOW = utcnow().replace(microsecond=0)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Prometheus text format -> {(metric name, labels): value}."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def scrape(engine: Engine) -> Samples:
    return parse(generate_latest(make_registry(engine)).decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(f"wheelflow_{name}", frozenset(labels.items()))]


def add_rows(engine: Engine, model: Any, rows: list[dict[str, Any]]) -> None:
    with transaction(engine) as conn:
        conn.execute(insert(model.__table__), rows)


def run(
    run_id: str, started_hours_ago: float, status: str = "completed", flow: str = "wheel-pipeline"
) -> dict[str, Any]:
    """A pipeline_runs row that took 5 minutes."""
    started = NOW - dt.timedelta(hours=started_hours_ago)
    return {
        "run_id": run_id,
        "flow_name": flow,
        "snapshot_at": started,
        "status": status,
        "provider": "synthetic",
        "started_at": started,
        "finished_at": None if status == "running" else started + dt.timedelta(minutes=5),
        "n_underlyings": 30,
        "n_contracts": 4200,
        "n_rankings": 50,
        "stage_seconds": {"fetch": 1.5, "price": 0.75},
    }


def test_empty_database_reports_up_with_zero_alerts_and_orders(engine: Engine) -> None:
    samples = scrape(engine)
    assert value(samples, "database_up") == 1
    assert value(samples, "alerts_unacknowledged", severity="critical") == 0
    assert value(samples, "orders", status="filled") == 0


def test_unreadable_database_reports_down_instead_of_failing(tmp_path: Path) -> None:
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    samples = scrape(unmigrated)
    assert value(samples, "database_up") == 0
    assert ("wheelflow_metrics_collect_seconds", frozenset()) in samples


def test_last_run_age_and_status_come_from_the_latest_run_of_each_flow(engine: Engine) -> None:
    add_rows(engine, PipelineRun, [run("a", 5), run("b", 2, "failed"), run("c", 1, flow="eod")])
    with engine.connect() as conn:
        gauges = {g.name: dict(g.samples) for g in collect_gauges(conn, now=NOW)}
    age = gauges["pipeline_last_run_age_seconds"]
    assert age[("wheel-pipeline",)] == pytest.approx(2 * 3600 - 300)
    assert age[("eod",)] == pytest.approx(3600 - 300)
    status = gauges["pipeline_last_run_status"]
    assert status[("wheel-pipeline", "failed")] == 1
    assert status[("wheel-pipeline", "completed")] == 0


def test_last_success_age_skips_failed_and_running_runs(engine: Engine) -> None:
    add_rows(engine, PipelineRun, [run("a", 5), run("b", 2, "failed"), run("c", 1, "running")])
    with engine.connect() as conn:
        gauges = {g.name: dict(g.samples) for g in collect_gauges(conn, now=NOW)}
    assert gauges["pipeline_last_success_age_seconds"] == {
        ("wheel-pipeline",): pytest.approx(5 * 3600 - 300)
    }


def test_rows_and_stage_seconds_of_the_latest_run(engine: Engine) -> None:
    add_rows(engine, PipelineRun, [run("a", 1)])
    samples = scrape(engine)
    assert (
        value(samples, "pipeline_last_run_rows", flow="wheel-pipeline", stage="contracts") == 4200
    )
    fetch = value(samples, "pipeline_last_run_stage_seconds", flow="wheel-pipeline", stage="fetch")
    assert fetch == 1.5
    assert (
        value(samples, "pipeline_last_run_stage_seconds", flow="wheel-pipeline", stage="price")
        == 0.75
    )


def test_quarantine_and_gate_failures_count_only_the_latest_run(engine: Engine) -> None:
    add_rows(engine, PipelineRun, [run("old", 5), run("new", 1)])
    quarantined = [
        {
            "snapshot_at": NOW - dt.timedelta(hours=h),
            "stage": "chains",
            "row_key": f"K{i}",
            "run_id": rid,
            "reasons": "bid > ask",
            "payload": {"bid": 2.0, "ask": 1.0},
            "created_at": NOW,
        }
        for rid, h, n in (("old", 5, 7), ("new", 1, 3))
        for i in range(n)
    ]
    add_rows(engine, QuarantinedRow, quarantined)
    gates = [
        {
            "snapshot_at": NOW - dt.timedelta(hours=1),
            "stage": "chains",
            "batch": batch,
            "run_id": "new",
            "suite": "chains",
            "success": ok,
            "evaluated_rows": 100,
            "failed_rows": failed,
            "bad_fraction": failed / 100,
            "expectations": [],
            "created_at": NOW,
        }
        for batch, ok, failed in (("b1", True, 0), ("b2", False, 3), ("b3", False, 0))
    ]
    add_rows(engine, QualityResult, gates)
    samples = scrape(engine)
    assert value(samples, "quarantined_rows", flow="wheel-pipeline", stage="chains") == 3
    assert value(samples, "quality_gate_failures", flow="wheel-pipeline", stage="chains") == 2
    assert value(samples, "quality_bad_fraction", flow="wheel-pipeline", stage="chains") == 0.03


def test_unacknowledged_alerts_are_counted_by_severity(engine: Engine) -> None:
    alerts = [
        {
            "dedup_key": f"k{i}",
            "created_at": NOW,
            "kind": "risk",
            "severity": severity,
            "title": "t",
            "message": "m",
            "acknowledged_at": acked,
        }
        for i, (severity, acked) in enumerate(
            [("critical", None), ("critical", NOW), ("warning", None), ("warning", None)]
        )
    ]
    add_rows(engine, Alert, alerts)
    samples = scrape(engine)
    assert value(samples, "alerts_unacknowledged", severity="critical") == 1
    assert value(samples, "alerts_unacknowledged", severity="warning") == 2
    assert value(samples, "alerts_unacknowledged", severity="info") == 0


def test_risk_breaches_count_failing_subjects_at_the_latest_snapshot(engine: Engine) -> None:
    checks = [
        {
            "snapshot_at": NOW - dt.timedelta(hours=h),
            "check_name": check,
            "subject": subject,
            "run_id": "r",
            "passed": passed,
            "message": "",
        }
        for h, check, subject, passed in [
            (3, "max_symbol_weight", "AAPL", False),  # older snapshot: ignored
            (1, "max_symbol_weight", "AAPL", False),
            (1, "max_symbol_weight", "MSFT", False),
            (1, "max_symbol_weight", "KO", True),
            (1, "cash_reserve", "portfolio", True),
        ]
    ]
    add_rows(engine, RiskCheck, checks)
    add_rows(engine, PipelineRun, [run("older", 3), run("latest", 1)])
    samples = scrape(engine)
    assert value(samples, "risk_breaches", check="max_symbol_weight") == 2
    assert value(samples, "risk_breaches", check="cash_reserve") == 0


def test_risk_breaches_of_a_run_that_did_not_complete_are_not_counted(engine: Engine) -> None:
    checks = [
        {
            "snapshot_at": NOW - dt.timedelta(hours=h),
            "check_name": "max_symbol_weight",
            "subject": "AAPL",
            "run_id": "r",
            "passed": passed,
            "message": "",
        }
        for h, passed in [(3, True), (1, False)]
    ]
    add_rows(engine, RiskCheck, checks)
    add_rows(engine, PipelineRun, [run("done", 3), run("partial", 1, status="running")])
    assert value(scrape(engine), "risk_breaches", check="max_symbol_weight") == 0


def test_open_positions_are_counted_by_account_and_asset_type(engine: Engine) -> None:
    positions = [
        {
            "account": "paper",
            "symbol": "AAPL",
            "asset_type": asset_type,
            "quantity": -1,
            "average_price": 2.0,
            "status": status,
            "opened_at": NOW,
        }
        for asset_type, status in [("option", "open"), ("option", "open"), ("stock", "closed")]
    ]
    add_rows(engine, Position, positions)
    samples = scrape(engine)
    assert value(samples, "positions_open", account="paper", asset_type="option") == 2
    assert (
        "wheelflow_positions_open",
        frozenset({("account", "paper"), ("asset_type", "stock")}),
    ) not in samples


def test_realized_pnl_is_summed_per_account_over_open_and_closed_positions(
    engine: Engine,
) -> None:
    positions = [
        {
            "account": "paper",
            "symbol": symbol,
            "asset_type": "option",
            "quantity": -1,
            "average_price": 2.0,
            "status": status,
            "opened_at": NOW,
            "realized_pnl": pnl,
        }
        for symbol, status, pnl in [("AAPL", "closed", 150.0), ("MSFT", "open", -40.0)]
    ]
    add_rows(engine, Position, positions)
    assert value(scrape(engine), "realized_pnl", account="paper") == 110.0


def test_orders_are_counted_by_status(engine: Engine) -> None:
    orders = [
        {
            "client_order_id": f"c{i}",
            "broker": "paper",
            "symbol": "AAPL",
            "side": "sell_to_open",
            "quantity": 1,
            "status": status,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for i, status in enumerate(["filled", "filled", "rejected"])
    ]
    add_rows(engine, Order, orders)
    samples = scrape(engine)
    assert value(samples, "orders", status="filled") == 2
    assert value(samples, "orders", status="rejected") == 1
    assert value(samples, "orders", status="pending") == 0


# --------------------------------------------------------------------------- the command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def exporter(sqlite_engine: Engine) -> Iterator[str]:
    """``wheelflow metrics serve`` in a subprocess on a free loopback port; yields its URL."""
    port = _free_port()
    env = {**os.environ, "WHEELFLOW_DATABASE_URL": str(sqlite_engine.url)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wheelflow", "metrics", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_serve_answers_prometheus_text_over_http(exporter: str, sqlite_engine: Engine) -> None:
    add_rows(sqlite_engine, PipelineRun, [run("a", 1)])
    response = httpx.get(exporter, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = parse(response.text)
    assert value(samples, "database_up") == 1
    assert value(samples, "pipeline_last_run_rows", flow="wheel-pipeline", stage="rankings") == 50


def test_serve_refuses_a_port_in_use_with_one_clear_line(sqlite_engine: Engine) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "WHEELFLOW_DATABASE_URL": str(sqlite_engine.url)}
        done = subprocess.run(
            [sys.executable, "-m", "wheelflow", "metrics", "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
