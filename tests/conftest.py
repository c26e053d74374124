"""Shared fixtures: real databases (a fresh SQLite file and a fresh PostgreSQL schema per test)
and a session-wide Prefect test harness.

PostgreSQL tests use the server on 127.0.0.1:5432 (database ``test``), each in a schema of its own
so concurrent runs never meet. Outside CI an unreachable server skips them; with CI=true it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# The API's background alert dispatcher stays off unless a test turns it on (some test modules
# build their app at import time, before any fixture runs).
os.environ.setdefault("WHEELFLOW_ALERT_DISPATCH_SECONDS", "0")

# In CI, Hypothesis draws the same examples every run (a red build is reproducible); locally it
# keeps exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
    hypothesis_settings.load_profile("ci")

PG_ADMIN_URL = os.environ.get(
    "WHEELFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

_pg_available: bool | None = None


def _postgres_available() -> bool:
    global _pg_available
    if _pg_available is None:
        try:
            eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
            with eng.connect() as conn:
                conn.execute(text("SELECT 1"))
            eng.dispose()
            _pg_available = True
        except Exception:
            _pg_available = False
    return _pg_available


def require_postgres() -> None:
    if not _postgres_available():
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}")


def _fresh_postgres_url() -> Iterator[str]:
    require_postgres()
    schema = f"wf_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A URL to an empty, fresh database: SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wheelflow.sqlite'}"
    else:
        yield from _fresh_postgres_url()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on a fresh database (both backends)."""
    from wheelflow.db import ensure_schema, make_engine

    eng = make_engine(database_url)
    ensure_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A migrated SQLite engine, for tests that need one database only."""
    from wheelflow.db import ensure_schema, make_engine

    eng = make_engine(f"sqlite:///{tmp_path / 'wheelflow.sqlite'}")
    ensure_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Every test reads settings afresh, with its data dir (SQLite default, secrets) in tmp."""
    from wheelflow.settings import get_settings

    monkeypatch.setenv("WHEELFLOW_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("WHEELFLOW_PROVIDER_RETRY_DELAY_SECONDS", "0")
    monkeypatch.setenv("WHEELFLOW_TASK_RETRY_DELAY_SECONDS", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server database for the whole session (costs ~8 s once)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
