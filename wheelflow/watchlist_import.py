"""Importing TradingView watchlist exports into the ``watchlist`` table (not a market-data provider:
TradingView has no public market-data API, but users export watchlists).

An exported watchlist is a text file of ``EXCHANGE:SYMBOL`` entries separated by commas or new
lines, with ``###SECTION`` markers starting each section, e.g.::

    ###Tech,NASDAQ:AAPL,NASDAQ:MSFT,###ETFs,AMEX:SPY,NYSEARCA:IWM

Entries that cannot carry US equity options (another exchange, futures ``ES1!``, currency pairs)
are skipped with a reason, never silently dropped. TradingView alert webhooks are received by the
API's webhook endpoint, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine

from models.tables import utcnow
from wheelflow.db import read_frame, transaction, upsert_frame
from wheelflow.errors import WheelflowError

US_EXCHANGES = frozenset(
    {"NASDAQ", "NYSE", "AMEX", "NYSEARCA", "ARCA", "NYSEAMERICAN", "BATS", "CBOE", "CBOEUS"}
)
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,15}$")
SOURCE = "tradingview"


@dataclass
class WatchlistImport:
    """Parsed entries (symbol, exchange, section) and the entries skipped, with why."""

    entries: pd.DataFrame
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def sections(self) -> list[str]:
        return sorted({s for s in self.entries["section"] if s})


def parse_watchlist(text: str) -> WatchlistImport:
    """Parse an exported TradingView watchlist (see the module docstring)."""
    rows: list[dict[str, str | None]] = []
    skipped: list[tuple[str, str]] = []
    seen: dict[str, str | None] = {}
    section: str | None = None
    for raw in re.split(r"[,\r\n]+", text.lstrip("\ufeff")):
        token = raw.strip()
        if not token:
            continue
        if token.startswith("###"):
            section = token[3:].strip() or None
            continue
        exchange, _, ticker = token.rpartition(":")
        exchange, ticker = exchange.strip().upper() or None, ticker.strip().upper()
        if exchange is not None and exchange not in US_EXCHANGES:
            skipped.append((token, f"{exchange} is not a US equity/ETF exchange"))
        elif not _SYMBOL.match(ticker):
            skipped.append((token, f"{ticker!r} is not a stock or ETF symbol"))
        elif ticker in seen:
            skipped.append((token, f"duplicate of {ticker} (section {seen[ticker] or '-'})"))
        else:
            seen[ticker] = section
            rows.append({"symbol": ticker, "exchange": exchange, "section": section})
    entries = pd.DataFrame(rows, columns=["symbol", "exchange", "section"])
    return WatchlistImport(entries=entries, skipped=skipped)


def select_section(parsed: WatchlistImport, section: str) -> WatchlistImport:
    """Only the entries of ``section`` (case-insensitive); a missing section is an error."""
    matches = parsed.entries["section"].fillna("").str.casefold() == section.casefold()
    if not matches.any():
        have = ", ".join(parsed.sections) or "none"
        raise WheelflowError(f"watchlist has no section {section!r} (sections: {have})")
    return WatchlistImport(parsed.entries[matches].reset_index(drop=True), parsed.skipped)


def import_watchlist(engine: Engine, parsed: WatchlistImport, *, source: str = SOURCE) -> int:
    """Upsert the entries into ``watchlist`` (active; section and exchange recorded); idempotent."""
    entries = parsed.entries
    if entries.empty:
        return 0
    frame = pd.DataFrame(
        {
            "symbol": entries["symbol"],
            "active": True,
            "source": source,
            "section": entries["section"],
            "added_at": utcnow(),
            "notes": entries["exchange"].map(lambda e: f"exchange {e}" if e else None),
        }
    )
    with transaction(engine) as conn:
        return upsert_frame(conn, "watchlist", frame)


def list_watchlist(engine: Engine) -> pd.DataFrame:
    """Every watchlist row, by section then symbol."""
    with engine.connect() as conn:
        return read_frame(
            conn,
            "SELECT symbol, active, source, section, notes FROM watchlist "
            "ORDER BY COALESCE(section, ''), symbol",
        )
