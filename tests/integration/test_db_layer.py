"""The data layer on SQLite and PostgreSQL: migrations match the models, upserts are idempotent
and transactional."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pandas as pd
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from models.tables import Base
from wheelflow.db import read_frame, table_counts, transaction, upsert_frame

SNAP = dt.datetime(2026, 11, 24, 21, 0)


def _quotes(last: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "snapshot_at": SNAP,
            "symbol": ["F", "T"],
            "bid": [last - 0.01, 20.0],
            "ask": [last + 0.01, 20.02],
            "last": [last, 20.01],
            "prev_close": [None, 19.5],
            "volume": [1000, 2000],
            "quote_time": SNAP,
            "provider": "test",
        }
    )


def test_migrations_create_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Type-only differences of JSON on SQLite are not schema drift.
    assert [d for d in diff if d[0] not in {"modify_type"}] == []


def test_upsert_twice_leaves_one_row_per_key_with_latest_values(engine: Engine) -> None:
    with transaction(engine) as conn:
        upsert_frame(conn, "underlying_quotes", _quotes(10.0))
    with transaction(engine) as conn:
        upsert_frame(conn, "underlying_quotes", _quotes(11.0))
    with engine.connect() as conn:
        rows = read_frame(
            conn,
            "SELECT symbol, last, prev_close FROM underlying_quotes "
            "WHERE snapshot_at = :s ORDER BY symbol",
            {"s": SNAP},
        )
    assert list(rows["last"]) == [11.0, 20.01]
    assert rows["prev_close"].isna().iloc[0]  # None stays NULL


def test_a_failed_write_leaves_nothing_half_written(engine: Engine) -> None:
    bad = _quotes(10.0)
    bad.loc[1, "last"] = None  # NOT NULL column
    with (
        pytest.raises((sqlite3.IntegrityError, psycopg.errors.IntegrityError)),
        transaction(engine) as conn,
    ):
        upsert_frame(
            conn,
            "watchlist",
            pd.DataFrame({"symbol": ["F"], "active": True, "source": "t", "added_at": SNAP}),
        )
        upsert_frame(conn, "underlying_quotes", bad)
    counts = table_counts(engine)
    assert counts["watchlist"] == 0 and counts["underlying_quotes"] == 0


def test_json_columns_round_trip(engine: Engine) -> None:
    frame = pd.DataFrame(
        [
            {
                "snapshot_at": SNAP,
                "stage": "chains",
                "batch": "all",
                "run_id": "r",
                "suite": "chains",
                "success": True,
                "evaluated_rows": 3,
                "failed_rows": 0,
                "bad_fraction": 0.0,
                "expectations": [{"expectation": "x", "success": True}],
                "created_at": SNAP,
            }
        ]
    )
    with transaction(engine) as conn:
        upsert_frame(conn, "quality_results", frame)
        upsert_frame(conn, "quality_results", frame)
    with engine.connect() as conn:
        got = read_frame(conn, "SELECT expectations FROM quality_results")
    value = got["expectations"].iloc[0]
    value = value if isinstance(value, list) else __import__("json").loads(value)
    assert value == [{"expectation": "x", "success": True}]


def test_insert_only_mode_keeps_the_first_row(engine: Engine) -> None:
    alert = {
        "dedup_key": "k",
        "created_at": SNAP,
        "kind": "x",
        "severity": "info",
        "title": "first",
        "message": "m",
    }
    with transaction(engine) as conn:
        upsert_frame(
            conn, "alerts", pd.DataFrame([alert]), update=False, conflict_columns=["dedup_key"]
        )
        upsert_frame(
            conn,
            "alerts",
            pd.DataFrame([{**alert, "title": "second"}]),
            update=False,
            conflict_columns=["dedup_key"],
        )
    with engine.connect() as conn:
        assert list(read_frame(conn, "SELECT title FROM alerts")["title"]) == ["first"]
