"""The one path by which alerts come to exist.

Every producer (pipeline stages and gates, risk, lifecycle, early assignment, price watch,
operations) hands its alerts (the ``alerts`` table's columns, built by ``rules``) to
:func:`store_alerts` inside its own transaction, or to :func:`store_new_alerts`. New alerts are
inserted (a ``dedup_key`` already stored is skipped) and their deliveries are written to the
outbox in the same transaction; after commit they are logged and, when RabbitMQ is configured,
announced to the ``wheel.alerts`` exchange for the ``wheelflow notify`` workers.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, select

from models.tables import Alert
from wheelflow.alerts.outbox import Channel, enqueue, env_channels, subscription_channels
from wheelflow.alerts.rules import log_alerts
from wheelflow.db import transaction, upsert_frame
from wheelflow.settings import get_settings


def default_channels() -> list[Channel]:
    """The environment's default subscription (``WHEELFLOW_ALERT_URLS``), redacted."""
    from wheelflow.alerts.channels import redact

    return env_channels([redact(url) for url in get_settings().alert_url_list])


def store_alerts(conn: Connection, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert the new ones of ``alerts`` and their deliveries in the caller's transaction.

    Returns the new alerts with their ``id``.
    """
    if not alerts:
        return []
    frame = pd.DataFrame(alerts).drop_duplicates("dedup_key", keep="first")
    keys = list(frame["dedup_key"])
    existing = set(conn.execute(select(Alert.dedup_key).where(Alert.dedup_key.in_(keys))).scalars())
    new = frame[~frame["dedup_key"].isin(existing)]
    if new.empty:
        return []
    upsert_frame(conn, "alerts", new, update=False, conflict_columns=["dedup_key"])
    ids = dict(
        conn.execute(
            select(Alert.dedup_key, Alert.id).where(Alert.dedup_key.in_(list(new["dedup_key"])))
        ).all()
    )
    new = new.assign(id=new["dedup_key"].map(ids))
    enqueue(conn, new, default_channels() + subscription_channels(conn))
    return list(new.to_dict(orient="records"))


def store_new_alerts(engine: Engine, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`store_alerts` in a transaction of its own; then log and announce the new ones."""
    with transaction(engine) as conn:
        fresh = store_alerts(conn, alerts)
    announce(engine, fresh)
    return fresh


def announce(engine: Engine, fresh: list[dict[str, Any]]) -> None:
    """After commit: log the new alerts and publish their deliveries when RabbitMQ is set."""
    if not fresh:
        return
    log_alerts(fresh)
    settings = get_settings()
    if settings.amqp_url.get_secret_value():
        from wheelflow.alerts.queue import publish_deliveries

        publish_deliveries(engine, settings, [int(a["id"]) for a in fresh])
