"""Rankings and option chains (role: viewer)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated, Literal

import anyio.to_thread
import msgspec
import pandas as pd
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from sqlalchemy import Engine

from api.auth import viewer
from api.cache import StaleWhileRevalidate
from api.params import SymbolPath, SymbolQuery, bounded_date
from models.schemas import ChainOut, RankingsPage, Strategy
from wheelflow import queries

Fraction = Annotated[float | None, QueryParameter(ge=-100, le=100)]
Days = Annotated[int | None, QueryParameter(ge=0, le=3650)]


_Rendered = tuple[bytes, str, str]  # body, media type, next cursor


def _render_rankings(
    reader: Engine, filters: queries.RankingFilter, limit: int, cursor: str | None, fmt: str
) -> _Rendered:
    """Query one page and encode it once (the cache keeps the bytes)."""
    with reader.connect() as conn:
        page = queries.rankings_page(conn, filters, limit=limit, cursor=cursor)
    next_cursor = page["next_cursor"] or ""
    if fmt == "json":
        return msgspec.json.encode(page), "application/json", next_cursor
    frame = pd.DataFrame(page["items"])
    if fmt == "csv":
        return frame.to_csv(index=False).encode(), "text/csv; charset=utf-8", next_cursor
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue(), "application/vnd.apache.parquet", next_cursor


class MarketController(Controller):
    tags = ["market data"]  # noqa: RUF012
    guards = [viewer]  # noqa: RUF012

    @get("/rankings")
    async def rankings(
        self,
        reader: NamedDependency[Engine],
        state: State,
        strategy: FromQuery[Strategy | None] = None,
        symbol: SymbolQuery = None,
        min_return: Fraction = None,
        min_ev: Annotated[float | None, QueryParameter(ge=-1e6, le=1e6)] = None,
        unflagged: bool = False,
        max_delta: Annotated[float | None, QueryParameter(ge=0, le=1)] = None,
        min_dte: Days = None,
        max_dte: Days = None,
        run_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
        format: FromQuery[Literal["json", "csv", "parquet"]] = "json",
    ) -> Response[RankingsPage]:
        """Ranked cash-secured puts (csp) and covered calls (cc) of the latest run (or ``run_id``).

        Ranks follow the expected value per contract after fills and fees (rank 1 = highest).
        ``min_return`` filters the annualized return (fraction), ``min_ev`` the expected value
        (USD per contract), ``unflagged=true`` drops rows with flags (negative EV, earnings,
        ex-dividend, early assignment), ``max_delta`` the absolute delta.
        Follow ``next_cursor`` for the next page. ``format=csv|parquet`` returns the page as a file.
        Pages are cached for WHEELFLOW_API_CACHE_SECONDS: a new run shows up within that time.
        """
        filters = queries.RankingFilter(
            strategy=strategy,
            symbol=symbol,
            min_return=min_return,
            min_ev=min_ev,
            unflagged=unflagged,
            max_delta=max_delta,
            min_dte=min_dte,
            max_dte=max_dte,
            run_id=run_id,
        )
        key = (filters, limit, cursor, format)
        cache: StaleWhileRevalidate[_Rendered] = state.rankings_cache
        rendered = None if cache.remote else cache.peek(key)
        if rendered is None:
            rendered = await anyio.to_thread.run_sync(
                cache.get, key, lambda: _render_rankings(reader, filters, limit, cursor, format)
            )
        body, media_type, next_cursor = rendered
        headers = {"X-Next-Cursor": next_cursor} if format != "json" else None
        return Response(body, media_type=media_type, headers=headers)  # type: ignore[arg-type]

    @get("/chains/{symbol:str}", sync_to_thread=True)
    def chain(
        self,
        reader: NamedDependency[Engine],
        symbol: SymbolPath,
        expiration: FromQuery[dt.date | None] = None,
        right: FromQuery[Literal["C", "P"] | None] = None,
    ) -> ChainOut:
        """Latest stored chain of ``symbol`` with IV and greeks (theta per day, vega per vol pt)."""
        with reader.connect() as conn:
            return queries.option_chain(
                conn, symbol, expiration=bounded_date(expiration, "expiration"), right=right
            )  # type: ignore[return-value]
