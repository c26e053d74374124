"""The transactional outbox of alert deliveries.

``enqueue`` runs inside the transaction that inserts the alerts, so an alert and its deliveries
commit together or not at all. Dispatchers (in process, or ``wheelflow notify`` workers fed by
RabbitMQ) ``claim`` due rows with a lease in one atomic UPDATE, send, and ``record`` the outcome:
``delivered``, back to ``pending`` with exponential backoff, or ``dead`` after the last attempt.
A dispatcher that dies mid-delivery leaves its rows ``sending`` until the lease runs out; they are
then due again (at-least-once), and a row already ``delivered`` is never claimed again.

Who gets what is a :class:`Channel`: one Apprise URL of the environment's default subscription
(``WHEELFLOW_ALERT_URLS``) or of a user's subscription, with its kinds, minimum severity, quiet
hours and digest interval.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Connection, Engine, and_, insert, or_, select, update

from models.alerting import AlertDelivery, AlertDeliveryAttempt, AlertSubscription
from wheelflow.alerts.channels import SEVERITIES
from wheelflow.db import transaction, upsert_frame

SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Channel:
    """One destination and the rule that decides which alerts reach it, and when."""

    key: str  # "env:<i>" or "sub:<subscription id>:<i>"
    target: str  # redacted URL
    subscription_id: int | None = None
    kinds: tuple[str, ...] = ()  # empty: every kind
    min_severity: str = "info"
    quiet_start: str | None = None  # "HH:MM", local time of ``timezone``
    quiet_end: str | None = None
    timezone: str = "UTC"
    digest_minutes: int = 0
    user_id: int | None = field(default=None, compare=False)


def env_channels(targets: Sequence[str]) -> list[Channel]:
    """The default subscription: every alert to every ``WHEELFLOW_ALERT_URLS`` entry."""
    return [Channel(key=f"env:{i}", target=t) for i, t in enumerate(targets)]


def subscription_channels(conn: Connection) -> list[Channel]:
    """Every channel of every enabled user subscription (from the redacted list: no secrets)."""
    rows = conn.execute(
        select(AlertSubscription.__table__).where(AlertSubscription.enabled.is_(True))
    )
    out = []
    for sub in rows:
        for i, target in enumerate(sub.channels_redacted):
            out.append(
                Channel(
                    key=f"sub:{sub.id}:{i}",
                    target=str(target),
                    subscription_id=sub.id,
                    kinds=tuple(sub.kinds or ()),
                    min_severity=sub.min_severity,
                    quiet_start=sub.quiet_start,
                    quiet_end=sub.quiet_end,
                    timezone=sub.timezone,
                    digest_minutes=sub.digest_minutes,
                    user_id=sub.user_id,
                )
            )
    return out


# --------------------------------------------------------------------------- planning (pure)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def release_times(created_at: pd.Series, severity: pd.Series, channel: Channel) -> pd.Series:
    """When each alert may go out on ``channel`` (naive UTC).

    Digest channels send at the end of each aligned ``digest_minutes`` window (one message for
    the window); quiet hours hold a message until they end in the channel's time zone. Critical
    alerts bypass both.
    """
    created = pd.to_datetime(created_at).astype("datetime64[us]")
    release = created.copy()
    critical = severity.to_numpy() == "critical"
    if channel.digest_minutes > 0:
        step = pd.Timedelta(minutes=channel.digest_minutes)
        release = release.where(critical, created.dt.floor(step) + step)
    if channel.quiet_start and channel.quiet_end:
        start, end = _minutes(channel.quiet_start), _minutes(channel.quiet_end)
        local = release.dt.tz_localize("UTC").dt.tz_convert(channel.timezone)
        minute = (local.dt.hour * 60 + local.dt.minute).to_numpy()
        if start <= end:
            quiet = (minute >= start) & (minute < end)
        else:  # overnight window, e.g. 22:00-07:00
            quiet = (minute >= start) | (minute < end)
        ends = local.dt.normalize() + pd.to_timedelta(end, unit="m")
        ends = ends.where(ends > local, ends + pd.Timedelta(days=1))
        ends_utc = ends.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
        release = release.where(~quiet | critical, ends_utc)
    return release


def plan_deliveries(alerts: pd.DataFrame, channels: Sequence[Channel]) -> pd.DataFrame:
    """The outbox rows for ``alerts`` (columns id, kind, severity, created_at) on ``channels``."""
    columns = [c.name for c in AlertDelivery.__table__.columns if c.name != "id"]
    frames = []
    rank = alerts["severity"].map(SEVERITY_RANK).fillna(0).to_numpy()
    for channel in channels:
        keep = rank >= SEVERITY_RANK.get(channel.min_severity, 0)
        if channel.kinds:
            keep &= alerts["kind"].isin(channel.kinds).to_numpy()
        chosen = alerts[keep]
        if chosen.empty:
            continue
        release = release_times(chosen["created_at"], chosen["severity"], channel)
        frames.append(
            pd.DataFrame(
                {
                    "alert_id": chosen["id"].astype("int64").to_numpy(),
                    "channel_key": channel.key,
                    "subscription_id": channel.subscription_id,
                    "target": channel.target,
                    "status": "pending",
                    "attempts": 0,
                    "digest": channel.digest_minutes > 0
                    and ~(chosen["severity"] == "critical").to_numpy(),
                    "next_attempt_at": release.to_numpy(),
                    "lease_until": pd.NaT,
                    "claimed_by": None,
                    "last_error": None,
                    "created_at": pd.to_datetime(chosen["created_at"]).to_numpy(),
                    "delivered_at": pd.NaT,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    out["digest"] = out["digest"].astype(bool)
    return out[columns]


def enqueue(conn: Connection, alerts: pd.DataFrame, channels: Sequence[Channel]) -> int:
    """Write the deliveries of ``alerts`` in the caller's transaction; returns how many."""
    rows = plan_deliveries(alerts, channels)
    if rows.empty:
        return 0
    upsert_frame(
        conn,
        "alert_deliveries",
        rows,
        update=False,
        conflict_columns=["alert_id", "channel_key"],
    )
    return len(rows)


# --------------------------------------------------------------------------- claiming and recording


@dataclass(frozen=True)
class Claimed:
    id: int
    alert_id: int
    channel_key: str
    target: str
    attempts: int
    digest: bool
    token: str


def _due(now: dt.datetime) -> ColumnElement[bool]:
    d = AlertDelivery
    return or_(
        and_(d.status == "pending", d.next_attempt_at <= now),
        and_(d.status == "sending", d.lease_until < now),
    )


def claim(
    engine: Engine,
    *,
    now: dt.datetime,
    limit: int = 200,
    lease_seconds: float = 120.0,
    ids: Sequence[int] | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries (or the due ones among ``ids``) to this caller.

    One UPDATE takes them; its WHERE repeats the due condition, so two dispatchers racing for a
    row (PostgreSQL re-checks it on the row it waited for; SQLite serialises writers) never both
    get it.
    """
    d = AlertDelivery
    token = secrets.token_hex(16)
    pick = select(d.id).where(_due(now)).order_by(d.next_attempt_at, d.id).limit(limit)
    if ids is not None:
        pick = pick.where(d.id.in_(list(ids)))
    with transaction(engine) as conn:
        conn.execute(
            update(d)
            .where(d.id.in_(pick.scalar_subquery()), _due(now))
            .values(
                status="sending",
                claimed_by=token,
                lease_until=now + dt.timedelta(seconds=lease_seconds),
            )
        )
        rows = conn.execute(
            select(d.id, d.alert_id, d.channel_key, d.target, d.attempts, d.digest)
            .where(d.claimed_by == token, d.status == "sending")
            .order_by(d.id)
        ).all()
    return [Claimed(*row, token=token) for row in rows]


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    ok: bool
    error: str | None
    latency_ms: float
    attempts_before: int
    token: str


def retry_delay_seconds(attempt: int, base: float, cap: float, rng: np.random.Generator) -> float:
    """Exponential backoff with full jitter: uniform in [base * 2^(n-1) / 2, base * 2^(n-1)]."""
    ceiling = min(cap, base * 2.0 ** max(attempt - 1, 0))
    return float(ceiling * (0.5 + 0.5 * rng.random()))


def record(
    engine: Engine,
    outcomes: Sequence[Outcome],
    *,
    now: dt.datetime,
    worker: str,
    max_attempts: int,
    retry_base_seconds: float,
    retry_max_seconds: float,
) -> None:
    """Store each attempt and move its delivery on (delivered, retry later, or dead)."""
    if not outcomes:
        return
    rng = np.random.default_rng()
    d = AlertDelivery
    with transaction(engine) as conn:
        conn.execute(
            insert(AlertDeliveryAttempt),
            [
                {
                    "delivery_id": o.delivery_id,
                    "attempted_at": now,
                    "ok": o.ok,
                    "error": o.error,
                    "latency_ms": o.latency_ms,
                    "worker": worker[:64],
                    "details": None,
                }
                for o in outcomes
            ],
        )
        for o in outcomes:
            attempts = o.attempts_before + 1
            if o.ok:
                values: dict[str, object] = {
                    "status": "delivered",
                    "delivered_at": now,
                    "last_error": None,
                }
            elif attempts >= max_attempts:
                values = {"status": "dead", "last_error": o.error}
            else:
                delay = retry_delay_seconds(attempts, retry_base_seconds, retry_max_seconds, rng)
                values = {
                    "status": "pending",
                    "next_attempt_at": now + dt.timedelta(seconds=delay),
                    "last_error": o.error,
                }
            conn.execute(
                update(d)
                .where(d.id == o.delivery_id, d.status == "sending", d.claimed_by == o.token)
                .values(attempts=attempts, lease_until=None, claimed_by=None, **values)
            )
