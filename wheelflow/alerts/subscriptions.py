"""Users' alert subscriptions: which kinds, minimum severity, which channels, quiet hours, digest.

Channel URLs are checked with Apprise, stored encrypted and returned redacted only.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from models.alerting import AlertSubscription
from models.tables import utcnow
from wheelflow.alerts.channels import (
    SEVERITIES,
    check_url,
    decrypt_urls,
    encrypt_urls,
    load_or_create_key,
    redact,
    send,
)
from wheelflow.errors import ConfigError
from wheelflow.settings import Settings

ALERT_KINDS = (
    "new_top_opportunity",
    "risk_breach",
    "data_quality",
    "fetch_failure",
    "pipeline_failed",
    "pipeline_stalled",
    "early_assignment_risk",
    "price_move",
    "strike_near",
    "strike_breached",
    "expiry_soon",
    "price_alert",
    "operations",
)
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class SubscriptionError(ConfigError):
    """A subscription field is invalid; the message names it (the API answers 400)."""


class SubscriptionNotFound(SubscriptionError):
    """No subscription with that id belongs to the caller (the API answers 404)."""


@dataclass(frozen=True)
class SubscriptionSpec:
    name: str
    channels: list[str]
    kinds: list[str]
    min_severity: str = "info"
    quiet_start: str | None = None
    quiet_end: str | None = None
    timezone: str = "UTC"
    digest_minutes: int = 0
    enabled: bool = True


def validate(spec: SubscriptionSpec) -> list[str]:
    """Check every field; returns the channel URLs (stripped). Raises naming the field."""
    if not spec.channels:
        raise SubscriptionError("channels: at least one Apprise URL is needed")
    try:
        urls = [check_url(url) for url in spec.channels]
    except ConfigError as exc:
        raise SubscriptionError(f"channels: {exc}") from None
    unknown = sorted(set(spec.kinds) - set(ALERT_KINDS))
    if unknown:
        raise SubscriptionError(f"kinds: unknown {unknown}; known: {list(ALERT_KINDS)}")
    if spec.min_severity not in SEVERITIES:
        raise SubscriptionError(f"min_severity: one of {list(SEVERITIES)}")
    if (spec.quiet_start is None) != (spec.quiet_end is None):
        raise SubscriptionError("quiet_start and quiet_end: give both or neither")
    for name in ("quiet_start", "quiet_end"):
        value = getattr(spec, name)
        if value is not None and not _HHMM.match(value):
            raise SubscriptionError(f"{name}: HH:MM in 24-hour time, got {value!r}")
    try:
        zoneinfo.ZoneInfo(spec.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SubscriptionError(f"timezone: unknown IANA time zone {spec.timezone!r}") from None
    if not 0 <= spec.digest_minutes <= 24 * 60:
        raise SubscriptionError("digest_minutes: 0 (off) to 1440")
    return urls


def _row(sub: Any) -> dict[str, Any]:
    return {
        "id": sub.id,
        "name": sub.name,
        "channels": list(sub.channels_redacted),
        "kinds": list(sub.kinds),
        "min_severity": sub.min_severity,
        "quiet_start": sub.quiet_start,
        "quiet_end": sub.quiet_end,
        "timezone": sub.timezone,
        "digest_minutes": sub.digest_minutes,
        "enabled": sub.enabled,
        "updated_at": sub.updated_at,
    }


def list_subscriptions(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(AlertSubscription.__table__)
        .where(AlertSubscription.user_id == user_id)
        .order_by(AlertSubscription.id)
    )
    return [_row(sub) for sub in rows]


def _values(spec: SubscriptionSpec, settings: Settings) -> dict[str, Any]:
    urls = validate(spec)
    key = load_or_create_key(settings.alert_secret_key.get_secret_value(), settings.data_dir)
    return {
        "name": spec.name,
        "kinds": sorted(set(spec.kinds)),
        "min_severity": spec.min_severity,
        "channels_encrypted": encrypt_urls(urls, key),
        "channels_redacted": [redact(url) for url in urls],
        "quiet_start": spec.quiet_start,
        "quiet_end": spec.quiet_end,
        "timezone": spec.timezone,
        "digest_minutes": spec.digest_minutes,
        "enabled": spec.enabled,
        "updated_at": utcnow(),
    }


def create_subscription(
    conn: Connection, user_id: int, spec: SubscriptionSpec, settings: Settings
) -> dict[str, Any]:
    values = _values(spec, settings)
    new_id = conn.execute(
        insert(AlertSubscription)
        .values(user_id=user_id, created_at=values["updated_at"], **values)
        .returning(AlertSubscription.id)
    ).scalar_one()
    return get_subscription(conn, user_id, new_id)


def get_subscription(conn: Connection, user_id: int, subscription_id: int) -> dict[str, Any]:
    sub = conn.execute(
        select(AlertSubscription.__table__).where(
            AlertSubscription.id == subscription_id, AlertSubscription.user_id == user_id
        )
    ).one_or_none()
    if sub is None:
        raise SubscriptionNotFound(f"subscription {subscription_id} not found")
    return _row(sub)


def replace_subscription(
    conn: Connection, user_id: int, subscription_id: int, spec: SubscriptionSpec, settings: Settings
) -> dict[str, Any]:
    get_subscription(conn, user_id, subscription_id)  # 404 unless it is the caller's
    conn.execute(
        update(AlertSubscription)
        .where(AlertSubscription.id == subscription_id)
        .values(**_values(spec, settings))
    )
    return get_subscription(conn, user_id, subscription_id)


def delete_subscription(conn: Connection, user_id: int, subscription_id: int) -> None:
    get_subscription(conn, user_id, subscription_id)
    conn.execute(delete(AlertSubscription).where(AlertSubscription.id == subscription_id))


def send_test(
    conn: Connection, user_id: int, settings: Settings, subscription_id: int | None = None
) -> list[dict[str, Any]]:
    """Send a test message to the caller's channels (one subscription's, or all); per target."""
    query = select(AlertSubscription.__table__).where(AlertSubscription.user_id == user_id)
    if subscription_id is not None:
        query = query.where(AlertSubscription.id == subscription_id)
    subs = list(conn.execute(query))
    if subscription_id is not None and not subs:
        raise SubscriptionNotFound(f"subscription {subscription_id} not found")
    key = load_or_create_key(settings.alert_secret_key.get_secret_value(), settings.data_dir)
    results = []
    for sub in subs:
        for url, target in zip(
            decrypt_urls(sub.channels_encrypted, key), sub.channels_redacted, strict=True
        ):
            outcome = send(
                url,
                "wheelflow test message",
                f"Subscription '{sub.name}' reaches this channel.",
                "info",
            )
            results.append(
                {
                    "subscription_id": sub.id,
                    "target": target,
                    "ok": outcome.ok,
                    "error": outcome.error,
                    "latency_ms": round(outcome.latency_ms, 1),
                }
            )
    return results
