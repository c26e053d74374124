"""Operational upkeep flows (deployments in ``deployments/prefect.yaml``, scheduled by Prefect).

timescale_upkeep: retention (time series and the rankings, risk checks and gate results of the
dropped snapshots), compression policy where the TSL build is present, daily-IV refresh; the
result is a table artifact on the run page. database_backup: a nightly dump with retention.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from prefect import flow, get_run_logger
from pydantic import Field

from tasks import upkeep as t
from wheelflow.runtime import engine_for
from wheelflow.settings import get_settings


@flow(name="timescale_upkeep")
def timescale_upkeep(retention_days: Annotated[int, Field(ge=1)] = 400) -> dict[str, Any]:
    """Keep the time-series tables bounded and the daily views fresh."""
    engine = engine_for(get_settings().resolved_database_url)
    report = t.timescale_upkeep(engine, retention_days)
    for row in report.rows():
        get_run_logger().info("%s", row)
    return {"tables": report.rows()}


@flow(name="database_backup")
def database_backup(
    backup_dir: str | None = None, keep_days: Annotated[int, Field(ge=1)] = 14
) -> dict[str, Any]:
    """Dump the wheelflow database; delete dumps older than ``keep_days`` (newest always kept)."""
    settings = get_settings()
    dest = Path(backup_dir) if backup_dir else settings.data_dir / "backups"
    result = t.database_backup(settings.resolved_database_url, dest, keep_days)
    get_run_logger().info(
        "backup %s (%d bytes), pruned %d", result.path, result.bytes, len(result.pruned)
    )
    return {
        "path": str(result.path),
        "bytes": result.bytes,
        "pruned": [str(p) for p in result.pruned],
    }
