"""Thin tasks of the upkeep flows: TimescaleDB upkeep and database backups."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from wheelflow import backup, timescale


@task(name="timescale-upkeep", cache_policy=NO_CACHE)
def timescale_upkeep(engine: Engine, retention_days: int) -> timescale.UpkeepReport:
    report = timescale.upkeep(engine, retention_days)
    create_table_artifact(
        key="timescale-upkeep",
        table=report.rows(),
        description=(
            f"Retention ({retention_days} days), daily-IV refresh and compression; "
            f"timescaledb installed={report.support.installed} license={report.support.license}"
        ),
    )
    return report


@task(name="database-backup", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=60)
def database_backup(url: str, dest: Path, keep_days: int) -> backup.BackupResult:
    return backup.backup(url, dest, keep_days)
