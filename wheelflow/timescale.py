"""Every TimescaleDB statement, isolated here; runs only when the extension is available.

Our migration step (``wheelflow db upgrade`` -> :func:`apply`) creates the ``timescaledb``
extension itself when the server offers it (``pg_available_extensions``) and the role may create
it; nothing relies on an image's init scripts. Detection at start-up: ``pg_extension`` tells
whether timescaledb is installed in the database,
``current_setting('timescaledb.license', true)`` tells whether the TSL build (continuous
aggregates, compression, policies) or the Apache build (hypertables, time_bucket, drop_chunks)
is present. Plain PostgreSQL and SQLite get the fallbacks: ordinary tables with their indexes,
``date_bin`` for bucketing, a materialized view instead of a continuous aggregate, DELETE for
retention.

Measured on the Apache build 2.19.3 (Debian trixie, PostgreSQL 17): hypertables, COPY-based
upserts, ``drop_chunks`` work; continuous aggregates are refused, so the daily-IV view is a
plain materialized view there too. Compression (and its policy) needs the TSL build: there
:func:`apply` enables it on the hypertables and adds a policy compressing chunks older than
:data:`COMPRESS_AFTER`; on the Apache build :func:`compression_status` reports it unavailable
and retention alone bounds the size (the stated fallback).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from wheelflow.db import execute

log = logging.getLogger(__name__)

# Time-series tables and their time column. Hypertables need the time column in every unique
# index; all of these have it in their primary key.
HYPERTABLES: dict[str, str] = {
    "option_snapshots": "snapshot_at",
    "underlying_quotes": "snapshot_at",
}
CHUNK_INTERVAL = "7 days"
COMPRESS_AFTER = "14 days"
# How each hypertable is compressed (TSL build): segment by the symbol the readers filter on.
COMPRESS_SEGMENT_BY: dict[str, str] = {
    "option_snapshots": "underlying",
    "underlying_quotes": "symbol",
}
# Tables holding per-snapshot results derived from the time series: retention prunes their rows
# of the snapshots it drops, so no ranking or risk check outlives the data it was computed from.
DERIVED_TABLES: tuple[str, ...] = (
    "rankings",
    "risk_checks",
    "quality_results",
    "quarantined_rows",
)
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

    @property
    def compression(self) -> bool:
        """Native compression and its policies: TSL build only."""
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


def create_extension(conn: Connection) -> bool:
    """Create ``timescaledb`` in the connected database when the server offers it.

    Returns whether it is installed afterwards. A server without the package, without
    ``shared_preload_libraries = 'timescaledb'`` or a role without the right to create it keeps
    plain PostgreSQL (logged, never an error: every statement here has a fallback).
    """
    if conn.dialect.name != "postgresql":
        return False
    if conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first():
        return True
    available = conn.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).first()
    if not available:
        return False
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
    except DBAPIError as exc:
        log.warning("timescale: extension available but not created: %s", exc.orig)
        return False
    log.info("timescale: created the timescaledb extension")
    return True


def apply(engine: Engine) -> TimescaleSupport:
    """Create the extension, hypertables, compression and the daily-IV aggregate where
    supported, fallbacks elsewhere.

    Idempotent (runs after every ``ensure_schema``). On SQLite it does nothing (the aggregate is
    a query there, see :func:`read_daily_iv`). The daily-IV view is readable right after: a
    materialized view is created WITH DATA (and an unpopulated one from an older version is
    refreshed here), a continuous aggregate reads empty until its first refresh.
    """
    if engine.dialect.name != "postgresql":
        return TimescaleSupport(False, None)
    with engine.begin() as conn:
        create_extension(conn)
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
        if support.compression:
            _enable_compression(conn)
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
                        + " WITH DATA"
                    )
                )
                # A unique index lets later refreshes run CONCURRENTLY (readers never blocked).
                conn.execute(
                    text(
                        f"CREATE UNIQUE INDEX ux_{DAILY_IV_VIEW}_day_underlying "
                        f"ON {DAILY_IV_VIEW} (day, underlying)"
                    )
                )
        elif _populated(conn) is False:
            conn.execute(text(f"REFRESH MATERIALIZED VIEW {DAILY_IV_VIEW}"))
    log.info("timescale: installed=%s license=%s", support.installed, support.license)
    return support


def _populated(conn: Connection) -> bool | None:
    """Whether the plain materialized view holds data (None: no such matview, e.g. a cagg)."""
    value = conn.execute(
        text(
            "SELECT ispopulated FROM pg_matviews "
            "WHERE matviewname = :v AND schemaname = current_schema()"
        ),
        {"v": DAILY_IV_VIEW},
    ).scalar()
    return None if value is None else bool(value)


def _enable_compression(conn: Connection) -> None:
    """TSL build: compress chunks older than :data:`COMPRESS_AFTER`, segmented by symbol."""
    for tbl, segment_by in COMPRESS_SEGMENT_BY.items():
        col = HYPERTABLES[tbl]
        conn.execute(
            text(
                f"ALTER TABLE {tbl} SET (timescaledb.compress, "
                f"timescaledb.compress_segmentby = '{segment_by}', "
                f"timescaledb.compress_orderby = '{col} DESC')"
            )
        )
        conn.execute(
            text(
                "SELECT add_compression_policy(CAST(:t AS regclass), "
                f"INTERVAL '{COMPRESS_AFTER}', if_not_exists => TRUE)"
            ),
            {"t": tbl},
        )


@dataclass(frozen=True)
class CompressionStatus:
    """Compression of one hypertable, or why there is none."""

    table: str
    enabled: bool
    chunks: int
    compressed_chunks: int
    note: str


def compression_status(engine: Engine) -> list[CompressionStatus]:
    """Per hypertable: compression on, chunks compressed; or the fallback in force."""
    if engine.dialect.name != "postgresql":
        return [
            CompressionStatus(t, False, 0, 0, "no TimescaleDB (SQLite): retention bounds size")
            for t in HYPERTABLES
        ]
    with engine.connect() as conn:
        support = detect(conn)
        if not support.installed:
            note = "no TimescaleDB (plain PostgreSQL): retention bounds size"
            return [CompressionStatus(t, False, 0, 0, note) for t in HYPERTABLES]
        counts = chunk_counts(engine)
        if not support.compression:
            note = "Apache build: compression needs the TSL build; retention bounds size"
            return [CompressionStatus(t, False, counts.get(t, 0), 0, note) for t in HYPERTABLES]
        out = []
        for tbl in HYPERTABLES:
            row = conn.execute(
                text(
                    "SELECT h.compression_enabled, "
                    "(SELECT count(*) FROM timescaledb_information.chunks c "
                    " WHERE c.hypertable_name = h.hypertable_name "
                    " AND c.hypertable_schema = h.hypertable_schema AND c.is_compressed) "
                    "FROM timescaledb_information.hypertables h "
                    "WHERE h.hypertable_name = :t AND h.hypertable_schema = current_schema()"
                ),
                {"t": tbl},
            ).first()
            enabled, compressed = (bool(row[0]), int(row[1])) if row else (False, 0)
            note = f"policy: compress chunks older than {COMPRESS_AFTER}"
            out.append(CompressionStatus(tbl, enabled, counts.get(tbl, 0), compressed, note))
        return out


def refresh_daily_iv(engine: Engine) -> None:
    """Refresh the daily IV aggregate (continuous aggregate or materialized view)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        support = detect(conn)
        populated = _populated(conn)
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
    engine: Engine,
    older_than_days: int,
    tables: tuple[str, ...] = tuple(HYPERTABLES),
    derived: tuple[str, ...] = DERIVED_TABLES,
) -> list[RetentionResult]:
    """Delete time-series rows older than ``older_than_days`` days (naive UTC now - days).

    On TimescaleDB whole chunks go with ``drop_chunks`` (cheap, no dead tuples); the rows older
    than the horizon in the boundary chunk then go with DELETE, so the result is exact on every
    backend. The ``derived`` tables (rankings, risk checks, gate results and quarantine of a
    snapshot) lose the rows of the snapshots dropped, by the same horizon. One transaction for
    all tables.
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
        for tbl in derived:
            deleted = execute(
                conn, f"DELETE FROM {tbl} WHERE snapshot_at < :cutoff", {"cutoff": cutoff}
            ).rowcount
            results.append(RetentionResult(tbl, int(deleted or 0), 0))
    return results


def _cutoff(days: int) -> dt.datetime:
    """Naive UTC now minus ``days`` days (the tables store naive UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days)


@dataclass(frozen=True)
class UpkeepReport:
    """One upkeep pass: what retention removed, the view refreshed, compression's state."""

    support: TimescaleSupport
    retention: list[RetentionResult]
    compression: list[CompressionStatus]

    def rows(self) -> list[dict[str, object]]:
        """One row per table, for a table artifact or a CLI listing."""
        squeezed = {c.table: c for c in self.compression}
        out: list[dict[str, object]] = []
        for r in self.retention:
            c = squeezed.get(r.table)
            out.append(
                {
                    "table": r.table,
                    "rows_deleted": r.rows_deleted,
                    "chunks_dropped": r.chunks_dropped,
                    "compression": (
                        "-"
                        if c is None
                        else (f"{c.compressed_chunks}/{c.chunks} chunks" if c.enabled else "off")
                    ),
                    "note": "" if c is None else c.note,
                }
            )
        return out


def upkeep(engine: Engine, retention_days: int) -> UpkeepReport:
    """The scheduled upkeep: DDL (compression policy) current, retention, daily-IV refresh."""
    support = apply(engine)
    retention = apply_retention(engine, retention_days)
    refresh_daily_iv(engine)
    return UpkeepReport(support, retention, compression_status(engine))
