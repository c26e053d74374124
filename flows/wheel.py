"""``execute_wheel`` and ``process_expirations``: the wheel lifecycle flows (orchestration only).

execute_wheel: newest ranked snapshot (or the one given) -> plan decisions -> risk check and
idempotent submission per order (Position Service) -> summary. Re-running a snapshot sends
nothing new: every order's client order id is derived from the snapshot and the decision.
process_expirations: settle shorts expiring on or before a date (assignment, call-away, expiry).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger

from tasks import wheel as t
from wheelflow.execution.brokers import make_broker
from wheelflow.execution.wheel_run import latest_snapshot
from wheelflow.providers.base import MarketDataProvider
from wheelflow.runtime import engine_for, provider_from_settings, strategy_config
from wheelflow.settings import get_settings


@flow(name="execute_wheel", validate_parameters=False)
def execute_wheel(
    snapshot_at: dt.datetime | None = None,
    database_url: str | None = None,
    strategy_file: str | None = None,
    broker_name: str = "paper",
    provider: MarketDataProvider | None = None,
) -> dict[str, Any]:
    """Decide and execute the wheel for one snapshot; returns what was sent.

    Also flags short calls at risk of early assignment before an ex-dividend date, from the
    provider's dividend feed (``provider`` or the one configured).
    """
    logger = get_run_logger()
    settings = get_settings()
    engine = engine_for(database_url or settings.resolved_database_url)
    config = strategy_config(settings, strategy_file)
    broker = make_broker(broker_name, engine, settings, config)
    snapshot = snapshot_at or latest_snapshot(engine)
    if snapshot is None:
        logger.warning("no ranked snapshot yet: run the pipeline first")
        return {"snapshot_at": None, "decisions": 0, "orders_sent": 0}
    decisions = t.plan_wheel(engine, broker, config, snapshot)
    summary = t.execute_decisions(engine, broker, config, decisions, snapshot)
    early = t.flag_early_assignment(
        engine, provider or provider_from_settings(settings), config.wheel.account, snapshot
    )
    logger.info(
        "snapshot %s: %d decisions, %d orders sent (%d filled), %d rejected, %d already sent",
        snapshot,
        summary.decisions,
        summary.orders_sent,
        summary.filled,
        summary.rejected,
        summary.duplicates,
    )
    return {
        "snapshot_at": snapshot.isoformat(),
        "decisions": summary.decisions,
        "orders_sent": summary.orders_sent,
        "filled": summary.filled,
        "rejected": summary.rejected,
        "duplicates": summary.duplicates,
        "early_assignment_alerts": len(early),
    }


@flow(name="process_expirations", validate_parameters=False)
def process_expirations(
    as_of: dt.date | None = None,
    database_url: str | None = None,
    strategy_file: str | None = None,
    broker_name: str = "paper",
) -> list[str]:
    """Expire, assign or call away every short expiring on or before ``as_of`` (default today)."""
    settings = get_settings()
    engine = engine_for(database_url or settings.resolved_database_url)
    config = strategy_config(settings, strategy_file)
    broker = make_broker(broker_name, engine, settings, config)
    events = t.process_expirations(engine, broker, config, as_of or dt.date.today())
    get_run_logger().info("%d expiration events: %s", len(events), ", ".join(events) or "none")
    return events
