"""The Position Service: risk check, idempotent submission, fills, and wheel bookkeeping.

For each decision leg: (1) an order whose client order id is already known is never sent again
(a ``pending`` one from a crashed or timed-out run is resolved with ``broker.status`` first);
(2) the risk check runs and can block the order, recorded as ``rejected`` with the reason;
(3) the order is recorded ``pending`` and committed *before* it is sent, then sent; a
``BrokerTimeout`` is resolved with ``status`` and only re-sent (same id) when the broker never
saw it; (4) the broker's answer updates ``orders``, adds ``fills``, and filled orders move the
wheel (``wheel_cycles`` + ``position_events``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from models.tables import utcnow
from wheelflow.execution import ledger
from wheelflow.execution._sql import text
from wheelflow.execution.broker import (
    CONTRACT_MULTIPLIER,
    Balances,
    Broker,
    BrokerTimeout,
    OrderRequest,
    OrderState,
)
from wheelflow.strategy.config import StrategyConfig
from wheelflow.strategy.decisions import Decision, Leg
from wheelflow.strategy.wheel import (
    Transition,
    WheelCycle,
    WheelEvent,
    WheelState,
    apply_event,
    expiration_event,
)

log = logging.getLogger(__name__)

# The portfolio limits (wheelflow.risk.guard): (account, underlying, leg) -> reason or None.
OrderGuard = Callable[[str, str, Leg], "str | None"]


@dataclass(frozen=True)
class OrderOutcome:
    """What happened to one leg of a decision."""

    client_order_id: str
    symbol: str
    side: str
    occ_symbol: str
    status: str  # the order's status (orders.status)
    reason: str | None = None
    fill_price: float | None = None  # USD per share
    quantity: int = 0
    duplicate: bool = False  # the client order id was already known: nothing was sent
    fees: float = 0.0  # USD charged for the order


def risk_check(
    leg: Leg,
    cycle: WheelCycle | None,
    balances: Balances,
    equity: float,
    config: StrategyConfig,
) -> str | None:
    """Why ``leg`` must not be sent, or None. Runs before every order.

    Opening a put: fully cash-secured after the cash reserve, within the per-symbol contract,
    concentration and total-collateral limits, and only on a symbol with no open wheel. Opening
    a call: covered by the cycle's shares and (when configured) at or above its cost basis.
    Closing: only a short the cycle holds.
    """
    risk, wheel = config.risk, config.wheel
    if leg.side == "sell_to_open" and leg.right == "P":
        if cycle is not None and cycle.state is not WheelState.CASH and not cycle.closed:
            return f"symbol already in the wheel ({cycle.state})"
        collateral = leg.strike * CONTRACT_MULTIPLIER * leg.quantity
        free = balances.buying_power - risk.min_cash_reserve * equity
        if collateral > free + 1e-6:
            return f"not cash-secured: collateral {collateral:.2f} > free cash {free:.2f}"
        if leg.quantity > risk.max_contracts_per_symbol:
            return f"{leg.quantity} contracts > max_contracts_per_symbol"
        if equity > 0 and collateral / equity > risk.max_symbol_concentration + 1e-9:
            return f"concentration {collateral / equity:.1%} > max_symbol_concentration"
        if equity > 0 and (balances.collateral + collateral) / equity > risk.max_total_collateral:
            return "total collateral would exceed max_total_collateral"
        return None
    if leg.side == "sell_to_open" and leg.right == "C":
        if cycle is None or cycle.state is not WheelState.LONG_STOCK:
            return "covered call needs a LONG_STOCK wheel"
        if leg.quantity * CONTRACT_MULTIPLIER > cycle.shares:
            return f"uncovered: {leg.quantity} calls on {cycle.shares} shares"
        basis = cycle.cost_basis
        if wheel.calls_at_or_above_cost_basis and basis is not None and leg.strike < basis - 1e-9:
            return f"call strike {leg.strike} below cost basis {basis:.2f}"
        return None
    if leg.side == "buy_to_close":
        if cycle is None or cycle.option_occ != leg.occ_symbol:
            return f"no open short {leg.occ_symbol} to close"
        cost = leg.limit_price * CONTRACT_MULTIPLIER * leg.quantity
        if cost > balances.cash + 1e-6:
            return f"insufficient cash to buy back: {cost:.2f}"
        return None
    return f"unsupported order side {leg.side}"


class PositionService:
    """Turns decisions into orders at a broker and keeps the wheel ledger in step."""

    def __init__(
        self,
        engine: Engine,
        broker: Broker,
        config: StrategyConfig,
        *,
        submit_attempts: int = 3,
        guard: OrderGuard | None = None,
    ) -> None:
        self.engine = engine
        self.broker = broker
        self.config = config
        self.account = config.wheel.account
        self.submit_attempts = submit_attempts
        self.guard = guard

    # ------------------------------------------------------------------ reading

    def book(self) -> dict[str, WheelCycle]:
        """Open cycles by underlying."""
        with self.engine.connect() as conn:
            return {s: c for s, (_, c) in ledger.load_open_cycles(conn, self.account).items()}

    # ------------------------------------------------------------------ execution

    def execute(self, decisions: list[Decision], *, equity: float) -> list[OrderOutcome]:
        """Risk-check and send every decision; a roll's new leg only after its close filled."""
        outcomes: list[OrderOutcome] = []
        for decision in decisions:
            first = self._send(decision, decision.leg, equity)
            outcomes.append(first)
            if decision.roll_to is not None and first.status == "filled":
                second = self._send(decision, decision.roll_to, equity, rolling=True)
                outcomes.append(second)
                self._record_roll(decision, first, second)
            elif first.status == "filled":
                self._record_fill(decision, decision.leg, first)
        return outcomes

    def _send(
        self, decision: Decision, leg: Leg, equity: float, *, rolling: bool = False
    ) -> OrderOutcome:
        """One leg; ``rolling``: the new leg of a roll, risk-checked as if the old one is gone."""
        cid = decision.client_order_id(leg)
        order = OrderRequest(
            client_order_id=cid,
            account=self.account,
            symbol=decision.symbol,
            side=leg.side,
            quantity=leg.quantity,
            limit_price=leg.limit_price,
            occ_symbol=leg.occ_symbol,
            snapshot_at=decision.snapshot_at,
            reason=decision.reason,
        )
        with self.engine.connect() as conn:
            existing = _order_row(conn, cid)
        if existing is not None and existing["status"] != "pending":
            return _known(order, existing)
        if existing is not None:  # pending
            state = self.broker.status(cid)  # a previous run may have reached the broker
            if state is not None:
                self._store(order, state)
                return self._outcome(order, state.status, state.message, state)
        else:
            with self.engine.connect() as conn:
                found = ledger.load_open_cycles(conn, self.account, decision.symbol)
            cycle = found[decision.symbol][1] if found else None
            if rolling and cycle is not None:
                flat = WheelState.LONG_STOCK if cycle.shares else WheelState.CASH
                cycle = replace(cycle, state=flat, contracts=0, option_occ=None)
            reason = risk_check(leg, cycle, self.broker.balances(self.account), equity, self.config)
            if reason is None and self.guard is not None and not rolling:
                reason = self.guard(self.account, decision.symbol, leg)
            status, note = (
                ("rejected", f"risk: {reason}") if reason else ("pending", decision.reason)
            )
            if not self._insert(order, decision, leg, status, note):
                with self.engine.connect() as conn:  # a concurrent run recorded it first
                    row = _order_row(conn, cid)
                assert row is not None
                return _known(order, row)
            if reason is not None:
                return self._outcome(order, "rejected", note)
        state = self._submit(order)
        self._store(order, state)
        return self._outcome(order, state.status, state.message, state)

    def _submit(self, order: OrderRequest) -> OrderState:
        """Send with retries; a timeout is resolved by id before any re-send (never two orders)."""
        last: BrokerTimeout | None = None
        for attempt in range(1, self.submit_attempts + 1):
            try:
                return self.broker.submit(order)
            except BrokerTimeout as exc:
                last = exc
                log.warning("submit %s timed out (attempt %d)", order.client_order_id, attempt)
                state = self.broker.status(order.client_order_id)
                if state is not None:
                    return state
        assert last is not None
        raise last

    def _insert(
        self, order: OrderRequest, decision: Decision, leg: Leg, status: str, reason: str | None
    ) -> bool:
        """Record the order before it is sent; False when its client order id already exists."""
        now = utcnow()
        payload = {"action": decision.action, "reason": decision.reason, "leg": asdict(leg)}
        try:
            self._insert_row(order, status, reason, payload, now)
        except IntegrityError:
            return False
        return True

    def _insert_row(
        self,
        order: OrderRequest,
        status: str,
        reason: str | None,
        payload: dict[str, Any],
        now: dt.datetime,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO orders (client_order_id, account, broker, symbol, occ_symbol, "
                    "side, quantity, order_type, limit_price, status, filled_quantity, fees, "
                    "created_at, updated_at, snapshot_at, reason, decision) VALUES (:cid, :a, "
                    ":b, :s, :o, :side, :q, 'limit', :l, :st, 0, 0, :now_at, :now_at, "
                    ":snapshot_at, :r, :d)"
                ),
                {
                    "cid": order.client_order_id,
                    "a": self.account,
                    "b": self.broker.name,
                    "s": order.symbol,
                    "o": order.occ_symbol,
                    "side": order.side,
                    "q": order.quantity,
                    "l": order.limit_price,
                    "st": status,
                    "now_at": now,
                    "snapshot_at": order.snapshot_at,
                    "r": reason,
                    "d": ledger._json(payload),
                },
            )

    def _store(self, order: OrderRequest, state: OrderState) -> None:
        """The broker's view into ``orders`` and ``fills`` (idempotent)."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE orders SET broker_order_id = :bid, status = :st, filled_quantity = :f, "
                    "average_fill_price = :p, fees = :fees, updated_at = :now_at, "
                    "reason = COALESCE(:msg, reason) WHERE client_order_id = :cid"
                ),
                {
                    "bid": state.broker_order_id,
                    "st": state.status,
                    "f": state.filled_quantity,
                    "p": state.average_fill_price,
                    "fees": state.fees,
                    "now_at": utcnow(),
                    "msg": state.message,
                    "cid": order.client_order_id,
                },
            )
            for i, fill in enumerate(state.fills):
                key = f"{fill.client_order_id}:{i}"
                if conn.execute(
                    text("SELECT 1 FROM fills WHERE fill_key = :k"), {"k": key}
                ).first():
                    continue
                conn.execute(
                    text(
                        "INSERT INTO fills (fill_key, client_order_id, broker_order_id, account, "
                        "broker, symbol, occ_symbol, side, quantity, price, fees, filled_at) "
                        "VALUES (:k, :cid, :bid, :a, :b, :s, :o, :side, :q, :p, :fees, :now_at)"
                    ),
                    {
                        "k": key,
                        "cid": fill.client_order_id,
                        "bid": fill.broker_order_id,
                        "a": self.account,
                        "b": self.broker.name,
                        "s": fill.symbol,
                        "o": fill.occ_symbol,
                        "side": fill.side,
                        "q": fill.quantity,
                        "p": fill.price,
                        "fees": fill.fees,
                        "now_at": fill.filled_at,
                    },
                )

    def _outcome(
        self,
        order: OrderRequest,
        status: str,
        reason: str | None,
        state: OrderState | None = None,
    ) -> OrderOutcome:
        return OrderOutcome(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            occ_symbol=order.occ_symbol or "",
            status=status,
            reason=reason,
            fill_price=None if state is None else state.average_fill_price,
            quantity=0 if state is None else state.filled_quantity,
            fees=0.0 if state is None else state.fees,
        )

    # ------------------------------------------------------------------ wheel bookkeeping

    def _record_fill(self, decision: Decision, leg: Leg, outcome: OrderOutcome) -> None:
        kinds = {
            ("sell_to_open", "P"): "put_sold",
            ("sell_to_open", "C"): "call_sold",
            ("buy_to_close", "P"): "put_bought_back",
            ("buy_to_close", "C"): "call_bought_back",
        }
        event = WheelEvent(
            kind=kinds[(leg.side, leg.right)],  # type: ignore[arg-type]
            contracts=outcome.quantity,
            price=float(outcome.fill_price or 0.0),
            fees=outcome.fees,
            occ_symbol=leg.occ_symbol,
            strike=leg.strike,
            expiration=leg.expiration,
        )
        self._apply(decision.symbol, event, f"order:{outcome.client_order_id}", decision)

    def _record_roll(self, decision: Decision, close: OrderOutcome, new: OrderOutcome) -> None:
        leg = decision.roll_to
        assert leg is not None
        if new.status != "filled":
            self._record_fill(decision, decision.leg, close)  # closed, not re-opened
            return
        event = WheelEvent(
            kind="put_rolled" if leg.right == "P" else "call_rolled",
            contracts=new.quantity,
            price=float(new.fill_price or 0.0),
            close_price=float(close.fill_price or 0.0),
            fees=close.fees + new.fees,
            occ_symbol=leg.occ_symbol,
            strike=leg.strike,
            expiration=leg.expiration,
        )
        self._apply(decision.symbol, event, f"roll:{new.client_order_id}", decision)

    def _apply(
        self,
        symbol: str,
        event: WheelEvent,
        event_key: str,
        decision: Decision | None = None,
        *,
        occurred_at: dt.datetime | None = None,
    ) -> Transition | None:
        with self.engine.begin() as conn:
            if ledger.event_recorded(conn, event_key):
                return None
            cycle_id, cycle = ledger.load_open_cycles(conn, self.account, symbol).get(
                symbol, (None, WheelCycle(symbol))
            )
            transition = apply_event(cycle, event)
            ledger.record_transition(
                conn,
                self.account,
                cycle_id,
                transition,
                event_key=event_key,
                occurred_at=occurred_at or (decision.snapshot_at if decision else utcnow()),
                snapshot_at=None if decision is None else decision.snapshot_at,
                client_order_id=event_key.split(":", 1)[1] if decision is not None else None,
                details=None if decision is None else {"reason": decision.reason},
            )
            return transition

    # ------------------------------------------------------------------ expirations

    def process_expirations(self, as_of: dt.date) -> list[Transition]:
        """Expire, assign or call away every short of the ledger expiring on or before ``as_of``.

        The underlying's close is the last quote of the expiration day. Idempotent: the event
        key is the cycle and contract, so a re-run records nothing new. A paper broker settles
        its own books the same way (``settle_expirations``).
        """
        from wheelflow.execution.paper import closing_price

        transitions: list[Transition] = []
        with self.engine.connect() as conn:
            cycles = ledger.load_open_cycles(conn, self.account)
            closes: dict[str, float | None] = {
                s: closing_price(conn, s, c.option_expiration)
                for s, (_, c) in cycles.items()
                if c.option_expiration is not None and c.option_expiration <= as_of
            }
        for symbol, (cycle_id, cycle) in cycles.items():
            close = closes.get(symbol)
            if close is None or cycle.option_expiration is None:
                continue
            event = expiration_event(cycle, as_of, close)
            if event is None:
                continue
            occurred = dt.datetime.combine(cycle.option_expiration, dt.time(21, 0))
            key = f"expiry:{cycle_id}:{cycle.option_occ}"
            t = self._apply(symbol, event, key, occurred_at=occurred)
            if t is not None:
                transitions.append(t)
        return transitions


def _known(order: OrderRequest, row: dict[str, Any]) -> OrderOutcome:
    """The outcome of an order whose client order id was already recorded: nothing is sent."""
    return OrderOutcome(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        occ_symbol=order.occ_symbol or "",
        status=str(row["status"]),
        reason=row["reason"],
        fill_price=row["average_fill_price"],
        quantity=int(row["filled_quantity"] or 0),
        duplicate=True,
        fees=float(row["fees"] or 0.0),
    )


def _order_row(conn: Connection, client_order_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            text(
                "SELECT status, reason, average_fill_price, filled_quantity, fees FROM orders "
                "WHERE client_order_id = :c"
            ),
            {"c": client_order_id},
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)
