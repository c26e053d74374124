"""The scheduled entry points of ``deployments/prefect.yaml``: a calendar check, then the flow.

Cron fires every N minutes Monday to Friday in New York time; ``wheelflow.calendar.market_gate``
then skips NYSE holidays, the minutes outside regular hours and the afternoon of an early close,
so the pipeline only reads live markets and expirations settle once the session has closed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger

from flows.pipeline import wheel_pipeline
from flows.wheel import process_expirations
from wheelflow.calendar import market_gate
from wheelflow.market_time import snapshot_date


@flow(name="market_hours_pipeline", validate_parameters=False)
def market_hours_pipeline(strategy_file: str | None = None) -> dict[str, Any]:
    """Run ``wheel_pipeline`` if the NYSE is in regular trading now; otherwise log why not."""
    decision = market_gate("intraday")
    if not decision.run:
        get_run_logger().info("skipped: %s", decision.reason)
        return {"skipped": decision.reason}
    return wheel_pipeline(strategy_file=strategy_file)


@flow(name="after_close_expirations", validate_parameters=False)
def after_close_expirations(broker_name: str = "paper") -> dict[str, Any]:
    """Settle the day's expirations once today's session (regular or early) has closed."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    decision = market_gate("after_close", now)
    if not decision.run:
        get_run_logger().info("skipped: %s", decision.reason)
        return {"skipped": decision.reason}
    events = process_expirations(as_of=snapshot_date(now), broker_name=broker_name)
    return {"events": events}
