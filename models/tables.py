"""The wheelflow tables: SQLAlchemy 2 typed models, identical on SQLite and PostgreSQL.

Conventions
- Every timestamp is naive UTC (``DateTime`` without time zone) so both databases compare alike.
- Market data is keyed by ``snapshot_at`` (the market snapshot a pipeline run reads); a re-run of
  the same snapshot upserts the same natural keys and so leaves the tables unchanged.
- Prices are in the underlying's currency (USD), per share; ``collateral`` is per contract (x100).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Naive UTC now, the one timestamp form stored in the tables."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Watchlist(Base):
    """Underlyings the pipeline screens."""

    __tablename__ = "watchlist"

    symbol: Mapped[str] = mapped_column(String(16), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(32), default="default")
    section: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    notes: Mapped[str | None] = mapped_column(Text)


class UnderlyingQuote(Base):
    """One quote per underlying per snapshot."""

    __tablename__ = "underlying_quotes"

    snapshot_at: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(16), primary_key=True)
    bid: Mapped[float | None] = mapped_column(Float)
    ask: Mapped[float | None] = mapped_column(Float)
    last: Mapped[float] = mapped_column(Float)
    prev_close: Mapped[float | None] = mapped_column(Float)
    volume: Mapped[int | None] = mapped_column(BigInteger)
    quote_time: Mapped[dt.datetime] = mapped_column(DateTime)
    provider: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_underlying_quotes_symbol_snapshot", "symbol", "snapshot_at"),)


class PriceBar(Base):
    """Daily OHLCV history of an underlying."""

    __tablename__ = "price_bars"

    symbol: Mapped[str] = mapped_column(String(16), primary_key=True)
    bar_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[int | None] = mapped_column(BigInteger)
    provider: Mapped[str] = mapped_column(String(32))


class OptionSnapshot(Base):
    """One row per contract per snapshot, with the IV and greeks the pipeline computed."""

    __tablename__ = "option_snapshots"

    snapshot_at: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    occ_symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    underlying: Mapped[str] = mapped_column(String(16))
    expiration: Mapped[dt.date] = mapped_column(Date)
    strike: Mapped[float] = mapped_column(Float)
    right: Mapped[str] = mapped_column(String(1))
    bid: Mapped[float] = mapped_column(Float)
    ask: Mapped[float] = mapped_column(Float)
    last: Mapped[float | None] = mapped_column(Float)
    volume: Mapped[int | None] = mapped_column(BigInteger)
    open_interest: Mapped[int | None] = mapped_column(BigInteger)
    underlying_price: Mapped[float] = mapped_column(Float)
    iv: Mapped[float | None] = mapped_column(Float)
    delta: Mapped[float | None] = mapped_column(Float)
    gamma: Mapped[float | None] = mapped_column(Float)
    theta: Mapped[float | None] = mapped_column(Float)  # per calendar day
    vega: Mapped[float | None] = mapped_column(Float)  # per 1 vol point
    rho: Mapped[float | None] = mapped_column(Float)  # per 1 rate point
    iv_status: Mapped[str] = mapped_column(String(24))
    provider: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_option_snapshots_underlying_snapshot", "underlying", "snapshot_at"),
        Index("ix_option_snapshots_snapshot_expiration", "snapshot_at", "expiration"),
    )


class PipelineRun(Base):
    """One row per pipeline snapshot; a re-run of the same snapshot updates it (attempts += 1)."""

    __tablename__ = "pipeline_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow_name: Mapped[str] = mapped_column(String(64))
    snapshot_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    status: Mapped[str] = mapped_column(String(16))  # running|completed|failed|crashed
    provider: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    prefect_flow_run_id: Mapped[str | None] = mapped_column(String(64))
    n_underlyings: Mapped[int | None] = mapped_column(Integer)
    n_contracts: Mapped[int | None] = mapped_column(Integer)
    n_rankings: Mapped[int | None] = mapped_column(Integer)
    stage_seconds: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # provider retries, per-symbol fetch failures, gate outcomes: what an operator asks first
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    # Refreshed by the running process after each stage and chain batch: a `running` row whose
    # heartbeat is older than WHEELFLOW_RUN_STALE_SECONDS belongs to a dead process (crashed).
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Ranking(Base):
    """Ranked cash-secured put (csp) and covered call (cc) opportunities of one snapshot."""

    __tablename__ = "rankings"

    snapshot_at: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    strategy: Mapped[str] = mapped_column(String(8), primary_key=True)  # csp|cc
    occ_symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    underlying: Mapped[str] = mapped_column(String(16))
    expiration: Mapped[dt.date] = mapped_column(Date)
    strike: Mapped[float] = mapped_column(Float)
    right: Mapped[str] = mapped_column(String(1))
    underlying_price: Mapped[float] = mapped_column(Float)
    bid: Mapped[float] = mapped_column(Float)
    ask: Mapped[float] = mapped_column(Float)
    premium: Mapped[float] = mapped_column(Float)  # per share, on the configured basis
    days_to_expiry: Mapped[int] = mapped_column(Integer)
    period_return: Mapped[float] = mapped_column(Float)  # premium / capital at risk
    annualized_return: Mapped[float] = mapped_column(Float)  # simple, 365-day
    probability_otm: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float)
    iv: Mapped[float] = mapped_column(Float)
    breakeven: Mapped[float] = mapped_column(Float)
    collateral: Mapped[float] = mapped_column(Float)  # per contract
    spread_pct: Mapped[float] = mapped_column(Float)
    open_interest: Mapped[int | None] = mapped_column(BigInteger)
    volume: Mapped[int | None] = mapped_column(BigInteger)
    score: Mapped[float] = mapped_column(Float)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    # Net of the real fill and fees, under the forecast volatility (strategy/expected_value.py).
    fill_price: Mapped[float | None] = mapped_column(Float)  # per share, on the tick
    fees: Mapped[float | None] = mapped_column(Float)  # USD per contract, opening
    forecast_vol: Mapped[float | None] = mapped_column(Float)  # annualized, over the DTE
    probability_assignment: Mapped[float | None] = mapped_column(Float)
    expected_loss_given_assignment: Mapped[float | None] = mapped_column(Float)  # USD/contract
    gross_expected_value: Mapped[float | None] = mapped_column(Float)  # at mid, no fees
    expected_value: Mapped[float | None] = mapped_column(Float)  # USD per contract: rank key
    expected_value_per_day: Mapped[float | None] = mapped_column(Float)  # USD per day
    net_annualized_return: Mapped[float | None] = mapped_column(Float)  # after fill and fees
    dividend_pv: Mapped[float | None] = mapped_column(Float)  # per share, before expiry
    spans_earnings: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    spans_ex_dividend: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    early_assignment_risk: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    flags: Mapped[str | None] = mapped_column(String(64))  # "negative_ev,earnings,..."

    __table_args__ = (
        Index("ix_rankings_snapshot_strategy_rank", "snapshot_at", "strategy", "rank"),
        Index("ix_rankings_snapshot_strategy_ev", "snapshot_at", "strategy", "expected_value"),
        Index("ix_rankings_underlying_snapshot", "underlying", "snapshot_at"),
    )


class RiskCheck(Base):
    """Results of the risk check: one row per check and subject, per account."""

    __tablename__ = "risk_checks"

    snapshot_at: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    check_name: Mapped[str] = mapped_column(String(48), primary_key=True)
    # the account (scope portfolio) or "account:SYMBOL" (scope candidate)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    account: Mapped[str | None] = mapped_column(String(32))
    # portfolio: the account as it stands (a breach alerts); candidate: with one more contract
    scope: Mapped[str] = mapped_column(String(16), default="portfolio")
    passed: Mapped[bool] = mapped_column(Boolean)
    metric_value: Mapped[float | None] = mapped_column(Float)
    limit_value: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Alert(Base):
    """Alerts, de-duplicated by ``dedup_key``."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    snapshot_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    kind: Mapped[str] = mapped_column(String(48))
    severity: Mapped[str] = mapped_column(String(16))  # info|warning|critical
    symbol: Mapped[str | None] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))


class QualityResult(Base):
    """One data-quality gate result per snapshot, stage and batch."""

    __tablename__ = "quality_results"

    snapshot_at: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    batch: Mapped[str] = mapped_column(String(64), primary_key=True, default="all")
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    suite: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)
    evaluated_rows: Mapped[int] = mapped_column(Integer)
    failed_rows: Mapped[int] = mapped_column(Integer)
    bad_fraction: Mapped[float] = mapped_column(Float)
    expectations: Mapped[list[Any]] = mapped_column(
        JSON
    )  # per expectation: type, column, success, n
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class QuarantinedRow(Base):
    """A row refused by a gate, with every reason it failed, kept for inspection and replay."""

    __tablename__ = "quarantined_rows"

    snapshot_at: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    row_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    reasons: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Position(Base):
    """Stock and option positions of an account (quantity < 0 is short)."""

    __tablename__ = "positions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(32), default="paper")
    symbol: Mapped[str] = mapped_column(String(16), index=True)  # the underlying
    asset_type: Mapped[str] = mapped_column(String(8))  # stock|option
    occ_symbol: Mapped[str | None] = mapped_column(String(32))
    right: Mapped[str | None] = mapped_column(String(1))
    strike: Mapped[float | None] = mapped_column(Float)
    expiration: Mapped[dt.date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)  # shares, or contracts
    average_price: Mapped[float] = mapped_column(Float)  # per share
    cost_basis: Mapped[float | None] = mapped_column(Float)  # per share, net of premiums
    status: Mapped[str] = mapped_column(String(8), default="open")  # open|closed
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    realized_pnl: Mapped[float] = mapped_column(Float, default=0.0)
    cycle_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), default="paper")  # paper|live|demo|import

    __table_args__ = (Index("ix_positions_account_status", "account", "status"),)


class Order(Base):
    """Orders sent to a broker.

    ``client_order_id`` is derived from the decision, so an order is never sent twice.
    """

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(32), default="paper")
    broker: Mapped[str] = mapped_column(String(32))
    broker_order_id: Mapped[str | None] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(16), index=True)
    occ_symbol: Mapped[str | None] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(16))  # sell_to_open|buy_to_close|buy|sell
    quantity: Mapped[int] = mapped_column(Integer)
    order_type: Mapped[str] = mapped_column(String(8), default="limit")
    limit_price: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # pending|submitted|filled|cancelled|rejected
    filled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    average_fill_price: Mapped[float | None] = mapped_column(Float)
    fees: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    snapshot_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("client_order_id"),)


__all__ = [
    "Alert",
    "Base",
    "OptionSnapshot",
    "Order",
    "PipelineRun",
    "Position",
    "PriceBar",
    "QualityResult",
    "QuarantinedRow",
    "Ranking",
    "RiskCheck",
    "UnderlyingQuote",
    "Watchlist",
    "utcnow",
]
