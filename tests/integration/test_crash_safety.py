"""Crash safety: a run killed with SIGKILL at any stage, or at its commit, is never served.

Each test first completes the run of one snapshot (A), then starts the run of the next snapshot
(B) in a child process (tests/integration/_kill_child.py), freezes it at a stage and kills it
with SIGKILL, on SQLite and PostgreSQL. Then, through the real API app:
- readers see only A: /rankings, /risk and /ready never serve B's partial rows;
- B's row stays `running` until its heartbeat is stale; the sweep marks it `crashed` with the
  cause and removes its partial rows;
- a re-run of B completes and is served; a re-run of a completed snapshot never downgrades it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, text

from tests.integration._kill_child import DAY as DAY_B
from tests.integration._kill_child import SYMBOLS
from wheelflow.db import read_frame
from wheelflow.pipeline import run_pipeline
from wheelflow.pipeline.run import mark_stale_runs_crashed
from wheelflow.providers.synthetic import SyntheticMarket
from wheelflow.settings import get_settings
from wheelflow.strategy.config import load_strategy_config

ROOT = Path(__file__).resolve().parents[2]
DAY_A = DAY_B - dt.timedelta(days=1)
STAGES = ["ingest", "chains", "rank", "risk", "commit"]


def run_day(engine: Engine, day: dt.date) -> Any:
    settings = get_settings().model_copy(update={"chain_batch_size": 3})
    return run_pipeline(
        engine, SyntheticMarket(as_of=day), load_strategy_config(None), settings, symbols=SYMBOLS
    )


def kill_run_at(engine: Engine, stage: str, tmp_path: Path) -> None:
    """Start snapshot B's run in a child, wait until it froze at ``stage``, SIGKILL it."""
    marker = tmp_path / f"frozen-{stage}"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration._kill_child",
            engine.url.render_as_string(hide_password=False),
            str(marker),
            stage,
        ],
        cwd=ROOT,
        env={**os.environ, "WHEELFLOW_DATA_DIR": str(tmp_path / "child")},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"the child ended ({child.returncode}) before freezing: {child.stderr}")
            if time.monotonic() > deadline:
                pytest.fail(f"the child never reached {stage}")
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient[Any]]:
    from api.app import create_app

    settings = get_settings().model_copy(update={"api_cache_seconds": 0})  # no cached answer
    with TestClient(app=create_app(settings=settings, engine=engine)) as test_client:
        yield test_client


@pytest.fixture
def viewer(engine: Engine) -> dict[str, str]:
    from wheelflow import security
    from wheelflow.db import transaction

    with transaction(engine) as conn:
        _, key = security.create_api_key(conn, "crash tests", "viewer")
    return {"X-API-Key": key}


def served(client: TestClient[Any], headers: dict[str, str]) -> tuple[str | None, pd.DataFrame]:
    body = client.get("/rankings?limit=500", headers=headers).json()
    return body["snapshot_at"], pd.DataFrame(body["items"])


def run_row(engine: Engine, day: dt.date) -> dict[str, Any]:
    with engine.connect() as conn:
        frame = read_frame(conn, "SELECT * FROM pipeline_runs ORDER BY snapshot_at")
    rows = frame[pd.to_datetime(frame["snapshot_at"]).dt.date == day]
    assert len(rows) == 1, frame
    return dict(rows.iloc[0])


def count_for(engine: Engine, table: str, day: dt.date) -> int:
    with engine.connect() as conn:
        frame = read_frame(conn, f"SELECT snapshot_at FROM {table}")
    return int((pd.to_datetime(frame["snapshot_at"]).dt.date == day).sum())


@pytest.mark.parametrize("stage", STAGES)
def test_a_run_killed_at_a_stage_is_never_served_and_is_swept_then_finished_by_a_rerun(
    engine: Engine,
    client: TestClient[Any],
    viewer: dict[str, str],
    stage: str,
    tmp_path: Path,
) -> None:
    completed = run_day(engine, DAY_A)
    assert completed.status == "completed"
    snapshot_a, rankings_a = served(client, viewer)
    risk_a = client.get("/risk", headers=viewer).json()

    kill_run_at(engine, stage, tmp_path)

    assert run_row(engine, DAY_B)["status"] == "running"
    snapshot, rankings = served(client, viewer)
    assert snapshot == snapshot_a
    pd.testing.assert_frame_equal(rankings, rankings_a)
    assert client.get("/risk", headers=viewer).json()["snapshot_at"] == risk_a["snapshot_at"]
    last_run = client.get("/ready").json()["last_run"]
    assert (
        last_run is None
        or last_run.get("status") != "completed"
        or (last_run["snapshot_at"][:10] == DAY_A.isoformat())
    )

    # A fresh heartbeat is not stale; an old one is.
    assert mark_stale_runs_crashed(engine, stale_after_seconds=3600) == []
    crashed = mark_stale_runs_crashed(engine, stale_after_seconds=0)
    assert [c.snapshot_at.date() for c in crashed] == [DAY_B]
    row = run_row(engine, DAY_B)
    assert row["status"] == "crashed"
    assert "no heartbeat" in row["error"]
    assert client.get("/ready").json()["last_run"]["status"] == "crashed"
    for table in ("underlying_quotes", "option_snapshots", "rankings", "risk_checks"):
        assert count_for(engine, table, DAY_B) == 0, table

    rerun = run_day(engine, DAY_B)
    assert rerun.status == "completed"
    snapshot, rankings = served(client, viewer)
    assert snapshot is not None and snapshot[:10] == DAY_B.isoformat()
    assert len(rankings) == rerun.counts["rankings"]


def test_a_crashed_rerun_of_a_completed_snapshot_never_downgrades_it(
    engine: Engine, client: TestClient[Any], viewer: dict[str, str], tmp_path: Path
) -> None:
    run_day(engine, DAY_A)
    run_day(engine, DAY_B)
    before_snapshot, before = served(client, viewer)
    kill_run_at(engine, "rank", tmp_path)  # a re-run of the completed snapshot B
    row = run_row(engine, DAY_B)
    assert row["status"] == "completed"
    assert row["attempts"] == 2
    snapshot, after = served(client, viewer)
    assert snapshot == before_snapshot
    pd.testing.assert_frame_equal(after, before)
    assert mark_stale_runs_crashed(engine, stale_after_seconds=0) == []
    assert run_row(engine, DAY_B)["status"] == "completed"


def test_latest_queries_skip_a_newer_snapshot_whose_run_did_not_complete(engine: Engine) -> None:
    from wheelflow.execution.wheel_run import latest_snapshot

    run_day(engine, DAY_A)
    run_day(engine, DAY_B)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE pipeline_runs SET status = 'running' WHERE snapshot_at >= :d"),
            {"d": dt.datetime.combine(DAY_B, dt.time())},
        )
    latest = latest_snapshot(engine)
    assert latest is not None and latest.date() == DAY_A
