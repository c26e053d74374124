"""``wheelflow watchlist import FILE [--section S]`` and ``wheelflow watchlist list``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wheelflow.errors import WheelflowError

if TYPE_CHECKING:
    from wheelflow.watchlist_import import WatchlistImport


def register(subparsers: Any) -> None:
    watchlist = subparsers.add_parser("watchlist", help="the underlyings the pipeline screens")
    sub = watchlist.add_subparsers(dest="watchlist_command", metavar="ACTION", required=True)
    imp = sub.add_parser(
        "import", help="import a TradingView watchlist export (EXCHANGE:SYMBOL, ###SECTION)"
    )
    imp.add_argument("file", type=Path, help="the exported watchlist .txt file")
    imp.add_argument("--section", help="import only this section (case-insensitive)")
    imp.set_defaults(func=_import)
    lst = sub.add_parser("list", help="print the watchlist")
    lst.set_defaults(func=_list)


def _engine() -> Any:
    from wheelflow.db import ensure_schema, make_engine
    from wheelflow.settings import get_settings

    engine = make_engine(get_settings().resolved_database_url)
    ensure_schema(engine)
    return engine


def _import(args: argparse.Namespace) -> int:
    from wheelflow.watchlist_import import import_watchlist, parse_watchlist, select_section

    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WheelflowError(f"cannot read watchlist {args.file}: {exc}") from None
    parsed = parse_watchlist(text)
    if parsed.entries.empty:
        raise WheelflowError(f"{args.file} holds no stock or ETF symbol: {_skipped(parsed)}")
    if args.section:
        parsed = select_section(parsed, args.section)
    count = import_watchlist(_engine(), parsed)
    sections = ", ".join(parsed.sections) or "no sections"
    print(f"imported {count} symbol(s) from {args.file.name} ({sections})")
    for token, reason in parsed.skipped:
        print(f"  skipped {token}: {reason}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from wheelflow.watchlist_import import list_watchlist

    rows = list_watchlist(_engine())
    if rows.empty:
        print("the watchlist is empty (wheelflow watchlist import FILE)")
        return 0
    # Rows the pipeline seeded (or the API added) have no section: NULL reads back as NaN.
    shown = rows.astype({"section": object, "source": object}).fillna(
        {"section": "-", "source": "-"}
    )
    for row in shown.itertuples(index=False):
        state = "active" if row.active else "inactive"
        print(f"{row.symbol:10s} {row.section:20s} {row.source:12s} {state}")
    print(f"{len(rows)} symbol(s)")
    return 0


def _skipped(parsed: WatchlistImport) -> str:
    """The first skipped entries with their reasons, for an error message."""
    if not parsed.skipped:
        return "the file has no entries (expected EXCHANGE:SYMBOL, comma or newline separated)"
    shown = "; ".join(f"{token[:40]!r} ({reason})" for token, reason in parsed.skipped[:3])
    more = len(parsed.skipped) - 3
    return f"{len(parsed.skipped)} entries skipped: {shown}" + (
        f" and {more} more" if more > 0 else ""
    )
