"""Market clock conventions shared by the synthetic market, the greeks stage and the lifecycle.

US equity options stop trading at 16:00 America/New_York on expiration day; a snapshot taken at
the close is 16:00 New York on that trading day. Times are stored as naive UTC.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

NEW_YORK = ZoneInfo("America/New_York")
SECONDS_PER_YEAR = 365.0 * 24 * 3600  # calendar-day year, as vollib and most screeners use


def close_time_utc(day: dt.date) -> dt.datetime:
    """16:00 New York on ``day`` as naive UTC."""
    local = dt.datetime.combine(day, dt.time(16, 0), tzinfo=NEW_YORK)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def expiration_times_utc(expirations: pd.Series) -> pd.Series:
    """Vectorized ``close_time_utc`` over a Series of dates (datetime64)."""
    days = pd.to_datetime(expirations).dt.normalize()
    local = (days + pd.Timedelta(hours=16)).dt.tz_localize(NEW_YORK, nonexistent="shift_forward")
    return local.dt.tz_convert("UTC").dt.tz_localize(None)


def years_to_expiry(snapshot_at: dt.datetime, expirations: pd.Series) -> np.ndarray:
    """Time to expiry in years (calendar seconds / 365 days) from a naive-UTC snapshot."""
    delta = expiration_times_utc(expirations) - pd.Timestamp(snapshot_at)
    return delta.dt.total_seconds().to_numpy(dtype=float) / SECONDS_PER_YEAR


def days_to_expiry(snapshot_at: dt.datetime, expirations: pd.Series) -> np.ndarray:
    """Whole calendar days from the snapshot's New York date to expiration."""
    snap_day = pd.Timestamp(snapshot_at).tz_localize("UTC").tz_convert(NEW_YORK).normalize()
    exp = pd.to_datetime(expirations).dt.normalize()
    return (exp - snap_day.tz_localize(None)).dt.days.to_numpy()


def snapshot_date(snapshot_at: dt.datetime) -> dt.date:
    """The New York trading date of a naive-UTC snapshot."""
    return pd.Timestamp(snapshot_at).tz_localize("UTC").tz_convert(NEW_YORK).date()
