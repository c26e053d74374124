"""Tables of the wheel lifecycle: cycles, the append-only event log, fills and account cash.

Money columns are USD; ``price`` columns are per share. Timestamps are naive UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.tables import Base


class Account(Base):
    """Cash of a (paper) account; the paper broker's books together with ``positions``."""

    __tablename__ = "accounts"

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    broker: Mapped[str] = mapped_column(String(32))
    starting_cash: Mapped[float] = mapped_column(Float)
    cash: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class WheelCycleRow(Base):
    """One turn of the wheel on one underlying (see ``wheelflow.strategy.wheel``)."""

    __tablename__ = "wheel_cycles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # CASH|SHORT_PUT|LONG_STOCK|SHORT_CALL
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    contracts: Mapped[int] = mapped_column(Integer, default=0)
    shares: Mapped[int] = mapped_column(Integer, default=0)
    option_occ: Mapped[str | None] = mapped_column(String(32))
    option_strike: Mapped[float | None] = mapped_column(Float)
    option_expiration: Mapped[dt.date | None] = mapped_column(Date)
    option_premium: Mapped[float | None] = mapped_column(Float)
    assignment_price: Mapped[float | None] = mapped_column(Float)
    premium_collected: Mapped[float] = mapped_column(Float, default=0.0)
    fees: Mapped[float] = mapped_column(Float, default=0.0)
    cash_flow: Mapped[float] = mapped_column(Float, default=0.0)
    realized_pnl: Mapped[float] = mapped_column(Float, default=0.0)
    cost_basis: Mapped[float | None] = mapped_column(Float)
    assigned: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_wheel_cycles_account_symbol_open", "account", "symbol", "is_open"),)


class PositionEvent(Base):
    """Append-only log of every wheel transition; ``event_key`` makes re-processing a no-op."""

    __tablename__ = "position_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(128), unique=True)
    account: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(16), index=True)
    cycle_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    occ_symbol: Mapped[str | None] = mapped_column(String(32))
    contracts: Mapped[int] = mapped_column(Integer, default=0)
    price: Mapped[float | None] = mapped_column(Float)  # premium per share, or strike
    strike: Mapped[float | None] = mapped_column(Float)
    fees: Mapped[float] = mapped_column(Float, default=0.0)
    cash_flow: Mapped[float] = mapped_column(Float)  # USD, + received
    realized_pnl: Mapped[float] = mapped_column(Float, default=0.0)  # USD, when it closes a cycle
    client_order_id: Mapped[str | None] = mapped_column(String(64))
    snapshot_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class FillRow(Base):
    """Executions reported by a broker, one row per fill (unique per order and sequence)."""

    __tablename__ = "fills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fill_key: Mapped[str] = mapped_column(String(96), unique=True)
    client_order_id: Mapped[str] = mapped_column(String(64), index=True)
    broker_order_id: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(32))
    broker: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(16))
    occ_symbol: Mapped[str | None] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[float] = mapped_column(Float)
    fees: Mapped[float] = mapped_column(Float)
    filled_at: Mapped[dt.datetime] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)


__all__ = ["Account", "FillRow", "PositionEvent", "WheelCycleRow"]
