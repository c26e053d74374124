"""One wheel run on a stored snapshot: read rankings and quotes, decide, execute; and expiry.

These are the functions the ``execute_wheel`` / ``process_expirations`` flows wrap. A run is
keyed by its snapshot: decisions carry client order ids derived from it, so running the same
snapshot again sends nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine

from wheelflow.db import read_frame
from wheelflow.execution._sql import as_datetime, text
from wheelflow.execution.broker import Broker
from wheelflow.execution.ledger import mark_account
from wheelflow.execution.paper import PaperBroker
from wheelflow.execution.service import OrderOutcome, PositionService
from wheelflow.strategy.config import StrategyConfig
from wheelflow.strategy.decisions import Decision, decide
from wheelflow.strategy.wheel import WheelCycle


@dataclass(frozen=True)
class WheelInputs:
    """What decisions read at one snapshot (see ``wheelflow.strategy.decisions``)."""

    snapshot_at: dt.datetime
    rankings: pd.DataFrame
    underlying_quotes: pd.DataFrame
    option_quotes: pd.DataFrame


@dataclass
class WheelRunSummary:
    snapshot_at: dt.datetime | None
    decisions: int = 0
    orders_sent: int = 0
    filled: int = 0
    rejected: int = 0
    duplicates: int = 0
    outcomes: list[OrderOutcome] = field(default_factory=list)
    note: str | None = None


def latest_snapshot(engine: Engine) -> dt.datetime | None:
    """The newest snapshot that has rankings, of a run that completed (never a partial one)."""
    with engine.connect() as conn:
        value = conn.execute(
            text(
                "SELECT MAX(snapshot_at) FROM rankings WHERE snapshot_at IN "
                "(SELECT snapshot_at FROM pipeline_runs WHERE status = 'completed')"
            )
        ).scalar()
    return as_datetime(value)


def load_inputs(
    engine: Engine, book: dict[str, WheelCycle], snapshot_at: dt.datetime
) -> WheelInputs:
    """Rankings, underlying quotes and the open shorts' option quotes of ``snapshot_at``."""
    params = {"snapshot_at": snapshot_at}
    occs = sorted({c.option_occ for c in book.values() if c.option_occ})
    with engine.connect() as conn:
        rankings = _frame(conn, "SELECT * FROM rankings WHERE snapshot_at = :snapshot_at", params)
        quotes = _frame(
            conn,
            "SELECT symbol, last, prev_close FROM underlying_quotes "
            "WHERE snapshot_at = :snapshot_at",
            params,
        )
        options = _frame(
            conn,
            "SELECT occ_symbol, bid, ask FROM option_snapshots WHERE snapshot_at = :snapshot_at",
            params,
        )
    options = options[options["occ_symbol"].isin(occs)] if len(options) else options
    if rankings.empty:
        rankings = pd.DataFrame(
            columns=["strategy", "occ_symbol", "underlying", "right", "blocked", "score"]
        )
    return WheelInputs(snapshot_at, rankings, quotes, options)


def _frame(conn: Connection, sql: str, params: Mapping[str, Any]) -> pd.DataFrame:
    result = conn.execute(text(sql), dict(params))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def plan_wheel(
    engine: Engine, broker: Broker, config: StrategyConfig, snapshot_at: dt.datetime
) -> list[Decision]:
    """The decisions of ``snapshot_at`` for the configured account."""
    service = PositionService(engine, broker, config)
    book = service.book()
    inputs = load_inputs(engine, book, snapshot_at)
    account = config.wheel.account
    balances = broker.balances(account)  # opens the paper account on first use
    equity = account_equity(engine, broker, account, snapshot_at)
    return decide(
        inputs.rankings,
        book,
        inputs.option_quotes,
        inputs.underlying_quotes,
        buying_power=balances.buying_power,
        equity=equity,
        config=config,
        snapshot_at=snapshot_at,
        as_of=snapshot_at.date(),
    )


def account_equity(engine: Engine, broker: Broker, account: str, snapshot_at: dt.datetime) -> float:
    """USD equity: the paper books marked at the snapshot, or what a live broker reports."""
    balances = broker.balances(account)
    if not isinstance(broker, PaperBroker):
        return balances.extra.get("equity", balances.cash)
    with engine.connect() as conn:
        return mark_account(conn, account, snapshot_at).equity


def execute_decisions(
    engine: Engine,
    broker: Broker,
    config: StrategyConfig,
    decisions: list[Decision],
    snapshot_at: dt.datetime,
) -> WheelRunSummary:
    """Send ``decisions`` through the Position Service; summarize what happened.

    Every opening order passes the per-order checks and then the risk service's portfolio
    limits for the account as it stands (``wheelflow.risk.guard``), with the market context of
    the stored bars of the snapshot."""
    from wheelflow.risk.guard import PortfolioGuard
    from wheelflow.settings import get_settings

    equity = account_equity(engine, broker, config.wheel.account, snapshot_at)
    settings = get_settings()
    guard = PortfolioGuard(
        engine, config.risk, screening_cash=settings.account_cash, rate=settings.risk_free_rate
    )
    guard.prepare(snapshot_at, sorted({d.symbol for d in decisions}))
    service = PositionService(engine, broker, config, guard=guard)
    outcomes = service.execute(decisions, equity=equity)
    return WheelRunSummary(
        snapshot_at=snapshot_at,
        decisions=len(decisions),
        orders_sent=sum(not o.duplicate and o.status != "rejected" for o in outcomes),
        filled=sum(o.status == "filled" and not o.duplicate for o in outcomes),
        rejected=sum(o.status == "rejected" and not o.duplicate for o in outcomes),
        duplicates=sum(o.duplicate for o in outcomes),
        outcomes=outcomes,
    )


def process_expirations(
    engine: Engine, broker: Broker, config: StrategyConfig, as_of: dt.date
) -> list[str]:
    """Settle the paper books (a live broker settles its own) and move the wheel ledger."""
    if isinstance(broker, PaperBroker):
        broker.settle_expirations(config.wheel.account, as_of)
    service = PositionService(engine, broker, config)
    return [f"{t.after.symbol}: {t.event.kind}" for t in service.process_expirations(as_of)]


def open_cycles_frame(engine: Engine, account: str) -> pd.DataFrame:
    """Open cycles of ``account`` for display."""
    with engine.connect() as conn:
        return read_frame(
            conn,
            "SELECT symbol, state, contracts, shares, option_occ, cost_basis, premium_collected, "
            "cash_flow FROM wheel_cycles WHERE account = :a AND is_open = :t ORDER BY symbol",
            {"a": account, "t": True},
        )
