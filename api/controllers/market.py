"""Rankings and option chains (role: viewer)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated, Literal

import pandas as pd
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from sqlalchemy import Engine

from api.auth import viewer
from models.schemas import ChainOut, RankingsPage, Strategy
from wheelflow import queries

Fraction = Annotated[float | None, QueryParameter(ge=-100, le=100)]
Days = Annotated[int | None, QueryParameter(ge=0, le=3650)]


class MarketController(Controller):
    tags = ["market data"]  # noqa: RUF012
    guards = [viewer]  # noqa: RUF012

    # Cached per URL (path + sorted query) for WHEELFLOW_API_CACHE_SECONDS after the guards ran:
    # rankings change once per pipeline run, so a page may lag a new run by that long.
    @get("/rankings", sync_to_thread=True, cache=True)
    def rankings(
        self,
        reader: NamedDependency[Engine],
        strategy: FromQuery[Strategy | None] = None,
        symbol: Annotated[str | None, QueryParameter(max_length=16)] = None,
        min_return: Fraction = None,
        max_delta: Annotated[float | None, QueryParameter(ge=0, le=1)] = None,
        min_dte: Days = None,
        max_dte: Days = None,
        run_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
        format: FromQuery[Literal["json", "csv", "parquet"]] = "json",
    ) -> Response[RankingsPage]:
        """Ranked cash-secured puts (csp) and covered calls (cc) of the latest run (or ``run_id``).

        ``min_return`` filters the annualized return (fraction), ``max_delta`` the absolute delta.
        Follow ``next_cursor`` for the next page. ``format=csv|parquet`` returns the page as a file.
        """
        filters = queries.RankingFilter(
            strategy=strategy,
            symbol=symbol,
            min_return=min_return,
            max_delta=max_delta,
            min_dte=min_dte,
            max_dte=max_dte,
            run_id=run_id,
        )
        with reader.connect() as conn:
            page = queries.rankings_page(conn, filters, limit=limit, cursor=cursor)
        if format == "json":
            return Response(page)  # type: ignore[arg-type]
        frame = pd.DataFrame(page["items"])
        headers = {"X-Next-Cursor": page["next_cursor"] or ""}
        if format == "csv":
            return Response(  # type: ignore[return-value]
                frame.to_csv(index=False), media_type="text/csv", headers=headers
            )
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return Response(  # type: ignore[return-value]
            buf.getvalue(), media_type="application/vnd.apache.parquet", headers=headers
        )

    @get("/chains/{symbol:str}", sync_to_thread=True)
    def chain(
        self,
        reader: NamedDependency[Engine],
        symbol: FromPath[str],
        expiration: FromQuery[dt.date | None] = None,
        right: FromQuery[Literal["C", "P"] | None] = None,
    ) -> ChainOut:
        """Latest stored chain of ``symbol`` with IV and greeks (theta per day, vega per vol pt)."""
        with reader.connect() as conn:
            return queries.option_chain(conn, symbol, expiration=expiration, right=right)  # type: ignore[return-value]
