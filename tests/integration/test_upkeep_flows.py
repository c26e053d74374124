"""The operational upkeep flows (flows/upkeep.py) as Prefect runs them, on both databases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from prefect.exceptions import ParameterTypeError
from sqlalchemy import Engine, text

from flows.upkeep import database_backup, timescale_upkeep
from wheelflow.db import transaction, upsert_frame

pytestmark = pytest.mark.usefixtures("prefect_harness")
NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


@pytest.fixture
def configured(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """``engine``'s database is the configured one (as a deployment run reads it)."""
    from wheelflow.settings import get_settings

    monkeypatch.setenv("WHEELFLOW_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    return engine


def test_upkeep_prunes_old_snapshots_with_their_rankings_and_publishes_a_table(
    configured: Engine,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from tests.integration.test_timescale import rankings, snapshots

    with transaction(configured) as conn:
        upsert_frame(conn, "option_snapshots", snapshots([1, 500], [0.2, 0.3]))
        upsert_frame(conn, "rankings", rankings([1, 500]))
    result = timescale_upkeep(retention_days=400)
    deleted = {row["table"]: row["rows_deleted"] for row in result["tables"]}
    assert deleted["option_snapshots"] == 1 and deleted["rankings"] == 1
    with configured.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM rankings")).scalar_one() == 1
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["timescale-upkeep"]))
        )
    assert artifacts and "option_snapshots" in str(artifacts[0].data)


def test_upkeep_refuses_a_retention_below_one_day_before_running() -> None:
    with pytest.raises(ParameterTypeError, match="retention_days"):
        timescale_upkeep(retention_days=0)


def test_the_backup_flow_writes_a_backup_of_the_configured_database(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite (pg_dump of whole PostgreSQL databases: tests/integration/test_backup.py)."""
    from wheelflow.settings import get_settings

    monkeypatch.setenv("WHEELFLOW_DATABASE_URL", str(sqlite_engine.url))
    get_settings.cache_clear()
    with transaction(sqlite_engine) as conn:
        upsert_frame(
            conn,
            "underlying_quotes",
            pd.DataFrame(
                {
                    "snapshot_at": [NOW],
                    "symbol": ["AAPL"],
                    "last": [1.0],
                    "quote_time": [NOW],
                    "provider": "test",
                }
            ),
        )
    result = database_backup(backup_dir=str(tmp_path), keep_days=7)
    assert Path(result["path"]).is_file() and result["bytes"] > 0
