"""The paper broker: fills limit orders against stored quotes, books kept in the database.

The books are the ``orders`` rows it accepted (``broker = 'paper'`` with a ``broker_order_id``),
the account's cash (``accounts``) and its ``positions``; so the paper account survives restarts
and two processes see the same state. Fills are at mid or worse: a sell fills at
``mid - slippage x half-spread`` (a buy at ``mid + ...``) when that price is at or better than
the limit, using the ``option_snapshots`` (options) or ``underlying_quotes`` (stock) row of the
order's snapshot. Fees: ``fee_per_contract`` x contracts + ``fee_per_order``. Short puts must be
fully cash-secured and calls covered by shares, as at a broker without margin.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from models.tables import utcnow
from wheelflow.execution._sql import as_date, as_datetime, scalar_float, text
from wheelflow.execution.broker import (
    CONTRACT_MULTIPLIER,
    Balances,
    BrokerPosition,
    Fill,
    OrderRequest,
    OrderState,
    check_order,
)
from wheelflow.occ import OCC_PATTERN


@dataclass(frozen=True)
class Settlement:
    """What expiry did to one short option of the paper account (prices per share, USD)."""

    account: str
    symbol: str
    occ_symbol: str
    right: str
    strike: float
    contracts: int  # short contracts (positive)
    close: float  # underlying close used
    outcome: str  # expired|assigned|called_away


class PaperBroker:
    """A broker simulated in the database (see the module docstring)."""

    name = "paper"
    live = False

    def __init__(
        self,
        engine: Engine,
        *,
        slippage: float = 0.25,
        fee_per_contract: float = 0.65,
        fee_per_order: float = 0.0,
        starting_cash: float = 100_000.0,
    ) -> None:
        self.engine = engine
        self.slippage = slippage
        self.fee_per_contract = fee_per_contract
        self.fee_per_order = fee_per_order
        self.starting_cash = starting_cash

    # ------------------------------------------------------------------ accounts

    def open_account(self, account: str, cash: float | None = None) -> None:
        """Create ``account`` with its starting cash; an existing account is left unchanged."""
        with self.engine.begin() as conn:
            self._ensure_account(conn, account, cash)

    def _ensure_account(self, conn: Connection, account: str, cash: float | None = None) -> None:
        exists = conn.execute(
            text("SELECT 1 FROM accounts WHERE account = :a"), {"a": account}
        ).first()
        if exists is None:
            start = self.starting_cash if cash is None else cash
            now = utcnow()
            conn.execute(
                text(
                    "INSERT INTO accounts (account, broker, starting_cash, cash, created_at, "
                    "updated_at) VALUES (:a, 'paper', :c, :c, :now_at, :now_at)"
                ),
                {"a": account, "c": start, "now_at": now},
            )

    # ------------------------------------------------------------------ Broker protocol

    def submit(self, order: OrderRequest) -> OrderState:
        """Accept and (when marketable) fill ``order``; a known client order id is a no-op."""
        with self.engine.begin() as conn:
            self._ensure_account(conn, order.account)
            row = _order_row(conn, order.client_order_id)
            if row is not None and row["broker_order_id"] is not None:
                return _state(row)
            broker_order_id = (
                "paper-" + hashlib.sha1(order.client_order_id.encode()).hexdigest()[:16]
            )
            reason = check_order(order)
            price: float | None = None
            if reason is None:
                price, reason = self._fill_price(conn, order)
            if reason is None and price is not None:
                reason = self._book_check(conn, order, price)
            now = utcnow()
            if reason is not None:
                status, filled, fees, avg = "rejected", 0, 0.0, None
            elif price is None:
                status, filled, fees, avg = "submitted", 0, 0.0, None
            else:
                status, filled, avg = "filled", order.quantity, price
                fees = self._fees(order)
                self._apply_fill(conn, order, price, fees, now)
            values = {
                "cid": order.client_order_id,
                "acct": order.account,
                "bid": broker_order_id,
                "sym": order.symbol,
                "occ": order.occ_symbol,
                "side": order.side,
                "qty": order.quantity,
                "otype": order.order_type,
                "limit": order.limit_price,
                "status": status,
                "filled": filled,
                "avg": avg,
                "fees": fees,
                "now_at": now,
                "snapshot_at": order.snapshot_at,
                "reason": reason if reason is not None else order.reason,
            }
            if row is None:
                conn.execute(
                    text(
                        "INSERT INTO orders (client_order_id, account, broker, broker_order_id, "
                        "symbol, occ_symbol, side, quantity, order_type, limit_price, status, "
                        "filled_quantity, average_fill_price, fees, created_at, updated_at, "
                        "snapshot_at, reason) VALUES (:cid, :acct, 'paper', :bid, :sym, :occ, "
                        ":side, :qty, :otype, :limit, :status, :filled, :avg, :fees, :now_at, "
                        ":now_at, "
                        ":snapshot_at, :reason)"
                    ),
                    values,
                )
            else:
                conn.execute(
                    text(
                        "UPDATE orders SET broker = 'paper', broker_order_id = :bid, "
                        "status = :status, filled_quantity = :filled, average_fill_price = :avg, "
                        "fees = :fees, updated_at = :now_at, reason = :reason "
                        "WHERE client_order_id = :cid"
                    ),
                    values,
                )
            accepted = _order_row(conn, order.client_order_id)
            assert accepted is not None
            return _state(accepted)

    def cancel(self, client_order_id: str) -> OrderState:
        """Cancel a working order; unknown ids raise KeyError, final orders are unchanged."""
        with self.engine.begin() as conn:
            row = _order_row(conn, client_order_id)
            if row is None or row["broker_order_id"] is None:
                raise KeyError(f"paper broker has no order {client_order_id!r}")
            if row["status"] in ("submitted", "partially_filled"):
                conn.execute(
                    text(
                        "UPDATE orders SET status = 'cancelled', updated_at = :now_at "
                        "WHERE client_order_id = :cid"
                    ),
                    {"now_at": utcnow(), "cid": client_order_id},
                )
                row = _order_row(conn, client_order_id)
                assert row is not None
            return _state(row)

    def status(self, client_order_id: str) -> OrderState | None:
        with self.engine.connect() as conn:
            row = _order_row(conn, client_order_id)
        if row is None or row["broker_order_id"] is None:
            return None
        return _state(row)

    def positions(self, account: str) -> list[BrokerPosition]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT symbol, asset_type, occ_symbol, quantity, average_price FROM positions "
                    "WHERE account = :a AND status = 'open' ORDER BY symbol, asset_type, occ_symbol"
                ),
                {"a": account},
            ).mappings()
            return [
                BrokerPosition(
                    account=account,
                    symbol=r["symbol"],
                    asset_type=r["asset_type"],
                    quantity=int(r["quantity"]),
                    average_price=float(r["average_price"]),
                    occ_symbol=r["occ_symbol"],
                )
                for r in rows
            ]

    def balances(self, account: str) -> Balances:
        with self.engine.begin() as conn:
            self._ensure_account(conn, account)
            cash = _cash(conn, account)
            collateral = _put_collateral(conn, account)
        return Balances(
            account=account, cash=cash, buying_power=cash - collateral, collateral=collateral
        )

    # ------------------------------------------------------------------ expiry

    def settle_expirations(self, account: str, as_of: dt.date) -> list[Settlement]:
        """Expire, assign or call away every open short option expiring on or before ``as_of``.

        Uses the underlying's last quote of the expiration day (or the latest before it). An
        option exactly at the money expires. Idempotent: settled positions are closed.
        """
        settlements: list[Settlement] = []
        with self.engine.begin() as conn:
            shorts = (
                conn.execute(
                    text(
                        'SELECT id, symbol, occ_symbol, "right", strike, expiration, quantity, '
                        "average_price "
                        "FROM positions WHERE account = :a AND status = 'open' "
                        "AND asset_type = 'option' AND expiration <= :d ORDER BY id"
                    ),
                    {"a": account, "d": as_of},
                )
                .mappings()
                .all()
            )
            now = utcnow()
            for pos in shorts:
                close = closing_price(conn, pos["symbol"], as_date(pos["expiration"]) or as_of)
                if close is None:
                    continue  # no quote yet: settle on a later run
                strike, contracts = float(pos["strike"]), -int(pos["quantity"])
                shares = contracts * CONTRACT_MULTIPLIER
                if pos["right"] == "P" and close < strike:
                    outcome = "assigned"
                    self._move_stock(conn, account, pos["symbol"], shares, strike, now)
                elif pos["right"] == "C" and close > strike:
                    outcome = "called_away"
                    self._move_stock(conn, account, pos["symbol"], -shares, strike, now)
                else:
                    outcome = "expired"
                kept = float(pos["average_price"]) * shares  # the premium, now earned
                conn.execute(
                    text(
                        "UPDATE positions SET status = 'closed', closed_at = :now_at, quantity = "
                        "0, "
                        "realized_pnl = realized_pnl + :r WHERE id = :id"
                    ),
                    {"now_at": now, "r": kept, "id": pos["id"]},
                )
                settlements.append(
                    Settlement(
                        account,
                        pos["symbol"],
                        pos["occ_symbol"],
                        pos["right"],
                        strike,
                        contracts,
                        close,
                        outcome,
                    )
                )
        return settlements

    def expire_working_orders(self, account: str, before: dt.datetime) -> int:
        """Day orders of snapshots before ``before`` that never filled become ``expired``."""
        with self.engine.begin() as conn:
            result = conn.execute(
                text(
                    "UPDATE orders SET status = 'expired', updated_at = :now_at WHERE account = :a "
                    "AND broker = 'paper' AND status = 'submitted' AND snapshot_at < :before_at"
                ),
                {"now_at": utcnow(), "a": account, "before_at": before},
            )
            return int(result.rowcount or 0)

    # ------------------------------------------------------------------ internals

    def _fees(self, order: OrderRequest) -> float:
        per_contract = self.fee_per_contract * order.quantity if order.is_option else 0.0
        return round(per_contract + self.fee_per_order, 4)

    def _fill_price(self, conn: Connection, order: OrderRequest) -> tuple[float | None, str | None]:
        """(price, None) when marketable, (None, None) when resting, (None, reason) if refused."""
        quote = self._quote(conn, order)
        if quote is None:
            what = order.occ_symbol or order.symbol
            return None, f"no quote for {what} at snapshot {order.snapshot_at}"
        bid, ask = quote
        if not (0 <= bid <= ask):
            return None, f"unusable quote bid={bid} ask={ask}"
        mid, half = (bid + ask) / 2.0, (ask - bid) / 2.0
        selling = order.side in ("sell_to_open", "sell_to_close", "sell")
        price = mid - self.slippage * half if selling else mid + self.slippage * half
        price = round(price, 4)
        if order.order_type == "limit":
            assert order.limit_price is not None
            if (selling and price < order.limit_price - 1e-9) or (
                not selling and price > order.limit_price + 1e-9
            ):
                return None, None
        return price, None

    def _quote(self, conn: Connection, order: OrderRequest) -> tuple[float, float] | None:
        """(bid, ask) of the order's snapshot (the latest one when it names none)."""
        at = "AND snapshot_at = :snapshot_at " if order.snapshot_at is not None else ""
        if order.is_option:
            sql = f"SELECT bid, ask FROM option_snapshots WHERE occ_symbol = :k {at}"
            key = order.occ_symbol
        else:
            sql = (
                "SELECT COALESCE(bid, last) AS bid, COALESCE(ask, last) AS ask FROM "
                f"underlying_quotes WHERE symbol = :k {at}"
            )
            key = order.symbol
        sql += "ORDER BY snapshot_at DESC LIMIT 1"
        row = conn.execute(text(sql), {"k": key, "snapshot_at": order.snapshot_at}).first()
        if row is None or row[0] is None or row[1] is None:
            return None
        return float(row[0]), float(row[1])

    def _book_check(self, conn: Connection, order: OrderRequest, price: float) -> str | None:
        """A broker without margin: puts fully cash-secured, calls covered, cash for buys."""
        cash = _cash(conn, order.account)
        if order.side == "sell_to_open" and order.occ_symbol:
            parsed = OCC_PATTERN.match(order.occ_symbol)
            if parsed is None:
                return f"invalid occ_symbol {order.occ_symbol!r}"
            strike = int(parsed["strike"]) / 1000.0
            if parsed["right"] == "P":
                need = strike * CONTRACT_MULTIPLIER * order.quantity
                free = cash - _put_collateral(conn, order.account)
                if need > free + 1e-6:
                    return f"insufficient buying power: {need:.2f} needed, {free:.2f} free"
            else:
                shares = _stock_quantity(conn, order.account, order.symbol)
                covered = shares - CONTRACT_MULTIPLIER * _short_calls(
                    conn, order.account, order.symbol
                )
                if covered < CONTRACT_MULTIPLIER * order.quantity:
                    return f"uncovered call: {covered} free shares of {order.symbol}"
        elif order.side in ("buy_to_close", "buy_to_open", "buy"):
            cost = price * order.multiplier * order.quantity + self._fees(order)
            if cost > cash + 1e-6:
                return f"insufficient cash: {cost:.2f} needed, {cash:.2f} available"
        return None

    def _apply_fill(
        self, conn: Connection, order: OrderRequest, price: float, fees: float, now: dt.datetime
    ) -> None:
        selling = order.side in ("sell_to_open", "sell_to_close", "sell")
        signed_qty = -order.quantity if selling else order.quantity
        cash_delta = (1 if selling else -1) * price * order.multiplier * order.quantity - fees
        _add_cash(conn, order.account, cash_delta, now)
        if order.is_option:
            assert order.occ_symbol is not None
            self._move_option(conn, order, signed_qty, price, now)
        else:
            self._move_stock(conn, order.account, order.symbol, signed_qty, price, now, cash=False)

    def _move_option(
        self, conn: Connection, order: OrderRequest, signed_qty: int, price: float, now: dt.datetime
    ) -> None:
        pos = (
            conn.execute(
                text(
                    "SELECT id, quantity, average_price FROM positions WHERE account = :a "
                    "AND occ_symbol = :o AND status = 'open'"
                ),
                {"a": order.account, "o": order.occ_symbol},
            )
            .mappings()
            .first()
        )
        if pos is None:
            parsed = OCC_PATTERN.match(order.occ_symbol or "")
            assert parsed is not None
            expiration = dt.datetime.strptime(parsed["date"], "%y%m%d").date()
            conn.execute(
                text(
                    'INSERT INTO positions (account, symbol, asset_type, occ_symbol, "right", '
                    "strike, expiration, quantity, average_price, status, opened_at, "
                    "realized_pnl, source) VALUES (:a, :s, 'option', :o, :r, :k, :e, :q, :p, "
                    "'open', :now_at, 0, 'paper')"
                ),
                {
                    "a": order.account,
                    "s": order.symbol,
                    "o": order.occ_symbol,
                    "r": parsed["right"],
                    "k": int(parsed["strike"]) / 1000.0,
                    "e": expiration,
                    "q": signed_qty,
                    "p": price,
                    "now_at": now,
                },
            )
            return
        _change_position(conn, pos, signed_qty, price, CONTRACT_MULTIPLIER, now)

    def _move_stock(
        self,
        conn: Connection,
        account: str,
        symbol: str,
        signed_shares: int,
        price: float,
        now: dt.datetime,
        *,
        cash: bool = True,
    ) -> None:
        """Shares in (+) or out (-) at ``price``; with ``cash`` the cash moves too (exercise)."""
        if cash:
            _add_cash(conn, account, -signed_shares * price, now)
        pos = (
            conn.execute(
                text(
                    "SELECT id, quantity, average_price FROM positions WHERE account = :a "
                    "AND symbol = :s AND asset_type = 'stock' AND status = 'open'"
                ),
                {"a": account, "s": symbol},
            )
            .mappings()
            .first()
        )
        if pos is None:
            conn.execute(
                text(
                    "INSERT INTO positions (account, symbol, asset_type, quantity, average_price, "
                    "cost_basis, status, opened_at, realized_pnl, source) VALUES (:a, :s, "
                    "'stock', :q, :p, :p, 'open', :now_at, 0, 'paper')"
                ),
                {"a": account, "s": symbol, "q": signed_shares, "p": price, "now_at": now},
            )
            return
        _change_position(conn, pos, signed_shares, price, 1, now)


def _change_position(
    conn: Connection,
    pos: Any,
    signed_qty: int,
    price: float,
    multiplier: int,
    now: dt.datetime,
) -> None:
    """Add to or reduce an open position; reducing books realized P&L, flat closes it."""
    qty, avg = int(pos["quantity"]), float(pos["average_price"])
    new_qty = qty + signed_qty
    if qty == 0 or (qty > 0) == (signed_qty > 0):  # adding
        new_avg = (avg * abs(qty) + price * abs(signed_qty)) / max(abs(new_qty), 1)
        realized = 0.0
    else:  # reducing: P&L on the reduced part, average unchanged
        reduced = min(abs(signed_qty), abs(qty))
        realized = (price - avg) * reduced * multiplier * (1 if qty > 0 else -1)
        new_avg = avg
    status_sql = ", status = 'closed', closed_at = :now_at" if new_qty == 0 else ""
    conn.execute(
        text(
            "UPDATE positions SET quantity = :q, average_price = :p, "
            f"realized_pnl = realized_pnl + :r{status_sql} WHERE id = :id"
        ),
        {"q": new_qty, "p": new_avg, "r": realized, "now_at": now, "id": pos["id"]},
    )


def closing_price(conn: Connection, symbol: str, day: dt.date) -> float | None:
    """The underlying's last quote on ``day`` (or the latest before it), USD."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    return scalar_float(
        conn,
        "SELECT last FROM underlying_quotes WHERE symbol = :s AND snapshot_at < :end_at "
        "ORDER BY snapshot_at DESC LIMIT 1",
        {"s": symbol, "end_at": end},
    )


def _order_row(conn: Connection, client_order_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            text("SELECT * FROM orders WHERE client_order_id = :c"), {"c": client_order_id}
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def _state(row: dict[str, Any]) -> OrderState:
    fills: tuple[Fill, ...] = ()
    if int(row["filled_quantity"] or 0) > 0:
        fills = (
            Fill(
                client_order_id=row["client_order_id"],
                broker_order_id=row["broker_order_id"],
                symbol=row["symbol"],
                occ_symbol=row["occ_symbol"],
                side=row["side"],
                quantity=int(row["filled_quantity"]),
                price=float(row["average_fill_price"]),
                fees=float(row["fees"] or 0.0),
                filled_at=as_datetime(row["updated_at"]) or utcnow(),
            ),
        )
    return OrderState(
        client_order_id=row["client_order_id"],
        broker_order_id=row["broker_order_id"],
        status=row["status"],
        filled_quantity=int(row["filled_quantity"] or 0),
        average_fill_price=None
        if row["average_fill_price"] is None
        else float(row["average_fill_price"]),
        fees=float(row["fees"] or 0.0),
        fills=fills,
        message=row["reason"] if row["status"] == "rejected" else None,
    )


def _cash(conn: Connection, account: str) -> float:
    value = conn.execute(
        text("SELECT cash FROM accounts WHERE account = :a"), {"a": account}
    ).scalar()
    return float(value or 0.0)


def _add_cash(conn: Connection, account: str, delta: float, now: dt.datetime) -> None:
    conn.execute(
        text("UPDATE accounts SET cash = cash + :d, updated_at = :now_at WHERE account = :a"),
        {"d": delta, "now_at": now, "a": account},
    )


def _put_collateral(conn: Connection, account: str) -> float:
    value = conn.execute(
        text(
            "SELECT COALESCE(SUM(strike * -quantity), 0) FROM positions WHERE account = :a "
            "AND status = 'open' AND asset_type = 'option' AND \"right\" = 'P' AND quantity < 0"
        ),
        {"a": account},
    ).scalar()
    return float(value or 0.0) * CONTRACT_MULTIPLIER


def _stock_quantity(conn: Connection, account: str, symbol: str) -> int:
    value = conn.execute(
        text(
            "SELECT COALESCE(SUM(quantity), 0) FROM positions WHERE account = :a AND symbol = :s "
            "AND asset_type = 'stock' AND status = 'open'"
        ),
        {"a": account, "s": symbol},
    ).scalar()
    return int(value or 0)


def _short_calls(conn: Connection, account: str, symbol: str) -> int:
    value = conn.execute(
        text(
            "SELECT COALESCE(SUM(-quantity), 0) FROM positions WHERE account = :a AND symbol = :s "
            "AND asset_type = 'option' AND \"right\" = 'C' AND status = 'open' AND quantity < 0"
        ),
        {"a": account, "s": symbol},
    ).scalar()
    return int(value or 0)
