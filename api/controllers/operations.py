"""Alerts, watchlist and pipeline runs (read: viewer; acknowledge and watchlist changes: trader)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy import Engine

from api.auth import trader, viewer
from api.params import QueryRowId, RowId, SymbolPath, SymbolQuery, naive_utc
from models.schemas import AlertOut, WatchlistAdd, WatchlistEntry
from wheelflow import queries
from wheelflow.db import transaction
from wheelflow.security import Principal


class OperationsController(Controller):
    tags = ["operations"]  # noqa: RUF012

    @get("/alerts", guards=[viewer], sync_to_thread=True)
    def alerts(
        self,
        reader: NamedDependency[Engine],
        severity: FromQuery[Literal["info", "warning", "critical"] | None] = None,
        symbol: SymbolQuery = None,
        since: FromQuery[dt.datetime | None] = None,
        before_id: QueryRowId = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[AlertOut]:
        """Alerts newest first; page backwards with ``before_id`` = the last id you saw.
        ``since``: ISO 8601 timestamp (UTC when it has no offset), 1970..2200."""
        with reader.connect() as conn:
            return queries.alerts(  # type: ignore[return-value]
                conn,
                severity=severity,
                symbol=symbol,
                since=naive_utc(since, "since"),
                before_id=before_id,
                limit=limit,
            )

    @post("/alerts/{alert_id:int}/ack", guards=[trader], status_code=200, sync_to_thread=True)
    def acknowledge(
        self,
        engine: NamedDependency[Engine],
        request: Request[Principal, Any, Any],
        alert_id: RowId,
    ) -> AlertOut:
        """Acknowledge an alert (idempotent: the first acknowledgement is kept)."""
        with transaction(engine) as conn:
            return queries.acknowledge_alert(conn, alert_id, request.user.username)  # type: ignore[return-value]

    @get("/watchlist", guards=[viewer], sync_to_thread=True)
    def watchlist(self, reader: NamedDependency[Engine]) -> list[WatchlistEntry]:
        with reader.connect() as conn:
            return queries.watchlist(conn)  # type: ignore[return-value]

    @post("/watchlist", guards=[trader], sync_to_thread=True)
    def add(
        self, engine: NamedDependency[Engine], data: JSONBody[WatchlistAdd]
    ) -> Response[WatchlistEntry]:
        """Add a symbol (validated as a ticker); 201 when new, 200 when it was already there."""
        with transaction(engine) as conn:
            row, created = queries.add_to_watchlist(conn, data.symbol, notes=data.notes)
        return Response(row, status_code=201 if created else 200)  # type: ignore[arg-type]

    @delete("/watchlist/{symbol:str}", guards=[trader], sync_to_thread=True)
    def remove(self, engine: NamedDependency[Engine], symbol: SymbolPath) -> None:
        with transaction(engine) as conn:
            queries.remove_from_watchlist(conn, symbol)

    @get("/runs", guards=[viewer], sync_to_thread=True)
    def runs(
        self,
        reader: NamedDependency[Engine],
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 20,
    ) -> list[dict[str, Any]]:
        """Latest pipeline runs with their data-quality results and quarantined row counts."""
        with reader.connect() as conn:
            return queries.pipeline_runs(conn, limit=limit)

    @get("/runs/{run_id:str}/quality", guards=[viewer], sync_to_thread=True)
    def run_quality(
        self,
        reader: NamedDependency[Engine],
        run_id: Annotated[str, Parameter(max_length=64)],
        stage: Annotated[str | None, QueryParameter(max_length=32)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> dict[str, Any]:
        """One run's data-quality results per expectation and its quarantined rows with the
        reasons each was refused (``quarantined_total`` counts them all; ``limit`` rows shown)."""
        with reader.connect() as conn:
            return queries.run_quarantined_rows(conn, run_id, stage=stage, limit=limit)
