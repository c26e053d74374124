"""The wheel ledger in the database: open cycles, the append-only event log, marks to market.

Every write is keyed (``position_events.event_key``), so recording the same transition twice is a
no-op; a cycle row and its event are written in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from wheelflow.execution._sql import scalar_float, text
from wheelflow.execution.broker import CONTRACT_MULTIPLIER
from wheelflow.strategy.wheel import Transition, WheelCycle, WheelState

_CYCLE_FIELDS = (
    "state",
    "contracts",
    "shares",
    "option_occ",
    "option_strike",
    "option_expiration",
    "option_premium",
    "assignment_price",
    "premium_collected",
    "fees",
    "cash_flow",
)


def load_open_cycles(
    conn: Connection, account: str, symbol: str | None = None
) -> dict[str, tuple[int, WheelCycle]]:
    """Open cycles of ``account`` (or of its ``symbol`` only) by underlying: (cycle id, cycle)."""
    only = "AND symbol = :s " if symbol is not None else ""
    rows = conn.execute(
        text(f"SELECT * FROM wheel_cycles WHERE account = :a AND is_open = :yes {only}ORDER BY id"),
        {"a": account, "yes": True, "s": symbol},
    ).mappings()
    return {r["symbol"]: (int(r["id"]), _cycle(r)) for r in rows}


def _cycle(r: Any) -> WheelCycle:
    expiration = r["option_expiration"]
    if expiration is not None and not isinstance(expiration, dt.date):
        expiration = dt.date.fromisoformat(str(expiration)[:10])
    return WheelCycle(
        symbol=r["symbol"],
        state=WheelState(r["state"]),
        contracts=int(r["contracts"]),
        shares=int(r["shares"]),
        option_occ=r["option_occ"],
        option_strike=r["option_strike"],
        option_expiration=expiration,
        option_premium=r["option_premium"],
        assignment_price=r["assignment_price"],
        premium_collected=float(r["premium_collected"]),
        fees=float(r["fees"]),
        cash_flow=float(r["cash_flow"]),
        closed=not bool(r["is_open"]),
    )


def event_recorded(conn: Connection, event_key: str) -> bool:
    found = conn.execute(
        text("SELECT 1 FROM position_events WHERE event_key = :k"), {"k": event_key}
    ).first()
    return found is not None


def record_transition(
    conn: Connection,
    account: str,
    cycle_id: int | None,
    transition: Transition,
    *,
    event_key: str,
    occurred_at: dt.datetime,
    snapshot_at: dt.datetime | None = None,
    client_order_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> int | None:
    """Persist ``transition`` (cycle row + event): the cycle id, or None if already recorded."""
    if event_recorded(conn, event_key):
        return None
    after = transition.after
    values: dict[str, Any] = {f: getattr(after, f) for f in _CYCLE_FIELDS}
    values["state"] = after.state.value
    values |= {
        "is_open": not after.closed,
        "realized_pnl": after.realized_pnl,
        "cost_basis": after.cost_basis,
        "now_at": occurred_at,
        "closed_at": occurred_at if after.closed else None,
        "assigned": transition.event.kind == "put_assigned",
    }
    if cycle_id is None:
        cols = ", ".join(_CYCLE_FIELDS)
        marks = ", ".join(f":{f}" for f in _CYCLE_FIELDS)
        cycle_id = int(
            conn.execute(
                text(
                    f"INSERT INTO wheel_cycles (account, symbol, {cols}, is_open, realized_pnl, "
                    f"cost_basis, assigned, opened_at, updated_at, closed_at) VALUES (:account, "
                    f":symbol, {marks}, :is_open, :realized_pnl, :cost_basis, :assigned, :now_at, "
                    ":now_at, "
                    ":closed_at) RETURNING id"
                ),
                values | {"account": account, "symbol": after.symbol},
            ).scalar_one()
        )
    else:
        sets = ", ".join(f"{f} = :{f}" for f in _CYCLE_FIELDS)
        conn.execute(
            text(
                f"UPDATE wheel_cycles SET {sets}, is_open = :is_open, realized_pnl = :realized_pnl,"
                " cost_basis = :cost_basis, assigned = (assigned OR :assigned), updated_at = "
                ":now_at, "
                "closed_at = :closed_at WHERE id = :id"
            ),
            values | {"id": cycle_id},
        )
    event = transition.event
    conn.execute(
        text(
            "INSERT INTO position_events (event_key, account, symbol, cycle_id, kind, from_state, "
            "to_state, occ_symbol, contracts, price, strike, fees, cash_flow, realized_pnl, "
            "client_order_id, snapshot_at, occurred_at, details) VALUES (:k, :a, :s, :c, :kind, "
            ":f, :to, :occ, :n, :p, :strike, :fees, :flow, :pnl, :cid, :snapshot_at, :now_at, "
            ":details)"
        ),
        {
            "k": event_key,
            "a": account,
            "s": after.symbol,
            "c": cycle_id,
            "kind": event.kind,
            "f": transition.before.state.value,
            "to": after.state.value,
            "occ": event.occ_symbol or transition.before.option_occ,
            "n": event.contracts or transition.before.contracts,
            "p": event.price,
            "strike": event.strike or transition.before.option_strike,
            "fees": event.fees,
            "flow": transition.cash_flow,
            "pnl": after.realized_pnl,
            "cid": client_order_id,
            "snapshot_at": snapshot_at,
            "now_at": occurred_at,
            "details": None if details is None else _json(details),
        },
    )
    if after.shares and after.cost_basis is not None:
        # the stock position carries the wheel's adjusted cost basis (covered-call screening)
        conn.execute(
            text(
                "UPDATE positions SET cost_basis = :b, cycle_id = :c WHERE account = :a AND "
                "symbol = :s AND asset_type = 'stock' AND status = 'open'"
            ),
            {"b": after.cost_basis, "c": cycle_id, "a": account, "s": after.symbol},
        )
    return cycle_id


def _json(details: dict[str, Any]) -> str:
    import json

    return json.dumps(details, default=str)


@dataclass(frozen=True)
class AccountMark:
    """An account marked to market at one snapshot (USD)."""

    cash: float
    stock_value: float
    option_value: float  # negative for shorts: the cost to buy them back at mid
    realized_pnl: float  # closed cycles
    unrealized_pnl: float  # open cycles: cash flow so far + market value of holdings
    open_cycle_cash_flow: float
    starting_cash: float
    put_collateral: float  # strike x 100 x contracts over the open short puts

    @property
    def equity(self) -> float:
        return self.cash + self.stock_value + self.option_value

    @property
    def accounting_gap(self) -> float:
        """(cash + positions) - (starting cash + realized + unrealized); 0 when books agree."""
        return self.equity - (self.starting_cash + self.realized_pnl + self.unrealized_pnl)


def _latest_mid(conn: Connection, occ: str, snapshot_at: dt.datetime) -> float | None:
    return scalar_float(
        conn,
        "SELECT (bid + ask) / 2 FROM option_snapshots WHERE occ_symbol = :o AND "
        "snapshot_at <= :snapshot_at ORDER BY snapshot_at DESC LIMIT 1",
        {"o": occ, "snapshot_at": snapshot_at},
    )


def mark_account(conn: Connection, account: str, snapshot_at: dt.datetime) -> AccountMark:
    """Mark the paper account: broker books (cash, positions) and the wheel ledger side by side.

    Stock at the snapshot's last price, options at the snapshot's mid (the latest quote before
    it when a contract is missing). The identity cash + positions = starting cash + realized +
    unrealized holds when the ledger and the books agree.
    """
    acct = conn.execute(
        text("SELECT cash, starting_cash FROM accounts WHERE account = :a"), {"a": account}
    ).first()
    cash, start = (float(acct[0]), float(acct[1])) if acct is not None else (0.0, 0.0)
    stock = conn.execute(
        text(
            "SELECT p.symbol, p.quantity, (SELECT q.last FROM underlying_quotes q WHERE "
            "q.symbol = p.symbol AND q.snapshot_at <= :snapshot_at ORDER BY q.snapshot_at DESC "
            "LIMIT 1) "
            "FROM positions p WHERE p.account = :a AND p.status = 'open' AND "
            "p.asset_type = 'stock'"
        ),
        {"a": account, "snapshot_at": snapshot_at},
    ).all()
    # The snapshot's own quote is a primary-key hit; only a contract missing from it falls back
    # to its latest earlier quote (a scan, so kept to the rare case).
    options = [
        (occ, qty, mid if mid is not None else _latest_mid(conn, occ, snapshot_at))
        for occ, qty, mid in conn.execute(
            text(
                "SELECT p.occ_symbol, p.quantity, (o.bid + o.ask) / 2 FROM positions p "
                "LEFT JOIN option_snapshots o ON o.occ_symbol = p.occ_symbol AND "
                "o.snapshot_at = :snapshot_at WHERE p.account = :a AND p.status = 'open' AND "
                "p.asset_type = 'option'"
            ),
            {"a": account, "snapshot_at": snapshot_at},
        ).all()
    ]
    price_of = {str(r[0]): float(r[2] or 0.0) for r in stock}
    mid_of = {str(r[0]): float(r[2] or 0.0) for r in options}
    stock_value = sum(int(r[1]) * float(r[2] or 0.0) for r in stock)
    option_value = sum(int(r[1]) * CONTRACT_MULTIPLIER * float(r[2] or 0.0) for r in options)
    realized = float(
        conn.execute(
            text(
                "SELECT COALESCE(SUM(realized_pnl), 0) FROM wheel_cycles WHERE account = :a "
                "AND is_open = :f"
            ),
            {"a": account, "f": False},
        ).scalar_one()
    )
    unrealized = flow = collateral = 0.0
    for _cid, cycle in load_open_cycles(conn, account).values():
        option_mid = mid_of.get(cycle.option_occ or "", 0.0)
        unrealized += cycle.unrealized_pnl(price_of.get(cycle.symbol, 0.0), option_mid)
        flow += cycle.cash_flow
        if cycle.state is WheelState.SHORT_PUT:
            collateral += cycle.collateral
    return AccountMark(
        cash=cash,
        stock_value=stock_value,
        option_value=option_value,
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        open_cycle_cash_flow=flow,
        starting_cash=start,
        put_collateral=collateral,
    )
