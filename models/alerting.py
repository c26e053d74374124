"""Tables of alert delivery: who wants which alerts where, and the outbox of deliveries.

- ``alert_subscriptions``: a user's (or the environment's default) rule for which alerts reach
  which channels, with quiet hours and a digest interval. Channel URLs hold secrets: they are
  stored encrypted (``channels_encrypted``) and only a redacted form is ever shown.
- ``alert_deliveries``: the transactional outbox, one row per (alert, channel), written in the
  same transaction as the alert; the dispatcher (in process or ``wheelflow notify`` workers)
  moves it from ``pending`` to ``delivered`` or, after N failures, ``dead``.
- ``alert_delivery_attempts``: every attempt with its outcome, error and latency.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.tables import Base


class AlertSubscription(Base):
    """Which alerts (kinds, minimum severity) go to which channels, and when."""

    __tablename__ = "alert_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    kinds: Mapped[list[str]] = mapped_column(JSON)  # empty: every kind
    min_severity: Mapped[str] = mapped_column(String(16))  # info|warning|critical
    # Fernet token of a JSON list of Apprise URLs (they carry passwords and API keys).
    channels_encrypted: Mapped[str] = mapped_column(Text)
    # Redacted URLs, safe to show (``json://127.0.0.1:8080/hook``, ``mailto://***@host``).
    channels_redacted: Mapped[list[str]] = mapped_column(JSON)
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" local time
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    digest_minutes: Mapped[int] = mapped_column(Integer)  # 0: one message per alert
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AlertDelivery(Base):
    """The outbox: one delivery of one alert to one channel (at-least-once, idempotent)."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel_key"),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    # "env:<i>" (the i-th WHEELFLOW_ALERT_URLS entry) or "sub:<subscription id>:<i>".
    channel_key: Mapped[str] = mapped_column(String(64))
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_subscriptions.id", ondelete="CASCADE")
    )
    target: Mapped[str] = mapped_column(String(300))  # redacted URL
    status: Mapped[str] = mapped_column(String(16))  # pending|sending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer)
    digest: Mapped[bool] = mapped_column(Boolean)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(32))  # the lease holder's token
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AlertDeliveryAttempt(Base):
    """One attempt to deliver: when, by whom, the outcome and how long it took."""

    __tablename__ = "alert_delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("alert_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[float] = mapped_column(Float)
    worker: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AlertRuleState(Base):
    """Where each level-triggered rule stands (per rule and subject), for hysteresis.

    A rule fires when its value crosses the trigger level while inactive, and re-arms only once
    the value is back past the (lower) re-arm level: a price bouncing around a threshold gives
    one alert per episode, not one per quote.
    """

    __tablename__ = "alert_rule_states"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # rule:subject[:side]
    active: Mapped[bool] = mapped_column(Boolean)
    value: Mapped[float] = mapped_column(Float)
    since: Mapped[dt.datetime] = mapped_column(DateTime)  # start of the current episode
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class PriceQuote(Base):
    """Intraday quotes of the price watch (a TimescaleDB hypertable where the extension exists)."""

    __tablename__ = "price_quotes"

    quoted_at: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(16), primary_key=True)
    last: Mapped[float] = mapped_column(Float)
    bid: Mapped[float | None] = mapped_column(Float)
    ask: Mapped[float | None] = mapped_column(Float)
    prev_close: Mapped[float | None] = mapped_column(Float)
    provider: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_price_quotes_symbol_quoted_at", "symbol", "quoted_at"),)
