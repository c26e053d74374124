"""The market context of a ranking: volatility forecasts and the dividend and earnings feeds.

Read once per run at ingest, for the underlyings whose chains are fetched. Feed rows that do not
parse come back as quarantine records (never used); a feed that fails outright is reported and
the run goes on without it (contracts then carry no event flags for those symbols).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from wheelflow.providers.base import optional_feed
from wheelflow.strategy.config import ExpectedValueConfig
from wheelflow.strategy.valuation import MarketContext
from wheelflow.volatility import forecast_volatility

logger = logging.getLogger(__name__)


@dataclass
class LoadedContext:
    context: MarketContext
    unreadable: pd.DataFrame  # row_key, reasons, payload: feed rows to quarantine
    feed_errors: dict[str, str] = field(default_factory=dict)  # feed -> provider error


def history_start(as_of: dt.date, config: ExpectedValueConfig) -> dt.date:
    """First day of the daily bars the volatility forecast reads."""
    return as_of - dt.timedelta(days=config.history_days)


def _feed(provider: object, symbols: Sequence[str], name: str) -> tuple[pd.DataFrame, str | None]:
    frame, error = optional_feed(provider, name, symbols)
    if error:
        logger.warning("%s feed unavailable, ranking without it: %s", name, error)
    return frame, error


def _unreadable(frame: pd.DataFrame, feed: str, date_col: str) -> pd.DataFrame:
    bad = frame[frame["parse_error"].notna()]
    return pd.DataFrame(
        {
            "row_key": feed + ":" + bad["symbol"].astype(str),
            "reasons": bad["parse_error"].astype(str),
            "payload": [
                {"feed": feed, "symbol": s, date_col: None if pd.isna(d) else str(d.date())}
                for s, d in zip(bad["symbol"], bad[date_col], strict=True)
            ],
        }
    )


def load_market_context(
    provider: object,
    symbols: Sequence[str],
    as_of: dt.date,
    config: ExpectedValueConfig,
    bars: pd.DataFrame,
) -> LoadedContext:
    """Forecasts from ``bars`` (daily, BAR_COLUMNS) and the provider's optional event feeds."""
    forecast = forecast_volatility(bars[bars["symbol"].isin(list(symbols))], config.forecast)
    dividends, div_error = _feed(provider, symbols, "dividends")
    earnings, earn_error = _feed(provider, symbols, "earnings")
    unreadable = pd.concat(
        [
            _unreadable(dividends, "dividends", "ex_date"),
            _unreadable(earnings, "earnings", "earnings_date"),
        ],
        ignore_index=True,
    )
    errors = {k: v for k, v in (("dividends", div_error), ("earnings", earn_error)) if v}
    return LoadedContext(
        context=MarketContext(forecast=forecast, dividends=dividends, earnings=earnings),
        unreadable=unreadable,
        feed_errors=errors,
    )
