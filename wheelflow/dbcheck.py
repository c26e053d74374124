"""Is the configured database there? One fast connection, one clear line when it is not.

Kept light (SQLAlchemy and the driver only, no pandas or Alembic) so that the CLI checks the
database before anything heavy starts: a wrong host or port fails in a second or two (libpq's
``connect_timeout`` bounds a silent host), naming the host, port, database and user, never the
password; an SQLite file that cannot be created or opened names its path.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import suppress
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


def sqlite_file(url: str) -> None:
    """Create the SQLite file of ``url`` readable by its owner only (password hashes, tokens):
    0600 in a 0700 directory when we create them (SQLite gives its -wal/-shm files the same
    mode). Raises :class:`DatabaseUnavailable` naming the path when it cannot."""
    path = (make_url(url).database or "").split("?", 1)[0]
    if not path or path == ":memory:" or "://" in path:
        return
    file = Path(path)
    try:
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(
            f"cannot create the SQLite directory {file.parent}: {exc.strerror}"
        ) from None
    try:
        with suppress(FileExistsError):
            os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise DatabaseUnavailable(describe_failure(url, exc)) from None


def check(url: str) -> None:
    """Open one connection to ``url`` now, or raise :class:`DatabaseUnavailable`."""
    if make_url(url).get_backend_name() == "sqlite":
        sqlite_file(url)
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
