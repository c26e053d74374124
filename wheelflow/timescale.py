"""Every TimescaleDB statement, isolated here; runs only when the extension is installed.

Detection at start-up: ``pg_extension`` tells whether timescaledb is installed in the database,
``current_setting('timescaledb.license', true)`` tells whether the TSL build (continuous
aggregates, compression, policies) or the Apache build (hypertables, time_bucket, drop_chunks)
is present. Plain PostgreSQL and SQLite get the fallbacks: ordinary tables with their indexes,
``date_bin`` for bucketing, a materialized view instead of a continuous aggregate, DELETE for
retention.

Measured on the Apache build 2.19.3 (Debian trixie, PostgreSQL 17): hypertables, COPY-based
upserts, ``drop_chunks`` work; continuous aggregates are refused, so the daily-IV view is a
plain materialized view there too.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd
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
# Columns of the daily-IV aggregate: day (naive UTC midnight), underlying, mean_iv (annualized,
# decimal), contracts (rows with an IV that day, summed over snapshots).
DAILY_IV_COLUMNS = ("day", "underlying", "mean_iv", "contracts")


@dataclass(frozen=True)
class TimescaleSupport:
    """What the connected database offers."""

    installed: bool
    license: str | None  # 'timescale' (TSL, full) | 'apache' | None

    @property
    def continuous_aggregates(self) -> bool:
        return self.installed and self.license == "timescale"


def detect(conn: Connection) -> TimescaleSupport:
    """Whether timescaledb is installed in the connected database, and which build."""
    if conn.dialect.name != "postgresql":
        return TimescaleSupport(False, None)
    installed = conn.execute(
        text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    ).first()
    if not installed:
        return TimescaleSupport(False, None)
    lic = conn.execute(text("SELECT current_setting('timescaledb.license', true)")).scalar()
    return TimescaleSupport(True, str(lic) if lic else None)


def chunk_counts(engine: Engine) -> dict[str, int]:
    """Chunks per hypertable in the current schema (empty without TimescaleDB)."""
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        if not detect(conn).installed:
            return {}
        rows = conn.execute(
            text(
                "SELECT hypertable_name, num_chunks FROM timescaledb_information.hypertables "
                "WHERE hypertable_schema = current_schema() ORDER BY hypertable_name"
            )
        )
        return {str(name): int(n) for name, n in rows}


def _daily_iv_select(bucket: str) -> str:
    return (
        f"SELECT {bucket} AS day, underlying, avg(iv) AS mean_iv, count(*) AS contracts "
        f"FROM option_snapshots WHERE iv IS NOT NULL GROUP BY {bucket}, underlying"
    )


_DATE_BIN_DAY = "date_bin(INTERVAL '1 day', snapshot_at, TIMESTAMP '2000-01-01')"


def _relation_exists(conn: Connection, name: str) -> bool:
    """A view, materialized view or table called ``name`` in the first schema of search_path."""
    return (
        conn.execute(
            text(
                "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = :name AND n.nspname = current_schema()"
            ),
            {"name": name},
        ).first()
        is not None
    )


def apply(engine: Engine) -> TimescaleSupport:
    """Create hypertables and the daily-IV aggregate where supported, fallbacks elsewhere.

    Idempotent (runs after every ``ensure_schema``). On SQLite it does nothing (the aggregate is
    a query there, see :func:`read_daily_iv`).
    """
    if engine.dialect.name != "postgresql":
        return TimescaleSupport(False, None)
    with engine.begin() as conn:
        support = detect(conn)
        if support.installed:
            for tbl, col in HYPERTABLES.items():
                conn.execute(
                    text(
                        "SELECT create_hypertable(CAST(:t AS regclass), CAST(:c AS name), "
                        f"chunk_time_interval => INTERVAL '{CHUNK_INTERVAL}', "
                        "if_not_exists => TRUE, migrate_data => TRUE)"
                    ),
                    {"t": tbl, "c": col},
                )
        if not _relation_exists(conn, DAILY_IV_VIEW):
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
                        + _daily_iv_select(_DATE_BIN_DAY)
                        + " WITH NO DATA"
                    )
                )
                # A unique index lets later refreshes run CONCURRENTLY (readers never blocked).
                conn.execute(
                    text(
                        f"CREATE UNIQUE INDEX ux_{DAILY_IV_VIEW}_day_underlying "
                        f"ON {DAILY_IV_VIEW} (day, underlying)"
                    )
                )
    log.info("timescale: installed=%s license=%s", support.installed, support.license)
    return support


def refresh_daily_iv(engine: Engine) -> None:
    """Refresh the daily IV aggregate (continuous aggregate or materialized view)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        support = detect(conn)
        populated = conn.execute(
            text(
                "SELECT ispopulated FROM pg_matviews "
                "WHERE matviewname = :v AND schemaname = current_schema()"
            ),
            {"v": DAILY_IV_VIEW},
        ).scalar()
    if support.continuous_aggregates:
        # refresh_continuous_aggregate refuses to run inside a transaction block.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"CALL refresh_continuous_aggregate('{DAILY_IV_VIEW}', NULL, NULL)"))
        return
    concurrently = "CONCURRENTLY " if populated else ""
    with engine.begin() as conn:
        conn.execute(text(f"REFRESH MATERIALIZED VIEW {concurrently}{DAILY_IV_VIEW}"))


def read_daily_iv(conn: Connection, underlying: str | None = None) -> pd.DataFrame:
    """Daily mean IV per underlying (columns :data:`DAILY_IV_COLUMNS`), on any backend.

    PostgreSQL reads the view as of its last refresh; SQLite aggregates on the fly.
    """
    where = "WHERE underlying = :u " if underlying else ""
    if conn.dialect.name == "postgresql":
        sql = f"SELECT day, underlying, mean_iv, contracts FROM {DAILY_IV_VIEW} {where}"
    else:
        day = "datetime(date(snapshot_at))"
        sql = (
            f"SELECT {day} AS day, underlying, avg(iv) AS mean_iv, count(*) AS contracts "
            f"FROM option_snapshots WHERE iv IS NOT NULL "
            f"{where.replace('WHERE', 'AND')}GROUP BY 1, 2 "
        )
    result = conn.execute(text(sql + "ORDER BY day, underlying"), {"u": underlying})
    frame = pd.DataFrame(result.fetchall(), columns=list(DAILY_IV_COLUMNS))
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


@dataclass(frozen=True)
class RetentionResult:
    """What one retention pass removed from a table."""

    table: str
    rows_deleted: int
    chunks_dropped: int  # whole TimescaleDB chunks; 0 on plain PostgreSQL and SQLite


def apply_retention(
    engine: Engine, older_than_days: int, tables: tuple[str, ...] = tuple(HYPERTABLES)
) -> list[RetentionResult]:
    """Delete time-series rows older than ``older_than_days`` days (naive UTC now - days).

    On TimescaleDB whole chunks go with ``drop_chunks`` (cheap, no dead tuples); the rows older
    than the horizon in the boundary chunk then go with DELETE, so the result is exact on every
    backend. One transaction for all tables.
    """
    if older_than_days < 0:
        raise ValueError(f"older_than_days must be >= 0, got {older_than_days}")
    cutoff = _cutoff(older_than_days)
    results: list[RetentionResult] = []
    with engine.begin() as conn:
        support = detect(conn)
        for tbl in tables:
            col = HYPERTABLES[tbl]
            rows = int(
                conn.execute(
                    text(f"SELECT count(*) FROM {tbl} WHERE {col} < :cutoff"), {"cutoff": cutoff}
                ).scalar_one()
            )
            chunks = 0
            if support.installed:
                # The time column is timestamp without time zone: the bound must be one too.
                chunks = len(
                    conn.execute(
                        text(
                            "SELECT drop_chunks(CAST(:t AS regclass), "
                            "older_than => CAST(:cutoff AS timestamp))"
                        ),
                        {"t": tbl, "cutoff": cutoff},
                    ).fetchall()
                )
            conn.execute(text(f"DELETE FROM {tbl} WHERE {col} < :cutoff"), {"cutoff": cutoff})
            results.append(RetentionResult(tbl, rows, chunks))
    return results


def _cutoff(days: int) -> dt.datetime:
    """Naive UTC now minus ``days`` days (the tables store naive UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days)
