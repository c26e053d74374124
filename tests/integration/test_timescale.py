"""TimescaleDB DDL and its plain-PostgreSQL / SQLite fallbacks (wheelflow.timescale).

The TimescaleDB tests run against a real server when ``WHEELFLOW_TEST_TIMESCALE_URL`` is set
(``deployments/timescale/start-timescale.sh`` starts one on 127.0.0.1:5433 and prints the URL);
each test gets a database of its own there, created empty (without the extension: our migration
step creates it) and dropped afterwards, so nothing an earlier run left behind is ever seen. The
fallback tests use the ``engine`` fixture (SQLite and plain PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections.abc import Callable, Iterator

import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, create_engine, make_url, text

from wheelflow import timescale
from wheelflow.db import ensure_schema, make_engine, read_frame, transaction, upsert_frame

TIMESCALE_URL = os.environ.get("WHEELFLOW_TEST_TIMESCALE_URL", "")
NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)

requires_timescale = pytest.mark.skipif(
    not TIMESCALE_URL,
    reason="WHEELFLOW_TEST_TIMESCALE_URL is not set "
    "(run deployments/timescale/start-timescale.sh and export the URL it prints)",
)


@pytest.fixture
def fresh_ts_url() -> Iterator[str]:
    """The URL of a new, empty database on the TimescaleDB server, dropped after the test."""
    name = f"wf_ts_{uuid.uuid4().hex[:12]}"
    admin = create_engine(TIMESCALE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(TIMESCALE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def ts_engine(fresh_ts_url: str) -> Iterator[Engine]:
    """A migrated engine on a fresh database of the TimescaleDB server."""
    eng = make_engine(fresh_ts_url)
    try:
        ensure_schema(eng)
        yield eng
    finally:
        eng.dispose()


plain_postgres = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


def snapshots(days_ago: list[float], iv: list[float], underlying: str = "AAPL") -> pd.DataFrame:
    """Option snapshot rows, one contract per row, taken ``days_ago`` days before now."""
    n = len(days_ago)
    return pd.DataFrame(
        {
            "snapshot_at": [NOW - dt.timedelta(days=d) for d in days_ago],
            "occ_symbol": [f"{underlying:<6}270115P{100_000 + i:08d}" for i in range(n)],
            "underlying": underlying,
            "expiration": dt.date(2027, 1, 15),
            "strike": 100.0,
            "right": "P",
            "bid": 1.0,
            "ask": 1.1,
            "underlying_price": 101.0,
            "iv": iv,
            "iv_status": "ok",
            "provider": "test",
        }
    )


def quotes(days_ago: list[float], symbol: str = "AAPL") -> pd.DataFrame:
    """Underlying quote rows taken ``days_ago`` days before now."""
    times = [NOW - dt.timedelta(days=d) for d in days_ago]
    return pd.DataFrame(
        {
            "snapshot_at": times,
            "symbol": symbol,
            "last": 101.0,
            "quote_time": times,
            "provider": "test",
        }
    )


def rankings(days_ago: list[float]) -> pd.DataFrame:
    """One csp ranking row per snapshot taken ``days_ago`` days before now."""
    n = len(days_ago)
    return pd.DataFrame(
        {
            "snapshot_at": [NOW - dt.timedelta(days=d) for d in days_ago],
            "strategy": "csp",
            "occ_symbol": "AAPL  270115P00100000",
            "run_id": [f"run-{i}" for i in range(n)],
            "rank": 1,
            "underlying": "AAPL",
            "expiration": dt.date(2027, 1, 15),
            "strike": 100.0,
            "right": "P",
            "underlying_price": 101.0,
            "bid": 1.0,
            "ask": 1.1,
            "premium": 1.05,
            "days_to_expiry": 30,
            "period_return": 0.01,
            "annualized_return": 0.12,
            "probability_otm": 0.8,
            "delta": -0.2,
            "iv": 0.3,
            "breakeven": 98.95,
            "collateral": 10_000.0,
            "spread_pct": 0.05,
            "score": 1.0,
            "blocked": False,
        }
    )


def risk_checks(days_ago: list[float]) -> pd.DataFrame:
    """One passed portfolio check per snapshot taken ``days_ago`` days before now."""
    return pd.DataFrame(
        {
            "snapshot_at": [NOW - dt.timedelta(days=d) for d in days_ago],
            "check_name": "max_collateral",
            "subject": "portfolio",
            "run_id": [f"run-{i}" for i in range(len(days_ago))],
            "passed": True,
            "message": "ok",
        }
    )


def hypertable_names(conn: Connection) -> set[str]:
    rows = conn.execute(
        text(
            "SELECT hypertable_name FROM timescaledb_information.hypertables "
            "WHERE hypertable_schema = current_schema()"
        )
    )
    return {r[0] for r in rows}


def chunk_count(conn: Connection, table_name: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM show_chunks('{table_name}')")).scalar_one())


# --------------------------------------------------------------------------- TimescaleDB


@requires_timescale
def test_the_migration_creates_the_extension_in_an_empty_database(fresh_ts_url: str) -> None:
    eng = make_engine(fresh_ts_url)
    try:
        with eng.connect() as conn:
            assert not timescale.detect(conn).installed
        ensure_schema(eng)
        with eng.connect() as conn:
            assert timescale.detect(conn).installed
            assert hypertable_names(conn) == {"option_snapshots", "underlying_quotes"}
    finally:
        eng.dispose()


@requires_timescale
def test_detect_finds_the_extension_and_its_license(ts_engine: Engine) -> None:
    with ts_engine.connect() as conn:
        support = timescale.detect(conn)
    assert support.installed
    assert support.license in {"apache", "timescale"}


@requires_timescale
def test_apply_makes_hypertables_of_option_snapshots_and_underlying_quotes(
    ts_engine: Engine,
) -> None:
    with ts_engine.connect() as conn:
        assert hypertable_names(conn) == {"option_snapshots", "underlying_quotes"}


@requires_timescale
def test_apply_twice_changes_nothing(ts_engine: Engine) -> None:
    with transaction(ts_engine) as conn:
        upsert_frame(conn, "option_snapshots", snapshots([1, 2], [0.2, 0.3]))
    timescale.apply(ts_engine)
    with ts_engine.connect() as conn:
        assert hypertable_names(conn) == {"option_snapshots", "underlying_quotes"}
        assert conn.execute(text("SELECT count(*) FROM option_snapshots")).scalar_one() == 2


@requires_timescale
def test_upsert_into_a_hypertable_updates_rows_with_the_same_key(ts_engine: Engine) -> None:
    rows = snapshots([1, 9, 20], [0.2, 0.3, 0.4])
    with transaction(ts_engine) as conn:
        upsert_frame(conn, "option_snapshots", rows)
    with transaction(ts_engine) as conn:
        upsert_frame(conn, "option_snapshots", rows.assign(iv=rows["iv"] + 0.1))
    with ts_engine.connect() as conn:
        stored = read_frame(conn, "SELECT iv FROM option_snapshots ORDER BY snapshot_at DESC")
        assert stored["iv"].round(6).tolist() == [0.3, 0.4, 0.5]
        assert chunk_count(conn, "option_snapshots") >= 2


@requires_timescale
def test_upsert_into_the_underlying_quotes_hypertable_is_idempotent(ts_engine: Engine) -> None:
    for _ in range(2):
        with transaction(ts_engine) as conn:
            upsert_frame(conn, "underlying_quotes", quotes([0.5, 1.5, 15]))
    with ts_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM underlying_quotes")).scalar_one() == 3


@requires_timescale
def test_daily_iv_view_refreshes_to_the_mean_iv_per_day_and_underlying(
    ts_engine: Engine,
) -> None:
    with transaction(ts_engine) as conn:
        upsert_frame(conn, "option_snapshots", snapshots([3, 3, 10], [0.2, 0.4, 0.5]))
    timescale.refresh_daily_iv(ts_engine)
    timescale.refresh_daily_iv(ts_engine)  # the second refresh runs CONCURRENTLY
    with ts_engine.connect() as conn:
        daily = timescale.read_daily_iv(conn, "AAPL")
    assert daily["mean_iv"].round(6).tolist() == [0.5, 0.3]
    assert daily["contracts"].tolist() == [1, 2]


@requires_timescale
def test_retention_drops_old_chunks_and_the_old_rows_of_the_boundary_chunk(
    ts_engine: Engine,
) -> None:
    with transaction(ts_engine) as conn:
        upsert_frame(conn, "option_snapshots", snapshots([1, 2, 29, 31, 60, 90], [0.2] * 6))
        chunks_before = chunk_count(conn, "option_snapshots")
    results = timescale.apply_retention(ts_engine, 30, tables=("option_snapshots",))
    assert results[0].rows_deleted == 3
    assert results[0].chunks_dropped >= 2
    with ts_engine.connect() as conn:
        assert chunk_count(conn, "option_snapshots") == chunks_before - results[0].chunks_dropped
        oldest = conn.execute(text("SELECT min(snapshot_at) FROM option_snapshots")).scalar_one()
    assert oldest >= NOW - dt.timedelta(days=30)


@requires_timescale
def test_daily_iv_view_reads_without_error_before_its_first_refresh(ts_engine: Engine) -> None:
    with ts_engine.connect() as conn:
        assert timescale.read_daily_iv(conn).empty


@requires_timescale
def test_retention_also_prunes_rankings_and_risk_checks_of_dropped_snapshots(
    ts_engine: Engine,
) -> None:
    with transaction(ts_engine) as conn:
        upsert_frame(conn, "option_snapshots", snapshots([1, 60], [0.2, 0.3]))
        upsert_frame(conn, "rankings", rankings([1, 60]))
        upsert_frame(conn, "risk_checks", risk_checks([1, 60]))
    results = {r.table: r.rows_deleted for r in timescale.apply_retention(ts_engine, 30)}
    assert results["rankings"] == 1 and results["risk_checks"] == 1
    with ts_engine.connect() as conn:
        for tbl in ("option_snapshots", "rankings", "risk_checks"):
            kept = conn.execute(text(f"SELECT min(snapshot_at) FROM {tbl}")).scalar_one()
            assert kept >= NOW - dt.timedelta(days=30), tbl


@requires_timescale
def test_compression_is_reported_with_its_fallback_on_the_apache_build(
    ts_engine: Engine,
) -> None:
    with ts_engine.connect() as conn:
        support = timescale.detect(conn)
    status = timescale.compression_status(ts_engine)
    assert [c.table for c in status] == list(timescale.HYPERTABLES)
    if support.compression:  # TSL build: a policy on every hypertable
        assert all(c.enabled and "policy" in c.note for c in status)
    else:
        assert not any(c.enabled for c in status)
        assert all("Apache build" in c.note and "retention" in c.note for c in status)


@requires_timescale
def test_apache_build_gets_a_plain_materialized_view_for_daily_iv(ts_engine: Engine) -> None:
    with ts_engine.connect() as conn:
        if timescale.detect(conn).continuous_aggregates:
            pytest.skip("TSL build: the daily IV view is a continuous aggregate there")
        definition = conn.execute(
            text("SELECT definition FROM pg_matviews WHERE matviewname = :v"),
            {"v": timescale.DAILY_IV_VIEW},
        ).scalar_one()
    assert "date_bin" in definition


# --------------------------------------------------------------------------- fallbacks


@plain_postgres
def test_plain_postgresql_is_detected_as_without_timescaledb(engine: Engine) -> None:
    with engine.connect() as conn:
        assert timescale.detect(conn) == timescale.TimescaleSupport(False, None)


@plain_postgres
def test_plain_postgresql_daily_iv_is_a_materialized_view_with_date_bin(engine: Engine) -> None:
    with engine.connect() as conn:
        definition = conn.execute(
            text(
                "SELECT definition FROM pg_matviews "
                "WHERE matviewname = :v AND schemaname = current_schema()"
            ),
            {"v": timescale.DAILY_IV_VIEW},
        ).scalar_one()
    assert "date_bin" in definition


def test_daily_iv_reads_the_mean_iv_per_day_and_underlying(engine: Engine) -> None:
    with transaction(engine) as conn:
        upsert_frame(conn, "option_snapshots", snapshots([3, 3, 10], [0.2, 0.4, 0.5]))
        upsert_frame(conn, "option_snapshots", snapshots([3], [0.9], underlying="MSFT"))
    timescale.refresh_daily_iv(engine)
    with engine.connect() as conn:
        daily = timescale.read_daily_iv(conn, "AAPL")
    assert daily["day"].tolist() == [
        pd.Timestamp((NOW - dt.timedelta(days=d)).date()) for d in (10, 3)
    ]
    assert daily["mean_iv"].round(6).tolist() == [0.5, 0.3]


def test_retention_deletes_rows_older_than_the_horizon(engine: Engine) -> None:
    with transaction(engine) as conn:
        upsert_frame(conn, "option_snapshots", snapshots([1, 29, 31, 90], [0.2] * 4))
        upsert_frame(conn, "underlying_quotes", quotes([1, 45]))
        upsert_frame(conn, "rankings", rankings([1, 60]))
        upsert_frame(conn, "risk_checks", risk_checks([60]))
    results = timescale.apply_retention(engine, 30)
    assert [(r.table, r.rows_deleted, r.chunks_dropped) for r in results] == [
        ("option_snapshots", 2, 0),
        ("underlying_quotes", 1, 0),
        ("rankings", 1, 0),
        ("risk_checks", 1, 0),
        ("quality_results", 0, 0),
        ("quarantined_rows", 0, 0),
    ]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM option_snapshots")).scalar_one() == 2


def test_retention_refuses_a_negative_horizon(engine: Engine) -> None:
    with pytest.raises(ValueError, match="older_than_days"):
        timescale.apply_retention(engine, -1)


# --------------------------------------------------------------------------- the command


@pytest.fixture
def cli_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Engine, list[str]], int]]:
    """Run ``wheelflow ...`` in-process against a given engine's database."""
    from wheelflow.cli import main
    from wheelflow.settings import get_settings

    def run(engine: Engine, argv: list[str]) -> int:
        monkeypatch.setenv(
            "WHEELFLOW_DATABASE_URL", engine.url.render_as_string(hide_password=False)
        )
        get_settings.cache_clear()
        return main(argv)

    yield run
    get_settings.cache_clear()


def test_retention_command_reports_what_it_deleted(
    engine: Engine, cli_on: Callable[[Engine, list[str]], int], capsys: pytest.CaptureFixture[str]
) -> None:
    with transaction(engine) as conn:
        upsert_frame(conn, "option_snapshots", snapshots([1, 45], [0.2, 0.3]))
    assert cli_on(engine, ["timescale", "retention", "--older-than-days", "30"]) == 0
    assert "option_snapshots: 1 rows deleted, 0 chunks dropped" in capsys.readouterr().out


def test_retention_command_refuses_a_zero_horizon_with_one_clear_line(
    sqlite_engine: Engine,
    cli_on: Callable[[Engine, list[str]], int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli_on(sqlite_engine, ["timescale", "retention", "--older-than-days", "0"]) == 2
    assert "--older-than-days must be >= 1" in capsys.readouterr().err


@requires_timescale
def test_status_command_names_the_license_and_the_chunks(
    ts_engine: Engine,
    cli_on: Callable[[Engine, list[str]], int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with transaction(ts_engine) as conn:
        upsert_frame(conn, "option_snapshots", snapshots([1, 20], [0.2, 0.3]))
    assert cli_on(ts_engine, ["timescale", "status"]) == 0
    out = capsys.readouterr().out
    assert "timescaledb: installed" in out
    assert re.search(r"option_snapshots\s+2 chunks", out)
    assert "compression option_snapshots:" in out
