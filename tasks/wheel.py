"""Tasks of the wheel lifecycle: plan, execute, process expirations (thin wrappers)."""

from __future__ import annotations

import datetime as dt

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from wheelflow.execution import wheel_run
from wheelflow.execution.broker import Broker
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
