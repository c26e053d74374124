"""Read-side queries of the API (and its few small writes), backend-neutral SQLAlchemy Core.

Every function takes a ``Connection`` and returns plain dicts (JSON-ready after the API's
encoder) or DataFrames. Bad client input raises ``QueryInputError`` naming the parameter;
a missing object raises ``NotFound``. Prices are per share in USD; returns are fractions.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
from sqlalchemy import Connection, Table, and_, delete, func, insert, inspect, or_, select, update

from models.tables import (
    Alert,
    Base,
    OptionSnapshot,
    PipelineRun,
    Position,
    QualityResult,
    QuarantinedRow,
    Ranking,
    RiskCheck,
    UnderlyingQuote,
    Watchlist,
    utcnow,
)
from wheelflow.errors import WheelflowError

SYMBOL_PATTERN = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


_CURSOR_OCC = re.compile(r"^[A-Z0-9. ]{1,32}$")
_RANKINGS = _table(Ranking)
_RANKING_ORDER = (_RANKINGS.c.strategy, _RANKINGS.c.rank, _RANKINGS.c.occ_symbol)


class QueryInputError(WheelflowError):
    """A client-supplied value is unusable; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(WheelflowError):
    """The object asked for does not exist."""


def normalize_symbol(symbol: str, *, field: str = "symbol") -> str:
    """Upper-cased ticker; QueryInputError unless it looks like one (``BRK.B``, ``RDS-A``)."""
    value = symbol.strip().upper()
    if not SYMBOL_PATTERN.match(value):
        raise QueryInputError(field, f"{symbol!r} is not a ticker symbol (A-Z, 0-9, '.', '-')")
    return value


# --------------------------------------------------------------------------- rankings


@dataclass(frozen=True)
class RankingFilter:
    """Filters of ``GET /rankings``; ``min_return`` is annualized, ``max_delta`` is |delta|,
    ``min_ev`` the expected value per contract (USD, net), ``unflagged`` drops flagged rows."""

    strategy: str | None = None
    symbol: str | None = None
    min_return: float | None = None
    min_ev: float | None = None
    unflagged: bool = False
    max_delta: float | None = None
    min_dte: int | None = None
    max_dte: int | None = None
    run_id: str | None = None


def _encode_cursor(snapshot_at: dt.datetime, row: dict[str, Any]) -> str:
    raw = json.dumps([snapshot_at.isoformat(), row["strategy"], row["rank"], row["occ_symbol"]])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str, int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        snap, strategy, rank, occ = json.loads(raw)
        decoded = (dt.datetime.fromisoformat(snap), str(strategy), int(rank), str(occ))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError):
        raise QueryInputError("cursor", "not a cursor this API returned") from None
    if decoded[1] not in ("csp", "cc") or not _CURSOR_OCC.match(decoded[3]):
        raise QueryInputError("cursor", "not a cursor this API returned")
    if not -(2**31) < decoded[2] < 2**31:
        raise QueryInputError("cursor", "not a cursor this API returned")
    return decoded


def completed_snapshots() -> Any:
    """The snapshots whose pipeline run completed: the only ones readers serve.

    A run's rows are written stage by stage; its ``pipeline_runs`` status turns `completed` in
    one transaction at the end, so filtering on it makes a run visible all at once, and a
    running, failed or crashed run's partial rows are never served.
    """
    runs = _table(PipelineRun)
    return select(runs.c.snapshot_at).where(runs.c.status == "completed")


def latest_ranking_snapshot(conn: Connection, run_id: str | None = None) -> dt.datetime | None:
    """Snapshot of the latest completed run (max snapshot_at), or of ``run_id``."""
    query = select(func.max(_RANKINGS.c.snapshot_at)).where(
        _RANKINGS.c.snapshot_at.in_(completed_snapshots())
    )
    if run_id is not None:
        query = query.where(_RANKINGS.c.run_id == run_id)
    return conn.execute(query).scalar_one_or_none()


def rankings_page(
    conn: Connection, filters: RankingFilter, *, limit: int, cursor: str | None = None
) -> dict[str, Any]:
    """One page of ranked candidates: ``items``, ``next_cursor``, ``snapshot_at``, ``run_id``.

    Ordered by strategy, rank (rank 1 = the highest expected value), OCC symbol; the cursor
    pins the snapshot so pages of one listing never mix runs. One round trip: the latest
    snapshot is a subquery (index on snapshot_at).
    """
    c = _RANKINGS.c
    after: tuple[str, int, str] | None = None
    pinned: dt.datetime | None = None
    if cursor:
        pinned, after_strategy, after_rank, after_occ = _decode_cursor(cursor)
        after = (after_strategy, after_rank, after_occ)
        conditions = [c.snapshot_at == pinned]
    else:
        latest = select(func.max(c.snapshot_at)).where(c.snapshot_at.in_(completed_snapshots()))
        if filters.run_id is not None:
            latest = latest.where(c.run_id == filters.run_id)
        conditions = [c.snapshot_at == latest.scalar_subquery()]
    conditions.append(c.snapshot_at.in_(completed_snapshots()))
    if filters.strategy:
        conditions.append(c.strategy == filters.strategy)
    if filters.symbol:
        conditions.append(c.underlying == normalize_symbol(filters.symbol))
    if filters.min_return is not None:
        conditions.append(c.annualized_return >= filters.min_return)
    if filters.min_ev is not None:
        conditions.append(c.expected_value >= filters.min_ev)
    if filters.unflagged:
        conditions.append(c.flags.is_(None))
    if filters.max_delta is not None:
        conditions.append(func.abs(c.delta) <= filters.max_delta)
    if filters.min_dte is not None:
        conditions.append(c.days_to_expiry >= filters.min_dte)
    if filters.max_dte is not None:
        conditions.append(c.days_to_expiry <= filters.max_dte)
    if after is not None:
        s, r, o = after
        conditions.append(
            or_(
                c.strategy > s,
                and_(c.strategy == s, c.rank > r),
                and_(c.strategy == s, c.rank == r, c.occ_symbol > o),
            )
        )
    query = select(_RANKINGS).where(*conditions).order_by(*_RANKING_ORDER).limit(limit + 1)
    items = [dict(r) for r in conn.execute(query).mappings()]
    if not items:
        snapshot_at = pinned or latest_ranking_snapshot(conn, filters.run_id)
        if snapshot_at is None and filters.run_id is not None:
            raise NotFound(f"no rankings for run_id {filters.run_id!r}")
        return {
            "snapshot_at": snapshot_at,
            "run_id": filters.run_id,
            "items": [],
            "next_cursor": None,
        }
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        next_cursor = _encode_cursor(items[-1]["snapshot_at"], items[-1])
    return {
        "snapshot_at": items[0]["snapshot_at"],
        "run_id": items[0]["run_id"],
        "items": items,
        "next_cursor": next_cursor,
    }


# --------------------------------------------------------------------------- chains


def option_chain(
    conn: Connection, symbol: str, *, expiration: dt.date | None = None, right: str | None = None
) -> dict[str, Any]:
    """Latest snapshot of one underlying's chain with IV and greeks (theta per day)."""
    symbol = normalize_symbol(symbol)
    t = _table(OptionSnapshot)
    snapshot_at = conn.execute(
        select(func.max(t.c.snapshot_at)).where(
            t.c.underlying == symbol, t.c.snapshot_at.in_(completed_snapshots())
        )
    ).scalar_one_or_none()
    if snapshot_at is None:
        raise NotFound(f"no option chain stored for {symbol}")
    conditions = [t.c.snapshot_at == snapshot_at, t.c.underlying == symbol]
    if expiration is not None:
        conditions.append(t.c.expiration == expiration)
    if right is not None:
        conditions.append(t.c.right == right)
    rows = conn.execute(
        select(t).where(*conditions).order_by(t.c.expiration, t.c.strike, t.c.right)
    ).mappings()
    return {"symbol": symbol, "snapshot_at": snapshot_at, "contracts": [dict(r) for r in rows]}


# --------------------------------------------------------------------------- portfolio


def positions(
    conn: Connection,
    *,
    status: str | None = None,
    symbol: str | None = None,
    accounts: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Positions, of ``accounts`` only when given (None: every account)."""
    t = _table(Position)
    query = select(t).order_by(t.c.id)
    if accounts is not None:
        query = query.where(t.c.account.in_(sorted(accounts)))
    if status:
        query = query.where(t.c.status == status)
    if symbol:
        query = query.where(t.c.symbol == normalize_symbol(symbol))
    return [dict(r) for r in conn.execute(query).mappings()]


def position(
    conn: Connection, position_id: int, *, accounts: Collection[str] | None = None
) -> dict[str, Any]:
    """One position; NotFound also when it belongs to none of ``accounts`` (when given), so
    its existence is not revealed."""
    t = _table(Position)
    row = conn.execute(select(t).where(t.c.id == position_id)).mappings().first()
    if row is None or (accounts is not None and row["account"] not in accounts):
        raise NotFound(f"no position with id {position_id}")
    return dict(row)


def _latest_marks(conn: Connection, open_positions: pd.DataFrame) -> pd.Series:
    """Latest mark per open position: option mid (bid+ask)/2, stock last; NaN when unknown."""
    marks = pd.Series(float("nan"), index=open_positions.index)
    is_option = open_positions["asset_type"].eq("option")
    occs = sorted(set(open_positions.loc[is_option, "occ_symbol"].dropna()))
    if occs:
        o = _table(OptionSnapshot)
        quotes = pd.DataFrame(
            conn.execute(
                select(o.c.occ_symbol, o.c.snapshot_at, o.c.bid, o.c.ask)
                .where(o.c.occ_symbol.in_(occs))
                .order_by(o.c.snapshot_at)
            ).all(),
            columns=["occ_symbol", "snapshot_at", "bid", "ask"],
        )
        mid = quotes.groupby("occ_symbol").last().eval("(bid + ask) / 2")
        marks[is_option] = open_positions.loc[is_option, "occ_symbol"].map(mid)
    stocks = sorted(set(open_positions.loc[~is_option, "symbol"]))
    if stocks:
        q = _table(UnderlyingQuote)
        last = pd.DataFrame(
            conn.execute(
                select(q.c.symbol, q.c.snapshot_at, q.c.last)
                .where(q.c.symbol.in_(stocks))
                .order_by(q.c.snapshot_at)
            ).all(),
            columns=["symbol", "snapshot_at", "last"],
        )
        marks[~is_option] = open_positions.loc[~is_option, "symbol"].map(
            last.groupby("symbol")["last"].last()
        )
    return marks.astype(float)


def pnl(conn: Connection, *, accounts: Collection[str] | None = None) -> dict[str, Any]:
    """Realized (closed and partial) and unrealized (open, marked to the latest quote) P&L in USD,
    of the positions of ``accounts`` (None: every account).

    Unrealized = (mark - average_price) x quantity x multiplier (100 for options), so a short
    put sold at 2.00 and marked at 0.50 shows +150 per contract.
    """
    frame = pd.DataFrame(positions(conn, accounts=accounts))
    if frame.empty:
        return {
            "total": {"realized": 0.0, "unrealized": 0.0, "unmarked_positions": 0},
            "symbols": [],
        }
    is_open = frame["status"].eq("open")
    open_rows = frame[is_open]
    marks = _latest_marks(conn, open_rows)
    multiplier = open_rows["asset_type"].map({"option": 100.0}).fillna(1.0)
    frame["unrealized"] = 0.0
    frame.loc[is_open, "unrealized"] = (
        (marks - open_rows["average_price"]) * open_rows["quantity"] * multiplier
    ).fillna(0.0)
    frame["unmarked"] = False
    frame.loc[is_open, "unmarked"] = marks.isna()
    per_symbol = (
        frame.groupby("symbol")
        .agg(
            realized=("realized_pnl", "sum"),
            unrealized=("unrealized", "sum"),
            open_positions=("status", lambda s: int(s.eq("open").sum())),
            unmarked_positions=("unmarked", "sum"),
        )
        .reset_index()
    )
    symbols = [
        {
            "symbol": str(r.symbol),
            "realized": round(float(r.realized), 2),
            "unrealized": round(float(r.unrealized), 2),
            "total": round(float(r.realized + r.unrealized), 2),
            "open_positions": int(r.open_positions),
            "unmarked_positions": int(r.unmarked_positions),
        }
        for r in per_symbol.itertuples()
    ]
    realized = round(float(frame["realized_pnl"].sum()), 2)
    unrealized = round(float(frame["unrealized"].sum()), 2)
    total = {
        "realized": realized,
        "unrealized": unrealized,
        "total": round(realized + unrealized, 2),
        "unmarked_positions": int(frame["unmarked"].sum()),
    }
    return {"total": total, "symbols": symbols}


def wheel_cycles(
    conn: Connection,
    *,
    symbol: str | None = None,
    is_open: bool | None = None,
    accounts: Collection[str] | None = None,
) -> dict[str, Any]:
    """Wheel cycles from the lifecycle's ``wheel_cycles`` table, newest first (of ``accounts``
    only when given).

    Falls back to ``derived_wheel_cycles`` when that table does not exist (older databases).
    """
    t = Base.metadata.tables.get("wheel_cycles")
    if t is None or not inspect(conn).has_table("wheel_cycles"):
        cycles = derived_wheel_cycles(conn, symbol=symbol, accounts=accounts)
        return {"source": "positions", "cycles": cycles}
    query = select(t).order_by(t.c.id.desc())
    if accounts is not None:
        query = query.where(t.c.account.in_(sorted(accounts)))
    if symbol:
        query = query.where(t.c.symbol == normalize_symbol(symbol))
    if is_open is not None:
        query = query.where(t.c.is_open == is_open)
    return {"source": "wheel_cycles", "cycles": [dict(r) for r in conn.execute(query).mappings()]}


def derived_wheel_cycles(
    conn: Connection, *, symbol: str | None = None, accounts: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """Cycles derived from positions grouped by ``cycle_id`` (by symbol when unset): legs, open
    legs, realized P&L (USD), first open and last close."""
    frame = pd.DataFrame(positions(conn, symbol=symbol, accounts=accounts))
    if frame.empty:
        return []
    key = (
        frame["cycle_id"]
        .astype("Int64")
        .astype("string")
        .fillna("symbol:" + frame["symbol"].astype("string"))
    )
    cycles = []
    for cycle_key, legs in frame.groupby(key, sort=True):
        still_open = bool(legs["status"].eq("open").any())
        cycles.append(
            {
                "cycle": str(cycle_key),
                "symbol": str(legs["symbol"].iloc[0]),
                "legs": len(legs),
                "open_legs": int(legs["status"].eq("open").sum()),
                "realized_pnl": round(float(legs["realized_pnl"].sum()), 2),
                "opened_at": min(legs["opened_at"]),
                "closed_at": None if still_open else max(legs["closed_at"].dropna(), default=None),
            }
        )
    return cycles


# --------------------------------------------------------------------------- risk, alerts


def latest_risk(conn: Connection) -> dict[str, Any]:
    """Checks of the latest risk snapshot and the breaches (checks that did not pass)."""
    t = _table(RiskCheck)
    snapshot_at = conn.execute(
        select(func.max(t.c.snapshot_at)).where(t.c.snapshot_at.in_(completed_snapshots()))
    ).scalar_one_or_none()
    if snapshot_at is None:
        return {"snapshot_at": None, "run_id": None, "passed": None, "checks": [], "breaches": []}
    checks = [
        dict(r)
        for r in conn.execute(
            select(t).where(t.c.snapshot_at == snapshot_at).order_by(t.c.check_name, t.c.subject)
        ).mappings()
    ]
    breaches = [c for c in checks if not c["passed"]]
    return {
        "snapshot_at": snapshot_at,
        "run_id": checks[0]["run_id"],
        "passed": not breaches,
        "checks": checks,
        "breaches": breaches,
    }


def alerts(
    conn: Connection,
    *,
    severity: str | None = None,
    symbol: str | None = None,
    since: dt.datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Alerts newest first; ``before_id`` pages backwards."""
    t = _table(Alert)
    query = select(t).order_by(t.c.id.desc()).limit(limit)
    if severity:
        query = query.where(t.c.severity == severity)
    if symbol:
        query = query.where(t.c.symbol == normalize_symbol(symbol))
    if since is not None:
        query = query.where(t.c.created_at >= since)
    if before_id is not None:
        query = query.where(t.c.id < before_id)
    return [dict(r) for r in conn.execute(query).mappings()]


def acknowledge_alert(conn: Connection, alert_id: int, by: str) -> dict[str, Any]:
    """Mark an alert acknowledged; acknowledging twice keeps the first acknowledgement."""
    t = _table(Alert)
    conn.execute(
        update(t)
        .where(t.c.id == alert_id, t.c.acknowledged_at.is_(None))
        .values(acknowledged_at=utcnow(), acknowledged_by=by)
    )
    row = conn.execute(select(t).where(t.c.id == alert_id)).mappings().first()
    if row is None:
        raise NotFound(f"no alert with id {alert_id}")
    return dict(row)


def record_price_alert(
    conn: Connection,
    ticker: str,
    price: float,
    *,
    source: str,
    payload: dict[str, Any],
    dedup_window: dt.timedelta = dt.timedelta(minutes=1),
    now: dt.datetime | None = None,
) -> tuple[int, bool]:
    """Store a price alert unless the same source, ticker and price came within
    ``dedup_window`` (a replay): (alert id, created?). A zero window stores every alert.

    Through the one alert path (``wheelflow.alerts.store``): delivered like every other alert.
    """
    from wheelflow.alerts.rules import make_alert
    from wheelflow.alerts.store import store_alerts

    now = now or utcnow()
    t = _table(Alert)
    same = f"{source}:{ticker}:{price:.6g}:"
    window = dedup_window.total_seconds()
    # The bucket makes concurrent identical alerts meet on the unique dedup_key; the look-back
    # finds a replay from the previous bucket too.
    if window > 0:
        dedup_key = f"{same}{int(now.replace(tzinfo=dt.UTC).timestamp() // window)}"
        existing = conn.execute(
            select(t.c.id)
            .where(
                t.c.kind == "price_alert",
                t.c.symbol == ticker,
                t.c.dedup_key.startswith(same, autoescape=True),
                t.c.created_at >= now - dedup_window,
            )
            .order_by(t.c.id.desc())
            .limit(1)
        ).scalar()
        if existing is not None:
            return int(existing), False
    else:
        dedup_key = f"{same}{now:%Y%m%d%H%M%S%f}"
    alert = make_alert(
        dedup_key,
        now,
        "price_alert",
        "info",
        ticker,
        f"{source}: {ticker} at {price:g}",
        f"{source} alert for {ticker} at {price:g}",
        payload,
    )
    alert["created_at"] = now
    fresh = store_alerts(conn, [alert])
    if fresh:
        return int(fresh[0]["id"]), True
    # A concurrent identical webhook won the race (ON CONFLICT DO NOTHING): its alert is ours.
    found = conn.execute(select(t.c.id).where(t.c.dedup_key == dedup_key)).scalar_one()
    return int(found), False


# --------------------------------------------------------------------------- watchlist


def watchlist(conn: Connection) -> list[dict[str, Any]]:
    t = _table(Watchlist)
    return [dict(r) for r in conn.execute(select(t).order_by(t.c.symbol)).mappings()]


def add_to_watchlist(
    conn: Connection, symbol: str, *, notes: str | None = None, source: str = "api"
) -> tuple[dict[str, Any], bool]:
    """Add (or re-activate) a symbol: (row, created?). The symbol is validated first."""
    symbol = normalize_symbol(symbol)
    t = _table(Watchlist)
    existing = conn.execute(select(t).where(t.c.symbol == symbol)).mappings().first()
    if existing is None:
        conn.execute(
            insert(t).values(
                symbol=symbol, active=True, source=source, added_at=utcnow(), notes=notes
            )
        )
    elif not existing["active"] or notes is not None:
        values: dict[str, Any] = {"active": True}
        if notes is not None:
            values["notes"] = notes
        conn.execute(update(t).where(t.c.symbol == symbol).values(**values))
    row = conn.execute(select(t).where(t.c.symbol == symbol)).mappings().one()
    return dict(row), existing is None


def remove_from_watchlist(conn: Connection, symbol: str) -> None:
    symbol = normalize_symbol(symbol)
    t = _table(Watchlist)
    if not conn.execute(delete(t).where(t.c.symbol == symbol)).rowcount:
        raise NotFound(f"{symbol} is not on the watchlist")


# --------------------------------------------------------------------------- runs, readiness


def pipeline_runs(conn: Connection, *, limit: int = 20) -> list[dict[str, Any]]:
    """Latest pipeline runs, each with its data-quality results and quarantined row count."""
    r = _table(PipelineRun)
    runs = [
        dict(row)
        for row in conn.execute(select(r).order_by(r.c.started_at.desc()).limit(limit)).mappings()
    ]
    if not runs:
        return runs
    run_ids = [run["run_id"] for run in runs]
    q = _table(QualityResult)
    quality: dict[str, list[dict[str, Any]]] = {rid: [] for rid in run_ids}
    for row in conn.execute(
        select(q).where(q.c.run_id.in_(run_ids)).order_by(q.c.stage, q.c.batch)
    ).mappings():
        quality[row["run_id"]].append(dict(row))
    z = _table(QuarantinedRow)
    quarantined: dict[str, int] = dict(
        conn.execute(
            select(z.c.run_id, func.count()).where(z.c.run_id.in_(run_ids)).group_by(z.c.run_id)
        ).all()
    )
    for run in runs:
        run["quality_results"] = quality[run["run_id"]]
        run["quarantined_rows"] = int(quarantined.get(run["run_id"], 0))
    return runs


def last_run_summary(conn: Connection) -> dict[str, Any]:
    """Status and age in seconds of the most recent pipeline run (None when there is none)."""
    r = _table(PipelineRun)
    row = conn.execute(
        select(r.c.run_id, r.c.status, r.c.started_at, r.c.finished_at)
        .order_by(r.c.started_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return {"run_id": None, "status": None, "age_seconds": None}
    at = row.finished_at or row.started_at
    return {
        "run_id": row.run_id,
        "status": row.status,
        "age_seconds": round((utcnow() - at).total_seconds(), 1),
    }


def run_quarantined_rows(
    conn: Connection, run_id: str, *, stage: str | None = None, limit: int = 200
) -> dict[str, Any]:
    """One run's data-quality outcomes and its quarantined rows with their reasons.

    ``quality_results`` holds every gate's result per expectation; ``quarantined`` the refused
    rows (newest snapshot first, at most ``limit``) and ``quarantined_total`` how many there are.
    """
    r = _table(PipelineRun)
    if conn.execute(select(r.c.run_id).where(r.c.run_id == run_id)).first() is None:
        raise NotFound(f"no pipeline run {run_id!r}")
    q = _table(QualityResult)
    z = _table(QuarantinedRow)
    conditions = [z.c.run_id == run_id]
    if stage is not None:
        conditions.append(z.c.stage == stage)
    total = conn.execute(select(func.count()).select_from(z).where(*conditions)).scalar_one()
    rows = conn.execute(
        select(z.c.snapshot_at, z.c.stage, z.c.row_key, z.c.reasons, z.c.payload, z.c.created_at)
        .where(*conditions)
        .order_by(z.c.snapshot_at.desc(), z.c.stage, z.c.row_key)
        .limit(limit)
    ).mappings()
    quality = conn.execute(
        select(q).where(q.c.run_id == run_id).order_by(q.c.stage, q.c.batch)
    ).mappings()
    return {
        "run_id": run_id,
        "quality_results": [dict(row) for row in quality],
        "quarantined_total": int(total),
        "quarantined": [dict(row) for row in rows],
    }


# --------------------------------------------------------------------------- live events


def recent_run_states(conn: Connection, *, limit: int = 10) -> list[dict[str, Any]]:
    """Status of the latest runs (run_id, status, snapshot_at, finished_at), newest first:
    the API's live watcher compares two readings to see runs start and finish."""
    r = _table(PipelineRun)
    query = (
        select(r.c.run_id, r.c.status, r.c.snapshot_at, r.c.finished_at, r.c.n_rankings)
        .order_by(r.c.started_at.desc())
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def alerts_after(
    conn: Connection, after_id: int | None, *, limit: int = 100
) -> list[dict[str, Any]]:
    """Alerts with id > ``after_id`` oldest first; with ``after_id`` None, only the newest one
    (so a watcher starts from the current end of the table)."""
    t = _table(Alert)
    if after_id is None:
        query = select(t).order_by(t.c.id.desc()).limit(1)
    else:
        query = select(t).where(t.c.id > after_id).order_by(t.c.id).limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]
