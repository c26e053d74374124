"""The price watch: quote the watchlist and held underlyings, store the quotes, apply the price
rules (moves, short strikes near or breached, expiries) and raise their alerts, all in one
transaction; it also looks for pipeline runs stalled in ``running``. ``flows/price_watch.py``
runs it every minute of regular trading hours."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from models.alerting import PriceQuote
from models.tables import PipelineRun, Position, Watchlist
from wheelflow.alerts.price_rules import evaluate_levels, expiry_alerts, move_levels, strike_levels
from wheelflow.alerts.rules import stalled_run_alerts
from wheelflow.alerts.store import announce, store_alerts
from wheelflow.db import transaction, upsert_frame
from wheelflow.market_time import snapshot_date
from wheelflow.strategy.config import AlertsConfig

SHORT_COLUMNS = ["account", "symbol", "occ_symbol", "right", "strike", "expiration"]


@dataclass(frozen=True)
class WatchResult:
    quoted: int
    new_alerts: list[dict[str, Any]]


def watch_symbols(engine: Engine) -> list[str]:
    """Active watchlist symbols and every underlying with an open position."""
    with engine.connect() as conn:
        listed = conn.execute(select(Watchlist.symbol).where(Watchlist.active.is_(True)))
        held = conn.execute(select(Position.symbol).where(Position.status == "open").distinct())
        return sorted({*listed.scalars(), *held.scalars()})


def open_shorts(conn: Connection) -> pd.DataFrame:
    p = Position.__table__.c
    rows = conn.execute(
        select(p.account, p.symbol, p.occ_symbol, p.right, p.strike, p.expiration).where(
            p.status == "open", p.asset_type == "option", p.quantity < 0
        )
    ).all()
    return pd.DataFrame(rows, columns=SHORT_COLUMNS)


def session_opens(conn: Connection, since: dt.datetime) -> pd.Series:
    """symbol -> the first watched price at or after ``since`` (the session's open)."""
    q = PriceQuote.__table__.c
    first = (
        select(q.symbol, func.min(q.quoted_at).label("first_at"))
        .where(q.quoted_at >= since)
        .group_by(q.symbol)
        .subquery()
    )
    rows = conn.execute(
        select(q.symbol, q.last).join(
            first, (q.symbol == first.c.symbol) & (q.quoted_at == first.c.first_at)
        )
    ).all()
    return pd.Series({symbol: last for symbol, last in rows}, dtype=float)


def watch_prices(
    engine: Engine,
    quotes: pd.DataFrame,
    config: AlertsConfig,
    *,
    now: dt.datetime,
    session_start: dt.datetime,
    provider: str,
) -> WatchResult:
    """Store ``quotes`` (QUOTE_COLUMNS) at ``now`` and raise what the price rules say."""
    good = quotes.dropna(subset=["last"])
    good = good[good["last"] > 0]
    rows = pd.DataFrame(
        {
            "quoted_at": now,
            "symbol": good["symbol"].to_numpy(),
            "last": good["last"].to_numpy(dtype=float),
            "bid": good["bid"].to_numpy(dtype=float),
            "ask": good["ask"].to_numpy(dtype=float),
            "prev_close": good["prev_close"].to_numpy(dtype=float),
            "provider": provider,
        }
    )
    with transaction(engine) as conn:
        upsert_frame(conn, "price_quotes", rows)
        shorts = open_shorts(conn)
        levels = pd.concat(
            [
                move_levels(good, config, session_opens(conn, session_start)),
                strike_levels(shorts, good, config),
            ],
            ignore_index=True,
        )
        running = conn.execute(
            select(PipelineRun.run_id, PipelineRun.started_at, PipelineRun.attempts).where(
                PipelineRun.status == "running"
            )
        ).all()
        alerts = (
            evaluate_levels(conn, levels, config, now)
            + expiry_alerts(shorts, good, snapshot_date(now), config)
            + stalled_run_alerts(running, now, config.stalled_run_minutes)
        )
        fresh = store_alerts(conn, alerts)
    announce(engine, fresh)
    return WatchResult(quoted=len(rows), new_alerts=fresh)
