"""``text()`` whose ``:*_at`` parameters are bound as DateTime, so SQLite compares them alike.

SQLAlchemy stores SQLite datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff``; a raw driver bind of a
whole-second datetime drops the fraction, and ``=`` then never matches. Binding through the
DateTime type gives the stored form on SQLite and a native timestamp on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import Connection, DateTime, TextClause, bindparam
from sqlalchemy import text as sa_text

_PARAM = re.compile(r"(?<![:\w]):(\w+_at)\b")


def text(sql: str) -> TextClause:
    """A TextClause with every ``:name_at`` parameter typed DateTime."""
    names = sorted(set(_PARAM.findall(sql)))
    clause = sa_text(sql)
    if names:
        clause = clause.bindparams(*(bindparam(n, type_=DateTime()) for n in names))
    return clause


def as_datetime(value: Any) -> dt.datetime | None:
    """A DateTime column read through ``text()`` (a string on SQLite) as a datetime."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def as_date(value: Any) -> dt.date | None:
    """A Date column read through ``text()`` (a string on SQLite) as a date."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def scalar_float(conn: Connection, sql: str, params: dict[str, Any]) -> float | None:
    """The first column of the first row as a float, None when there is no row or no value."""
    value = conn.execute(text(sql), params).scalar()
    return None if value is None else float(value)
