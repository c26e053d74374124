"""``price_watch``: every minute of regular trading hours, quote the watched underlyings and
raise price alerts (moves, short strikes near or breached, expiries), then deliver them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger
from prefect.states import State

from flows.skip import skipped
from tasks.alerts import evaluate_price_rules, quote
from tasks.pipeline import deliver_alerts
from wheelflow.alerts.price_watch import watch_symbols
from wheelflow.calendar import market_gate, session_open_close
from wheelflow.errors import WheelflowError
from wheelflow.market_time import snapshot_date
from wheelflow.runtime import engine_for, provider_from_settings, strategy_config
from wheelflow.settings import get_settings


@flow(name="price_watch")
def price_watch(
    strategy_file: str | None = None,
    at: dt.datetime | None = None,
    market_hours_only: bool = True,
) -> dict[str, Any] | State[Any]:
    """Quote the watchlist and held underlyings in one call; apply the price rules."""
    logger = get_run_logger()
    now = at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if market_hours_only:
        decision = market_gate("intraday", now)
        if not decision.run:
            return skipped(decision.reason)
    settings = get_settings()
    engine = engine_for(settings.resolved_database_url)
    provider = provider_from_settings(settings)
    symbols = watch_symbols(engine)
    if not symbols:
        return {"quoted": 0, "new_alerts": 0}
    quotes = quote(provider, symbols)
    try:
        session_start, _ = session_open_close(snapshot_date(now))
    except WheelflowError:  # not a session day (market_hours_only=False): from midnight
        session_start = dt.datetime.combine(now.date(), dt.time())
    config = strategy_config(settings, strategy_file).alerts
    result = evaluate_price_rules(engine, quotes, config, now, session_start, provider.name)
    delivery = deliver_alerts(engine, settings)
    logger.info(
        "%d quoted, %d new alerts; %s",
        result.quoted,
        len(result.new_alerts),
        delivery or "queued for RabbitMQ workers",
    )
    return {"quoted": result.quoted, "new_alerts": len(result.new_alerts)}
