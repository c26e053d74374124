"""The scheduled entry points of ``deployments/prefect.yaml``: a calendar check, then the flow.

Cron fires every N minutes Monday to Friday in New York time; ``wheelflow.calendar.market_gate``
then skips NYSE holidays, the minutes outside regular hours and the afternoon of an early close,
so the pipeline only reads live markets and expirations settle once the session has closed.
A run the calendar skips ends in a Cancelled state named "Skipped" with the reason as its
message: distinct from Completed in the UI, and nothing to alert on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow
from prefect.states import State

from flows.pipeline import wheel_pipeline
from flows.skip import skipped
from flows.wheel import process_expirations
from wheelflow.calendar import market_gate
from wheelflow.market_time import snapshot_date


@flow(name="market_hours_pipeline")
def market_hours_pipeline(
    strategy_file: str | None = None, at: dt.datetime | None = None
) -> dict[str, Any] | State[Any]:
    """Run ``wheel_pipeline`` if the NYSE is in regular trading (now, or at ``at``, naive
    UTC); otherwise end Skipped with the reason."""
    decision = market_gate("intraday", at)
    if not decision.run:
        return skipped(decision.reason)
    return wheel_pipeline(strategy_file=strategy_file)


@flow(name="after_close_expirations")
def after_close_expirations(
    broker_name: str = "paper", at: dt.datetime | None = None
) -> dict[str, Any] | State[Any]:
    """Settle the day's expirations once today's session (regular or early) has closed."""
    now = at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    decision = market_gate("after_close", now)
    if not decision.run:
        return skipped(decision.reason)
    events = process_expirations(as_of=snapshot_date(now), broker_name=broker_name)
    return {"events": events}
