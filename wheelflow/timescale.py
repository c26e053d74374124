"""Every TimescaleDB statement, isolated here; runs only when the extension is installed.

Detection at start-up: ``pg_extension`` tells whether timescaledb is installed in the database,
``current_setting('timescaledb.license', true)`` tells whether the TSL build (continuous
aggregates, compression, policies) or the Apache build (hypertables, time_bucket) is present.
Plain PostgreSQL and SQLite get the fallbacks: ordinary tables with their indexes, ``date_bin``
for bucketing, a materialized view instead of a continuous aggregate, DELETE for retention.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

# Time-series tables and their time column. Hypertables need the time column in every unique
# index; all of these have it in their primary key.
HYPERTABLES: dict[str, str] = {
    "option_snapshots": "snapshot_at",
    "underlying_quotes": "snapshot_at",
}
CHUNK_INTERVAL = "7 days"
DAILY_IV_VIEW = "option_iv_daily"


@dataclass(frozen=True)
class TimescaleSupport:
    installed: bool
    license: str | None  # 'timescale' (TSL, full) | 'apache' | None

    @property
    def continuous_aggregates(self) -> bool:
        return self.installed and self.license == "timescale"


def detect(conn: Connection) -> TimescaleSupport:
    if conn.dialect.name != "postgresql":
        return TimescaleSupport(False, None)
    installed = conn.execute(
        text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    ).first()
    if not installed:
        return TimescaleSupport(False, None)
    lic = conn.execute(text("SELECT current_setting('timescaledb.license', true)")).scalar()
    return TimescaleSupport(True, str(lic) if lic else None)


def _daily_iv_select(bucket: str) -> str:
    return (
        f"SELECT {bucket} AS day, underlying, avg(iv) AS mean_iv, count(*) AS contracts "
        "FROM option_snapshots WHERE iv IS NOT NULL GROUP BY 1, 2"
    )


def apply(engine: Engine) -> TimescaleSupport:
    """Create hypertables and the daily-IV aggregate where supported, fallbacks elsewhere.

    Idempotent. On SQLite it does nothing (the aggregate is a query there).
    """
    if engine.dialect.name != "postgresql":
        return TimescaleSupport(False, None)
    with engine.begin() as conn:
        support = detect(conn)
        if support.installed:
            for tbl, col in HYPERTABLES.items():
                conn.execute(
                    text(
                        "SELECT create_hypertable(:t, :c, chunk_time_interval => "
                        f"INTERVAL '{CHUNK_INTERVAL}', if_not_exists => TRUE, "
                        "migrate_data => TRUE)"
                    ),
                    {"t": tbl, "c": col},
                )
        exists = (
            conn.execute(
                text(
                    "SELECT 1 FROM pg_matviews WHERE matviewname = :v "
                    "AND schemaname = current_schema()"
                ),
                {"v": DAILY_IV_VIEW},
            ).first()
            or conn.execute(
                text(
                    "SELECT 1 FROM pg_views WHERE viewname = :v AND schemaname = current_schema()"
                ),
                {"v": DAILY_IV_VIEW},
            ).first()
        )
        if not exists:
            if support.continuous_aggregates:
                conn.execute(
                    text(
                        f"CREATE MATERIALIZED VIEW {DAILY_IV_VIEW} "
                        "WITH (timescaledb.continuous) AS "
                        + _daily_iv_select("time_bucket(INTERVAL '1 day', snapshot_at)")
                        + " WITH NO DATA"
                    )
                )
            else:
                conn.execute(
                    text(
                        f"CREATE MATERIALIZED VIEW {DAILY_IV_VIEW} AS "
                        + _daily_iv_select(
                            "date_bin(INTERVAL '1 day', snapshot_at, TIMESTAMP '2000-01-01')"
                        )
                        + " WITH NO DATA"
                    )
                )
    return support


def refresh_daily_iv(engine: Engine) -> None:
    """Refresh the daily IV aggregate (continuous aggregate or materialized view)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        support = detect(conn)
    if support.continuous_aggregates:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"CALL refresh_continuous_aggregate('{DAILY_IV_VIEW}', NULL, NULL)"))
    else:
        with engine.begin() as conn:
            conn.execute(text(f"REFRESH MATERIALIZED VIEW {DAILY_IV_VIEW}"))


def apply_retention(engine: Engine, older_than_days: int) -> int:
    """Drop option snapshots older than the horizon (drop_chunks on TimescaleDB, else DELETE)."""
    with engine.begin() as conn:
        support = detect(conn)
        if support.installed:
            rows = conn.execute(
                text(
                    "SELECT drop_chunks('option_snapshots', older_than => "
                    f"now() - INTERVAL '{int(older_than_days)} days')"
                )
            ).fetchall()
            return len(rows)
        result = conn.execute(
            text("DELETE FROM option_snapshots WHERE snapshot_at < :cutoff"),
            {"cutoff": _cutoff(older_than_days)},
        )
        return int(result.rowcount or 0)


def _cutoff(days: int):  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days)
