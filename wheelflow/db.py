"""Engines, sessions, migrations and the bulk idempotent upsert used by every write.

One SQLAlchemy URL decides the backend: ``sqlite:///...`` (embedded default) or
``postgresql+psycopg://...``. Bulk writes take the fast path of each backend (psycopg 3 COPY into
a temporary table then ``INSERT ... ON CONFLICT``; SQLite ``executemany`` of the same upsert) and
always run inside the caller's transaction, so a failed write leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    BindParameter,
    Connection,
    Date,
    DateTime,
    Engine,
    Table,
    TextClause,
    bindparam,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

import models.registry  # noqa: F401  (every table on Base.metadata)
from models.tables import Base
from wheelflow.dbcheck import (
    CONNECT_TIMEOUT_SECONDS,
    DatabaseUnavailable,
    describe_failure,
    sqlite_file,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # the form SQLAlchemy's SQLite DateTime stores


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        sqlite_file(url)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def check_reachable(engine: Engine) -> None:
    """Open one connection now, or raise :class:`DatabaseUnavailable` with one clear line."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        url = engine.url.render_as_string(hide_password=False)
        raise DatabaseUnavailable(describe_failure(url, exc)) from None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction: committed on success, rolled back on any error."""
    with engine.begin() as conn:
        yield conn


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply migrations up to ``revision`` (every branch head by default)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def current_revisions(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def ensure_schema(engine: Engine) -> None:
    """Migrate the database to the latest schema (idempotent, cheap when already current)."""
    from alembic.script import ScriptDirectory

    check_reachable(engine)  # one clear line, before Alembic opens its own connection
    heads = set(ScriptDirectory.from_config(alembic_config(str(engine.url))).get_heads())
    if current_revisions(engine) != heads:
        upgrade(engine.url.render_as_string(hide_password=False))
    from wheelflow import timescale

    timescale.apply(engine)


def table(name: str) -> Table:
    return Base.metadata.tables[name]


# --------------------------------------------------------------------------- bulk upsert


def _python_rows(
    frame: pd.DataFrame, columns: Sequence[str], sqlite: bool, tbl: Table | None = None
) -> list[tuple[Any, ...]]:
    """Rows as tuples of plain Python values (NaN/NaT -> None), datetimes in the backend's form.

    Column by column and vectorized; only JSON columns (lists, dicts) go value by value.
    """
    prepared: dict[str, np.ndarray] = {}
    for col in columns:
        s = frame[col]
        is_date = tbl is not None and isinstance(tbl.c[col].type, Date)
        is_json = tbl is not None and tbl.c[col].type.__class__.__name__ == "JSON"
        if is_json:
            values = s.astype(object).to_numpy()
            arr = np.empty(len(values), dtype=object)
            for i, v in enumerate(values):
                arr[i] = _null_if_missing(v)
        elif pd.api.types.is_datetime64_any_dtype(s) or (
            is_date and s.dtype == object and len(s) and isinstance(s.iloc[0], dt.date)
        ):
            s = pd.to_datetime(s)
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            if sqlite:
                values = s.dt.strftime("%Y-%m-%d" if is_date else _SQLITE_DATETIME)
            else:
                values = s.dt.date if is_date else pd.Series(s.dt.to_pydatetime(), index=s.index)
            arr = np.asarray(values, dtype=object).copy()
            arr[s.isna().to_numpy()] = None
        elif pd.api.types.is_float_dtype(s):
            arr = s.astype(object).to_numpy(copy=True)  # writable under copy-on-write
            arr[~np.isfinite(s.to_numpy(dtype=float, na_value=np.nan))] = None
        elif pd.api.types.is_bool_dtype(s):
            arr = s.astype(object).to_numpy(copy=True)
        elif pd.api.types.is_integer_dtype(s) or (
            pd.api.types.is_string_dtype(s) and not s.map(type).eq(dict).any()
        ):
            arr = s.astype(object).to_numpy(copy=True)
            arr[s.isna().to_numpy()] = None
        else:  # mixed objects: numpy scalars, dates, bools
            values = s.astype(object).to_numpy()
            arr = np.empty(len(values), dtype=object)
            for i, v in enumerate(values):
                arr[i] = _sqlite_scalar(v) if sqlite else _null_if_missing(v)
        prepared[col] = arr
    return list(zip(*(prepared[c] for c in columns), strict=True))


def _null_if_missing(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    """json.dumps fallback for NumPy and pandas values inside JSON columns."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _sqlite_scalar(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dt.datetime):
        return value.strftime(_SQLITE_DATETIME)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def upsert_frame(
    conn: Connection,
    table_name: str,
    frame: pd.DataFrame,
    *,
    update: bool = True,
    conflict_columns: Sequence[str] | None = None,
) -> int:
    """Insert ``frame`` into ``table_name``; rows whose key exists are updated (or kept).

    The key is the primary key, or ``conflict_columns`` (a unique constraint, e.g. the
    ``dedup_key`` of alerts, whose surrogate ``id`` the database assigns). Only the frame's
    columns that exist in the table are written. Runs in the caller's transaction. Returns the
    number of rows sent.
    """
    if frame.empty:
        return 0
    tbl = table(table_name)
    key_cols = list(conflict_columns or [c.name for c in tbl.primary_key.columns])
    columns = [c.name for c in tbl.columns if c.name in frame.columns]
    missing_keys = [k for k in key_cols if k not in columns]
    if missing_keys:
        raise ValueError(f"{table_name}: frame lacks primary-key columns {missing_keys}")
    frame = frame.drop_duplicates(subset=key_cols, keep="last")
    value_cols = [c for c in columns if c not in key_cols]
    if conn.dialect.name == "postgresql":
        _upsert_postgres(conn, tbl, frame, columns, key_cols, value_cols, update)
    else:
        _upsert_sqlite(conn, tbl, frame, columns, key_cols, value_cols, update)
    return len(frame)


def _conflict_clause(key_cols: Sequence[str], value_cols: Sequence[str], update: bool) -> str:
    if not update or not value_cols:
        return f"ON CONFLICT ({', '.join(key_cols)}) DO NOTHING"
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in value_cols)
    return f"ON CONFLICT ({', '.join(key_cols)}) DO UPDATE SET {sets}"


def _upsert_sqlite(
    conn: Connection,
    tbl: Table,
    frame: pd.DataFrame,
    columns: Sequence[str],
    key_cols: Sequence[str],
    value_cols: Sequence[str],
    update: bool,
) -> None:
    cols = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{tbl.name}" ({cols}) VALUES ({marks}) ' + _conflict_clause(
        key_cols, value_cols, update
    )
    rows = _python_rows(frame, columns, sqlite=True, tbl=tbl)
    # JSON columns: serialise like SQLAlchemy would.
    json_idx = [i for i, c in enumerate(columns) if tbl.c[c].type.__class__.__name__ == "JSON"]
    if json_idx:
        import json

        rows = [
            tuple(
                json.dumps(v, default=_json_default) if i in json_idx and v is not None else v
                for i, v in enumerate(r)
            )
            for r in rows
        ]
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        for start in range(0, len(rows), 50_000):
            cur.executemany(sql, rows[start : start + 50_000])
    finally:
        cur.close()


def _upsert_postgres(
    conn: Connection,
    tbl: Table,
    frame: pd.DataFrame,
    columns: Sequence[str],
    key_cols: Sequence[str],
    value_cols: Sequence[str],
    update: bool,
) -> None:
    import json

    tmp = f"_wf_stage_{tbl.name}"
    raw = conn.connection.driver_connection
    assert raw is not None
    col_sql = ", ".join(f'"{c}"' for c in columns)
    json_cols = {c for c in columns if tbl.c[c].type.__class__.__name__ == "JSON"}
    with raw.cursor() as cur:
        cur.execute(
            f'CREATE TEMP TABLE IF NOT EXISTS "{tmp}" (LIKE "{tbl.name}" INCLUDING DEFAULTS) '
            "ON COMMIT DROP"
        )
        cur.execute(f'TRUNCATE "{tmp}"')
        out = frame[list(columns)].copy()
        for c in json_cols:
            out[c] = out[c].map(
                lambda v: None if v is None else json.dumps(v, default=_json_default)
            )
        for c in columns:
            if pd.api.types.is_datetime64_any_dtype(out[c]) and getattr(out[c].dt, "tz", None):
                out[c] = out[c].dt.tz_convert("UTC").dt.tz_localize(None)
            if pd.api.types.is_float_dtype(out[c]):
                out[c] = out[c].where(np.isfinite(out[c].astype(float)))
        buf = io.StringIO()
        out.to_csv(buf, index=False, header=False, na_rep="\\N", date_format="%Y-%m-%d %H:%M:%S.%f")
        with cur.copy(
            f"COPY \"{tmp}\" ({col_sql}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        ) as copy:
            copy.write(buf.getvalue())
        cur.execute(
            f'INSERT INTO "{tbl.name}" ({col_sql}) SELECT {col_sql} FROM "{tmp}" '
            + _conflict_clause(key_cols, value_cols, update)
        )
        cur.execute(f'TRUNCATE "{tmp}"')


def sql(statement: str, params: dict[str, Any] | None = None) -> TextClause:
    """A textual statement whose datetime/date parameters are typed.

    Untyped, a datetime reaches SQLite in sqlite3's own text form, which does not compare equal
    to the form SQLAlchemy stored; typed, both backends compare like with like.
    """
    clause = text(statement)
    typed: list[BindParameter[Any]] = []
    for key, value in (params or {}).items():
        if isinstance(value, dt.datetime | pd.Timestamp):
            typed.append(bindparam(key, type_=DateTime()))
        elif isinstance(value, dt.date):
            typed.append(bindparam(key, type_=Date()))
    return clause.bindparams(*typed) if typed else clause


def execute(conn: Connection, statement: str, params: dict[str, Any] | None = None) -> Any:
    """Execute a textual statement with typed parameters (see ``sql``)."""
    return conn.execute(sql(statement, params), _plain(params))


def _plain(params: dict[str, Any] | None) -> dict[str, Any]:
    return {
        k: v.to_pydatetime() if isinstance(v, pd.Timestamp) else v
        for k, v in (params or {}).items()
    }


def read_frame(
    conn: Connection, statement: str, params: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Run a SELECT (typed parameters) and return a DataFrame."""
    result = execute(conn, statement, params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def table_counts(engine: Engine) -> dict[str, int]:
    """Row count of every wheelflow table (used by idempotence checks and `wheelflow db status`)."""
    names = [n for n in inspect(engine).get_table_names() if n in Base.metadata.tables]
    with engine.connect() as conn:
        return {
            n: int(conn.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one()) for n in names
        }
