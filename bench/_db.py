"""A fresh database per benchmark run: a SQLite file, or a PostgreSQL schema dropped afterwards."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

PG_URL = os.environ.get(
    "WHEELFLOW_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def fresh_database(backend: str, workdir: Path) -> tuple[str, object]:
    """(URL, handle for :func:`drop_database`) of an empty database on ``backend``."""
    from sqlalchemy import create_engine, text

    if backend == "sqlite":
        return f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.sqlite'}", None
    schema = f"wf_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return f"{PG_URL}?options=-csearch_path%3D{schema}", (admin, schema)


def drop_database(handle: object) -> None:
    if handle is None:
        return
    from sqlalchemy import text

    admin, schema = handle  # type: ignore[misc]
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()
