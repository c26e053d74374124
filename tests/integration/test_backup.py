"""Backups with retention and the restore drill (wheelflow.backup, restore-drill.sh).

PostgreSQL backups dump a whole database, so the PostgreSQL tests create a database of their
own on the test server (and drop it); SQLite uses a fresh file.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, make_url, text

from tests.conftest import PG_ADMIN_URL, require_postgres
from wheelflow import backup
from wheelflow.db import ensure_schema, make_engine, table_counts, transaction, upsert_frame

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 30, 15, 0)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database holding two underlying quotes: its URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.sqlite'}"
        admin = None
    else:
        require_postgres()
        name = f"wf_bk_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    ensure_schema(engine)
    with transaction(engine) as conn:
        upsert_frame(
            conn,
            "underlying_quotes",
            pd.DataFrame(
                {
                    "snapshot_at": [NOW, NOW],
                    "symbol": ["AAPL", "MSFT"],
                    "last": [190.0, 410.0],
                    "quote_time": [NOW, NOW],
                    "provider": "test",
                }
            ),
        )
    engine.dispose()
    try:
        yield url
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_a_backup_restores_into_a_scratch_database_with_the_same_row_counts(
    database: str, tmp_path: Path
) -> None:
    result = backup.backup(database, tmp_path / "backups", keep_days=14)
    assert result.path.is_file() and result.bytes > 0
    drill = backup.drill(database, result.path)
    assert drill.matches
    assert drill.counts["underlying_quotes"] == (2, 2)


def test_the_drill_notices_a_backup_that_lacks_rows(database: str, tmp_path: Path) -> None:
    old = backup.backup(database, tmp_path / "backups", keep_days=14)
    engine = make_engine(database)
    with transaction(engine) as conn:
        conn.execute(text("DELETE FROM underlying_quotes WHERE symbol = 'MSFT'"))
    engine.dispose()
    drill = backup.drill(database, old.path)
    assert not drill.matches
    assert drill.counts["underlying_quotes"] == (1, 2)


def test_retention_deletes_old_backups_and_always_keeps_the_newest(tmp_path: Path) -> None:
    dest = tmp_path / "backups"
    dest.mkdir()
    now = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
    for days in (1, 10, 20, 30):
        stamp = (now - dt.timedelta(days=days)).strftime("%Y%m%dT%H%M%SZ")
        (dest / f"wheelflow-{stamp}.dump").write_bytes(b"x")
    (dest / "notes.txt").write_text("not a backup")
    pruned = backup.prune(dest, keep_days=14, now=now)
    assert sorted(p.name[10:18] for p in pruned) == ["20261101", "20261111"]
    assert sorted(p.name for p in dest.iterdir())[-1] == "wheelflow-20261130T030000Z.dump"
    assert (dest / "notes.txt").exists()
    # Everything older than the horizon: the newest still stays.
    assert backup.prune(dest, keep_days=1, now=now + dt.timedelta(days=60)) != []
    assert len(list(dest.glob("wheelflow-*"))) == 1


def test_the_password_reaches_pg_dump_in_the_environment_never_on_its_command_line() -> None:
    args, env = backup._libpq(make_url("postgresql+psycopg://wf:s3cret@db.internal:6543/w"))
    assert "s3cret" not in " ".join(args)
    assert env["PGPASSWORD"] == "s3cret"
    assert args[:4] == ["--host", "db.internal", "--port", "6543"]


def test_the_restore_drill_script_backs_up_restores_and_compares(
    database: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "WHEELFLOW_DATABASE_URL": database,
        "WHEELFLOW_DATA_DIR": str(tmp_path / "data"),
        "WHEELFLOW": str(Path(sys.executable).parent / "wheelflow"),
    }
    done = subprocess.run(
        ["bash", str(ROOT / "deployments/backup/restore-drill.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "restore drill passed" in done.stdout
    assert len(list((tmp_path / "data" / "backups").glob("wheelflow-*"))) == 1
    assert table_counts(make_engine(database))["underlying_quotes"] == 2
