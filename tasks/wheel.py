"""Tasks of the wheel lifecycle: plan, execute, process expirations (thin wrappers)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from wheelflow.alerts.store import store_new_alerts
from wheelflow.execution import wheel_run
from wheelflow.execution.broker import Broker
from wheelflow.execution.early_assignment import early_assignment_alerts, open_short_call_symbols
from wheelflow.providers.base import MarketDataProvider, upcoming_dividends
from wheelflow.strategy.config import StrategyConfig
from wheelflow.strategy.decisions import Decision

# Never retried or cached by Prefect: a retry goes through the service's resolution by client
# order id (execute_decisions already does that for timeouts); a blind task retry adds nothing.


@task(name="plan-wheel", cache_policy=NO_CACHE)
def plan_wheel(
    engine: Engine, broker: Broker, config: StrategyConfig, snapshot_at: dt.datetime
) -> list[Decision]:
    return wheel_run.plan_wheel(engine, broker, config, snapshot_at)


@task(name="execute-decisions", cache_policy=NO_CACHE)
def execute_decisions(
    engine: Engine,
    broker: Broker,
    config: StrategyConfig,
    decisions: list[Decision],
    snapshot_at: dt.datetime,
) -> wheel_run.WheelRunSummary:
    return wheel_run.execute_decisions(engine, broker, config, decisions, snapshot_at)


@task(name="process-expirations", cache_policy=NO_CACHE)
def process_expirations(
    engine: Engine, broker: Broker, config: StrategyConfig, as_of: dt.date
) -> list[str]:
    return wheel_run.process_expirations(engine, broker, config, as_of)


@task(name="flag-early-assignment", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def flag_early_assignment(
    engine: Engine, provider: MarketDataProvider, account: str, snapshot_at: dt.datetime
) -> list[dict[str, Any]]:
    """Alert on short calls likely to be assigned early ahead of an ex-dividend date."""
    symbols = open_short_call_symbols(engine, account)
    alerts = early_assignment_alerts(
        engine, account, snapshot_at, upcoming_dividends(provider, symbols)
    )
    return store_new_alerts(engine, alerts)
