"""Positions, P&L, wheel cycles (role: trader) and the latest risk check (role: viewer)."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from sqlalchemy import Engine

from api.auth import trader, viewer
from api.params import RowId, SymbolQuery
from models.schemas import PositionOut
from wheelflow import authorization, queries
from wheelflow.risk.read import latest_reports
from wheelflow.security import Principal


class PortfolioController(Controller):
    """Traders see the positions, P&L and cycles of the accounts they belong to; admins all."""

    tags = ["portfolio"]  # noqa: RUF012

    @get("/positions", guards=[trader], sync_to_thread=True)
    def positions(
        self,
        reader: NamedDependency[Engine],
        request: Request[Principal, Any, Any],
        status: FromQuery[Literal["open", "closed"] | None] = None,
        symbol: SymbolQuery = None,
    ) -> list[PositionOut]:
        with reader.connect() as conn:
            mine = authorization.accounts_of(conn, request.user)
            return queries.positions(conn, status=status, symbol=symbol, accounts=mine)  # type: ignore[return-value]

    @get("/positions/{position_id:int}", guards=[trader], sync_to_thread=True)
    def position(
        self,
        reader: NamedDependency[Engine],
        request: Request[Principal, Any, Any],
        position_id: RowId,
    ) -> PositionOut:
        """One position of the caller's accounts (404 for another account's position)."""
        with reader.connect() as conn:
            mine = authorization.accounts_of(conn, request.user)
            return queries.position(conn, position_id, accounts=mine)  # type: ignore[return-value]

    @get("/pnl", guards=[trader], sync_to_thread=True)
    def pnl(
        self, reader: NamedDependency[Engine], request: Request[Principal, Any, Any]
    ) -> dict[str, Any]:
        """Realized and unrealized P&L in USD of the caller's accounts, per symbol and in total.

        Unrealized marks open options at the latest mid and stock at the latest last price;
        positions without any quote count in ``unmarked_positions`` and add 0.
        """
        with reader.connect() as conn:
            return queries.pnl(conn, accounts=authorization.accounts_of(conn, request.user))

    @get("/wheel-cycles", guards=[trader], sync_to_thread=True)
    def wheel_cycles(
        self,
        reader: NamedDependency[Engine],
        request: Request[Principal, Any, Any],
        symbol: SymbolQuery = None,
        is_open: FromQuery[bool | None] = None,
    ) -> dict[str, Any]:
        """Wheel cycles of the caller's accounts (puts sold, assignment, calls, called away) with
        premium and P&L in USD; ``source`` says whether they come from the lifecycle table or are
        derived from positions.
        """
        with reader.connect() as conn:
            mine = authorization.accounts_of(conn, request.user)
            return queries.wheel_cycles(conn, symbol=symbol, is_open=is_open, accounts=mine)

    @get("/risk", guards=[viewer], sync_to_thread=True)
    def risk(
        self, reader: NamedDependency[Engine], request: Request[Principal, Any, Any]
    ) -> dict[str, Any]:
        """The latest risk check and each account's risk report. Traders and admins: every
        check with its subject, metric, limit and message, the breaches, and per account the
        figures (equity, cash, buying power, dollar greeks, VaR/ES in USD), exposure per
        sector, cluster and underlying (holdings) and the scenario table, of the accounts they
        own (admins: all). Viewers: aggregate
        figures only (checks and breaches per check name; per account VaR/ES and scenario P&L
        as shares of equity), no holdings, cash or exposure."""
        full = authorization.sees_holdings(request.user.role)
        with reader.connect() as conn:
            view = authorization.risk_view(queries.latest_risk(conn), request.user.role)
            reports = latest_reports(conn, full=full)
            if full:  # a trader's full figures are of the accounts they own only
                reports = authorization.of_accounts(
                    reports, authorization.accounts_of(conn, request.user)
                )
            return view | {"accounts": reports}
