"""``wheelflow db upgrade|status``."""

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
