"""Database backups with retention, and the restore the drill exercises.

PostgreSQL: ``pg_dump --format=custom`` of the whole database (the password goes to pg_dump in
``PGPASSWORD``, never on its command line); :func:`restore` loads a dump into a new, empty
database with ``pg_restore`` (between ``timescaledb_pre_restore()`` and ``_post_restore()`` when
the server has TimescaleDB, as its docs require), so production is swapped only after a check.
SQLite: the online backup API (a consistent copy while writers run). Files are named
``wheelflow-<UTC timestamp>.<dump|sqlite>`` under the backup directory; retention deletes the
files of that pattern older than ``keep_days`` and always keeps the newest one.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL, make_url

from wheelflow.errors import ConfigError

PREFIX = "wheelflow-"
_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    pruned: list[Path]


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection arguments and environment (password only in the env)."""
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ConfigError(f"{name} not found on PATH (install postgresql-client)")
    return path


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConfigError(f"{what} failed: {last}")


def backup(url: str, dest: Path, keep_days: int, now: dt.datetime | None = None) -> BackupResult:
    """Dump the database at ``url`` into ``dest``; prune dumps older than ``keep_days``."""
    if keep_days < 1:
        raise ConfigError(f"keep_days must be >= 1, got {keep_days}")
    now = now or dt.datetime.now(dt.UTC)
    dest.mkdir(parents=True, exist_ok=True)
    parsed = make_url(url)
    stamp = now.strftime(_STAMP)
    if parsed.get_backend_name() == "sqlite":
        source = parsed.database or ""
        target = dest / f"{PREFIX}{stamp}.sqlite"
        with sqlite3.connect(source) as src, sqlite3.connect(target) as out:
            src.backup(out)
    else:
        args, env = _libpq(parsed)
        target = dest / f"{PREFIX}{stamp}.dump"
        partial = target.with_suffix(".dump.partial")
        _run(
            [
                _tool("pg_dump"),
                *args,
                "--format=custom",
                "--no-owner",
                "--file",
                str(partial),
                parsed.database or "postgres",
            ],
            env,
            f"pg_dump of {parsed.host}/{parsed.database}",
        )
        partial.rename(target)  # a dump is either complete or absent
    return BackupResult(target, target.stat().st_size, prune(dest, keep_days, now))


def prune(dest: Path, keep_days: int, now: dt.datetime) -> list[Path]:
    """Delete backups older than ``keep_days`` (by the stamp in their name), keeping the newest."""
    dated: list[tuple[dt.datetime, Path]] = []
    for path in dest.glob(f"{PREFIX}*"):
        stem = path.name.removeprefix(PREFIX).split(".", 1)[0]
        try:
            dated.append((dt.datetime.strptime(stem, _STAMP).replace(tzinfo=dt.UTC), path))
        except ValueError:
            continue  # not ours
    dated.sort()
    horizon = now - dt.timedelta(days=keep_days)
    doomed = [p for stamp, p in dated[:-1] if stamp < horizon]
    for path in doomed:
        path.unlink()
    return doomed


def latest(dest: Path) -> Path | None:
    """The newest backup in ``dest`` (names sort by time)."""
    found = sorted(p for p in dest.glob(f"{PREFIX}*") if not p.name.endswith(".partial"))
    return found[-1] if found else None


def restore(dump: Path, url: str) -> None:
    """Restore ``dump`` into the new, empty database at ``url`` (created beforehand)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(dump) as src, sqlite3.connect(parsed.database or "") as out:
            src.backup(out)
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            timescale = conn.execute(
                text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
            ).first()
            if timescale:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
                conn.execute(text("SELECT timescaledb_pre_restore()"))
        args, env = _libpq(parsed)
        try:
            _run(
                [
                    _tool("pg_restore"),
                    *args,
                    "--no-owner",
                    "--exit-on-error",
                    "--dbname",
                    parsed.database or "postgres",
                    str(dump),
                ],
                env,
                f"pg_restore into {parsed.host}/{parsed.database}",
            )
        finally:
            if timescale:
                with engine.connect() as conn:
                    conn.execute(text("SELECT timescaledb_post_restore()"))
    finally:
        engine.dispose()


@dataclass(frozen=True)
class DrillResult:
    """A restore drill: row counts per table in the live database and in the restored copy."""

    dump: Path
    scratch: str
    counts: dict[str, tuple[int, int]]  # table -> (live, restored)

    @property
    def matches(self) -> bool:
        return bool(self.counts) and all(live == got for live, got in self.counts.values())


def drill(url: str, dump: Path) -> DrillResult:
    """Restore ``dump`` into a scratch database next to ``url``'s, compare row counts, drop it.

    The live counts are read now: run the drill right after the backup (as
    deployments/backup/restore-drill.sh does) or on a quiet database.
    """
    from sqlalchemy import create_engine, text

    parsed = make_url(url)
    live = _counts(url)
    if parsed.get_backend_name() == "sqlite":
        scratch_path = Path(parsed.database or "").with_suffix(".restore-drill.sqlite")
        scratch_path.unlink(missing_ok=True)
        try:
            restore(dump, f"sqlite:///{scratch_path}")
            restored = _counts(f"sqlite:///{scratch_path}")
        finally:
            scratch_path.unlink(missing_ok=True)
        return DrillResult(dump, str(scratch_path), _pair(live, restored))
    scratch = f"{parsed.database}_restore_drill_{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"
    admin = create_engine(parsed.set(database="postgres", query={}), isolation_level="AUTOCOMMIT")
    scratch_url = parsed.set(database=scratch, query={}).render_as_string(hide_password=False)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        restore(dump, scratch_url)
        restored = _counts(scratch_url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()
    return DrillResult(dump, scratch, _pair(live, restored))


def _counts(url: str) -> dict[str, int]:
    from wheelflow.db import make_engine, table_counts

    engine = make_engine(url)
    try:
        return table_counts(engine)
    finally:
        engine.dispose()


def _pair(live: dict[str, int], restored: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {t: (live.get(t, 0), restored.get(t, -1)) for t in sorted(set(live) | set(restored))}
