"""Writing alerts: insert the new ones, skip the ones whose ``dedup_key`` is already stored."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from models.tables import Alert
from wheelflow.alerts.rules import log_alerts
from wheelflow.db import transaction, upsert_frame


def store_new_alerts(engine: Engine, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert ``alerts`` (the table's columns) in one transaction; log and return the new ones."""
    if not alerts:
        return []
    frame = pd.DataFrame(alerts)
    with transaction(engine) as conn:
        keys = list(frame["dedup_key"])
        existing = set(
            conn.execute(select(Alert.dedup_key).where(Alert.dedup_key.in_(keys))).scalars()
        )
        new = frame[~frame["dedup_key"].isin(existing)]
        upsert_frame(conn, "alerts", new, update=False, conflict_columns=["dedup_key"])
    fresh = new.to_dict(orient="records")
    log_alerts(fresh)
    return fresh
