"""``wheelflow db upgrade|status|backup|restore``."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    db = subparsers.add_parser("db", help="database migrations and status")
    sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = sub.add_parser("upgrade", help="apply migrations (and TimescaleDB DDL when present)")
    up.set_defaults(func=_upgrade)
    st = sub.add_parser("status", help="migration revision and row counts")
    st.set_defaults(func=_status)
    bk = sub.add_parser("backup", help="dump the database (pg_dump / SQLite backup), prune old")
    bk.add_argument("--dir", default=None, help="backup directory (default: DATA_DIR/backups)")
    bk.add_argument("--keep-days", type=int, default=14, help="delete backups older (>= 1)")
    bk.set_defaults(func=_backup)
    rs = sub.add_parser("restore", help="load a backup into a new, empty database")
    rs.add_argument("dump", help="a file written by `wheelflow db backup`")
    rs.add_argument("--into", required=True, help="URL of the new, empty database")
    rs.set_defaults(func=_restore, needs_database=False)  # --into names the database
    dr = sub.add_parser(
        "drill", help="restore a backup into a scratch database, compare row counts, drop it"
    )
    dr.add_argument("--dump", help="backup file (default: the newest in --dir)")
    dr.add_argument("--dir", default=None, help="backup directory (default: DATA_DIR/backups)")
    dr.set_defaults(func=_drill)


def _upgrade(args: argparse.Namespace) -> int:
    from wheelflow.db import current_revisions, ensure_schema, make_engine
    from wheelflow.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    ensure_schema(engine)
    print(
        f"database at {engine.url.render_as_string(hide_password=True)} is at revision(s) "
        f"{', '.join(sorted(current_revisions(engine)))}"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    from wheelflow.db import current_revisions, make_engine, table_counts
    from wheelflow.settings import get_settings

    engine = make_engine(get_settings().resolved_database_url)
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    revision = ", ".join(sorted(current_revisions(engine))) or "(none: run wheelflow db upgrade)"
    print(f"revision: {revision}")
    for name, count in sorted(table_counts(engine).items()):
        print(f"  {name:24s} {count:>12,d}")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wheelflow.backup import backup
    from wheelflow.settings import get_settings

    settings = get_settings()
    dest = Path(args.dir) if args.dir else settings.data_dir / "backups"
    result = backup(settings.resolved_database_url, dest, args.keep_days)
    print(f"backup {result.path} ({result.bytes:,d} bytes); pruned {len(result.pruned)} old")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sqlalchemy import make_url

    from wheelflow.backup import restore

    restore(Path(args.dump), args.into)
    print(f"restored {args.dump} into {make_url(args.into).render_as_string(hide_password=True)}")
    return 0


def _drill(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wheelflow.backup import drill, latest
    from wheelflow.errors import ConfigError
    from wheelflow.settings import get_settings

    settings = get_settings()
    dump = Path(args.dump) if args.dump else latest(Path(args.dir or settings.data_dir / "backups"))
    if dump is None or not dump.is_file():
        raise ConfigError(
            f"no backup to drill with ({args.dump or args.dir or 'DATA_DIR/backups'})"
        )
    result = drill(settings.resolved_database_url, dump)
    for table, (live, restored) in result.counts.items():
        mark = "ok" if live == restored else "MISMATCH"
        print(f"  {table:24s} live {live:>10,d}  restored {restored:>10,d}  {mark}")
    verdict = "passed" if result.matches else "FAILED"
    print(f"restore drill {verdict}: {dump} restored into {result.scratch} (dropped)")
    return 0 if result.matches else 1
