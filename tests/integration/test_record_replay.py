"""Record a run's market data, then replay it through the same Prefect flow (SQLite and
PostgreSQL): the replay reaches the same rankings, and two replays the same decisions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from flows.pipeline import wheel_pipeline
from wheelflow.errors import ProviderError
from wheelflow.providers.files import FileChains
from wheelflow.providers.recording import recorded_exercise_style, recording
from wheelflow.providers.synthetic import SyntheticMarket

pytestmark = pytest.mark.usefixtures("prefect_harness")

KEY = ["strategy", "occ_symbol"]
COMPARED = ["rank", "premium", "iv", "delta", "annualized_return", "probability_otm", "blocked"]


def _rankings(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql("SELECT * FROM rankings", conn)
    return frame.sort_values(KEY).reset_index(drop=True)[KEY + COMPARED]


def _run(engine: Engine, provider: object) -> dict:
    return wheel_pipeline(
        provider=provider, database_url=engine.url.render_as_string(hide_password=False)
    )


def test_a_recorded_snapshot_replays_to_the_same_rankings_twice(engine: Engine, tmp_path: Path):
    market = SyntheticMarket(seed=11, universe_size=8)
    live = _run(engine, recording(market, tmp_path / "rec"))
    recorded = _rankings(engine)
    assert len(recorded) > 0
    day_dirs = sorted(p.name for p in (tmp_path / "rec").iterdir() if p.is_dir())
    assert day_dirs == [f"{market.snapshot_time():%Y-%m-%d}"]
    assert recorded_exercise_style(tmp_path / "rec") == market.exercise_style

    for _ in range(2):  # the same snapshot again: its rankings are replaced by the replay's
        replay = FileChains(
            tmp_path / "rec",
            snapshot=live["snapshot_at"],
            exercise_style=market.exercise_style,
        )
        summary = _run(engine, replay)
        assert summary["snapshot_at"] == live["snapshot_at"]
        assert summary["contracts"] == live["contracts"]
        pd.testing.assert_frame_equal(_rankings(engine), recorded, check_dtype=False)


def test_replaying_a_snapshot_that_was_not_recorded_names_what_was(tmp_path: Path):
    market = SyntheticMarket(seed=11, universe_size=3)
    rec = recording(market, tmp_path / "rec")
    rec.option_chains(market.symbols)
    with pytest.raises(ProviderError, match="is not recorded; have 1 from"):
        FileChains(tmp_path / "rec", snapshot="2020-01-02T15:00:00")


def test_the_cli_records_then_replays_as_of_the_recorded_time(tmp_path: Path):
    env = {
        **os.environ,
        "WHEELFLOW_DATA_DIR": str(tmp_path / "data"),
        "WHEELFLOW_SYNTHETIC_UNIVERSE_SIZE": "6",
    }
    rec = tmp_path / "rec"
    first = subprocess.run(
        [sys.executable, "-m", "wheelflow", "run", "--quiet", "--top", "3", "--record", str(rec)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert first.returncode == 0, first.stderr[-2000:]
    snapshot = FileChains(rec).snapshot_time()
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "wheelflow",
            "run",
            "--quiet",
            "--top",
            "3",
            "--as-of",
            snapshot.isoformat(),
            "--replay",
            str(rec),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert second.returncode == 0, second.stderr[-2000:]
    run_line = f"run {snapshot:%Y%m%dT%H%M%S}Z"
    assert run_line in first.stdout and run_line in second.stdout
    top = [line for line in first.stdout.splitlines() if line.startswith("│ 1 │")]
    assert top and top == [line for line in second.stdout.splitlines() if line.startswith("│ 1 │")]


def test_simulate_replays_a_recorded_directory_with_the_same_decisions_twice(tmp_path: Path):
    import datetime as dt

    from wheelflow.db import ensure_schema, make_engine
    from wheelflow.pipeline import run_pipeline
    from wheelflow.providers.recording import open_recording
    from wheelflow.settings import get_settings
    from wheelflow.simulate import simulate
    from wheelflow.strategy.config import StrategyConfig

    settings = get_settings().model_copy(update={"seed_demo_positions": False})
    config = StrategyConfig()
    recorder_db = make_engine(f"sqlite:///{tmp_path / 'recorder.sqlite'}")
    ensure_schema(recorder_db)
    days = [dt.date(2026, 11, 2), dt.date(2026, 11, 3), dt.date(2026, 11, 4)]
    for day in days:  # three sessions recorded by plain pipeline runs
        market = SyntheticMarket(seed=21, as_of=day, universe_size=6)
        run_pipeline(recorder_db, recording(market, tmp_path / "rec"), config, settings)
    recording_dir = open_recording(tmp_path / "rec")
    assert [ts.date() for ts in recording_dir.daily_snapshots()] == days

    trades = []
    for attempt in range(2):
        engine = make_engine(f"sqlite:///{tmp_path / f'replay-{attempt}.sqlite'}")
        ensure_schema(engine)
        result = simulate(
            engine,
            sessions=10,
            seed=0,
            config=config,
            settings=settings,
            replay=open_recording(tmp_path / "rec"),
        )
        engine.dispose()
        assert [pd.Timestamp(d).date() for d in result.equity_curve["date"]] == days
        trades.append(result.trades)
    assert len(trades[0]) > 0
    pd.testing.assert_frame_equal(trades[0], trades[1])
