"""Shared parameter types and bounds of the handlers: every parameter has a range, so an extreme
value is a 400 naming the field, never an overflow (500) in the driver or in date arithmetic."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar.params import PathParameter, QueryParameter

from models.schemas import MAX_ID
from wheelflow.queries import QueryInputError

RowId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
"""A row id in the path: 1 .. 2**31-1 (INTEGER keys on both databases)."""
QueryRowId = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
SymbolQuery = Annotated[str | None, QueryParameter(max_length=16)]
SymbolPath = Annotated[str, PathParameter(min_length=1, max_length=16)]

EARLIEST = dt.datetime(1970, 1, 1)
LATEST = dt.datetime(2200, 1, 1)


def naive_utc(value: dt.datetime | None, field: str) -> dt.datetime | None:
    """``value`` as naive UTC (how timestamps are stored), within 1970..2200."""
    if value is None:
        return None
    if not EARLIEST.year <= value.year < LATEST.year:
        raise QueryInputError(field, f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def bounded_date(value: dt.date | None, field: str) -> dt.date | None:
    """``value`` when within 1970..2200 (a date the market data can have)."""
    if value is not None and not EARLIEST.year <= value.year < LATEST.year:
        raise QueryInputError(field, f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value
