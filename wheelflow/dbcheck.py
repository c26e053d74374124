"""Is the configured database there? One fast connection, one clear line when it is not.

Kept light (SQLAlchemy and the driver only, no pandas or Alembic) so that the CLI checks the
database before anything heavy starts: a wrong host or port fails in a second or two (libpq's
``connect_timeout`` bounds a silent host), naming the host, port, database and user, never the
password; an SQLite file that cannot be created or opened names its path.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from wheelflow.errors import WheelflowError

# libpq gives up on an unreachable server after this many seconds (per address).
CONNECT_TIMEOUT_SECONDS = 3


class DatabaseUnavailable(WheelflowError):
    """The database cannot be reached or opened. The message names where (never a password)."""


def describe_failure(url: str, exc: BaseException) -> str:
    """One line naming the database (host or SQLite path, password hidden) and the cause."""
    parsed = make_url(url)
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    reason = cause[0] if cause else type(exc).__name__
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        hint = "" if os.access(path.parent, os.W_OK) else f" (directory {path.parent} not writable)"
        return f"cannot open the SQLite database {path}{hint}: {reason}"
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
    return (
        f"database unreachable at {where} (user {parsed.username or '-'}): {reason}; "
        "check WHEELFLOW_DATABASE_URL"
    )


def sqlite_directory(url: str) -> None:
    """Create the directory of an SQLite file URL, or raise naming it."""
    path = make_url(url).database or ""
    if not path or path == ":memory:":
        return
    parent = Path(path).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(
            f"cannot create the SQLite directory {parent}: {exc.strerror}"
        ) from None


def check(url: str) -> None:
    """Open one connection to ``url`` now, or raise :class:`DatabaseUnavailable`."""
    if make_url(url).get_backend_name() == "sqlite":
        sqlite_directory(url)
        path = make_url(url).database or ":memory:"
        try:
            sqlite3.connect(path).close()
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(describe_failure(url, exc)) from None
        return
    engine = create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        raise DatabaseUnavailable(describe_failure(url, exc)) from None
    finally:
        engine.dispose()
