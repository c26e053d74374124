"""The NYSE trading calendar (exchange_calendars ``XNYS``): sessions, holidays, early closes.

Scheduled flows ask ``market_gate`` before running, so a cron schedule that fires every N minutes
Monday to Friday skips holidays, the minutes outside regular hours and the afternoon of an early
close (e.g. the day after Thanksgiving closes at 13:00 New York). All times are naive UTC, like
the tables; dates are New York session dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import exchange_calendars as xcals
import pandas as pd

from wheelflow.errors import WheelflowError
from wheelflow.market_time import NEW_YORK

REGULAR_CLOSE = dt.time(16, 0)  # New York


@lru_cache(maxsize=1)
def xnys() -> xcals.ExchangeCalendar:
    """The NYSE calendar from 2000 to a year ahead (loaded once, ~0.3 s)."""
    return xcals.get_calendar("XNYS", start="2000-01-01")


def _utc(ts: pd.Timestamp) -> dt.datetime:
    return ts.tz_convert("UTC").tz_localize(None).to_pydatetime()


def _minute(at: dt.datetime | None) -> pd.Timestamp:
    stamp = pd.Timestamp(at if at is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None))
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    cal = xnys()
    if not cal.first_minute <= stamp <= cal.last_minute:
        raise WheelflowError(
            f"{stamp} is outside the XNYS calendar ({cal.first_session.date()} to "
            f"{cal.last_session.date()})"
        )
    return stamp.floor("min")


def is_trading_day(day: dt.date) -> bool:
    """Whether ``day`` is an NYSE session (not a weekend or holiday)."""
    return bool(xnys().is_session(pd.Timestamp(day)))


def is_market_open(at: dt.datetime | None = None) -> bool:
    """Whether regular trading is on at ``at`` (naive UTC; default now): open <= at < close."""
    return bool(xnys().is_open_on_minute(_minute(at)))


def sessions(start: dt.date, end: dt.date) -> list[dt.date]:
    """NYSE sessions from ``start`` to ``end`` inclusive."""
    return [s.date() for s in xnys().sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))]


def session_open_close(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Open and close of session ``day`` as naive UTC (raises for a non-session)."""
    if not is_trading_day(day):
        raise WheelflowError(f"{day} is not an NYSE session")
    open_, close = xnys().session_open_close(pd.Timestamp(day))
    return _utc(open_), _utc(close)


def early_closes(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.datetime]]:
    """Sessions between ``start`` and ``end`` that close before 16:00 New York, with the close."""
    cal = xnys()
    closes = cal.closes[pd.Timestamp(start) : pd.Timestamp(end)]
    local = closes.dt.tz_convert(NEW_YORK)
    early = closes[local.dt.time < REGULAR_CLOSE]
    return [(day.date(), _utc(close)) for day, close in early.items()]


def next_close(at: dt.datetime | None = None) -> dt.datetime:
    """The first session close after ``at`` (naive UTC)."""
    return _utc(xnys().next_close(_minute(at)))


def next_open(at: dt.datetime | None = None) -> dt.datetime:
    """The first session open after ``at`` (naive UTC)."""
    return _utc(xnys().next_open(_minute(at)))


@dataclass(frozen=True)
class GateDecision:
    """Whether a scheduled run should go ahead, and why (logged by the flow)."""

    run: bool
    reason: str


def market_gate(
    kind: Literal["intraday", "after_close"], at: dt.datetime | None = None
) -> GateDecision:
    """Should a scheduled run of ``kind`` go ahead at ``at`` (naive UTC; default now)?

    ``intraday``: only while regular trading is on. ``after_close``: only on a session day, once
    that day's close (early or regular) has passed.
    """
    minute = _minute(at)
    day = minute.tz_convert(NEW_YORK).date()
    if not is_trading_day(day):
        return GateDecision(False, f"{day} is not an NYSE session (weekend or holiday)")
    open_, close = session_open_close(day)
    now = minute.tz_localize(None).to_pydatetime()
    if kind == "intraday":
        if now < open_:
            return GateDecision(False, f"before the open ({open_:%H:%M} UTC)")
        if now >= close:
            return GateDecision(False, f"after the close ({close:%H:%M} UTC)")
        return GateDecision(True, f"market open until {close:%H:%M} UTC")
    if now < close:
        return GateDecision(False, f"session {day} closes at {close:%H:%M} UTC")
    return GateDecision(True, f"session {day} closed at {close:%H:%M} UTC")
