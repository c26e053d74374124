"""The wheel of one underlying as an explicit state machine (pure dataclasses, no I/O).

    CASH --put_sold--> SHORT_PUT --put_expired | put_bought_back--> CASH      (cycle closes)
                       SHORT_PUT --put_assigned--> LONG_STOCK                 (shares at strike)
                       SHORT_PUT --put_rolled--> SHORT_PUT
    LONG_STOCK --call_sold--> SHORT_CALL --call_expired | call_bought_back--> LONG_STOCK
                              SHORT_CALL --call_rolled--> SHORT_CALL
                              SHORT_CALL --called_away--> CASH                (cycle closes)

Money: option prices and strikes are USD per share; a contract is 100 shares; fees are USD.
``cash_flow`` is the cycle's net cash (premiums in, buy-backs, stock bought/sold, fees out), so a
closed cycle's realized P&L is exactly its cash flow, and an open cycle's unrealized P&L is its
cash flow plus the market value of what it still holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

from wheelflow.errors import WheelflowError

SHARES_PER_CONTRACT = 100


class WheelState(StrEnum):
    CASH = "CASH"
    SHORT_PUT = "SHORT_PUT"
    LONG_STOCK = "LONG_STOCK"
    SHORT_CALL = "SHORT_CALL"


EventKind = Literal[
    "put_sold",
    "put_bought_back",
    "put_rolled",
    "put_expired",
    "put_assigned",
    "call_sold",
    "call_bought_back",
    "call_rolled",
    "call_expired",
    "called_away",
]

TRANSITIONS: dict[tuple[WheelState, str], WheelState] = {
    (WheelState.CASH, "put_sold"): WheelState.SHORT_PUT,
    (WheelState.SHORT_PUT, "put_bought_back"): WheelState.CASH,
    (WheelState.SHORT_PUT, "put_rolled"): WheelState.SHORT_PUT,
    (WheelState.SHORT_PUT, "put_expired"): WheelState.CASH,
    (WheelState.SHORT_PUT, "put_assigned"): WheelState.LONG_STOCK,
    (WheelState.LONG_STOCK, "call_sold"): WheelState.SHORT_CALL,
    (WheelState.SHORT_CALL, "call_bought_back"): WheelState.LONG_STOCK,
    (WheelState.SHORT_CALL, "call_rolled"): WheelState.SHORT_CALL,
    (WheelState.SHORT_CALL, "call_expired"): WheelState.LONG_STOCK,
    (WheelState.SHORT_CALL, "called_away"): WheelState.CASH,
}
_CLOSES_CYCLE = frozenset({"put_bought_back", "put_expired", "called_away"})


class InvalidTransition(WheelflowError):
    """An event that the wheel's current state does not allow (e.g. a call with no stock)."""


@dataclass(frozen=True)
class WheelEvent:
    """Something that happened to the wheel of one underlying.

    ``price`` is the premium per share of an option sold or bought back; for a roll it is the new
    option's premium and ``close_price`` the buy-back price of the old one. ``fees`` in USD.
    Assignment and call-away happen at the open option's strike (no price needed).
    """

    kind: EventKind
    contracts: int = 0
    price: float = 0.0
    close_price: float = 0.0
    fees: float = 0.0
    occ_symbol: str | None = None
    strike: float | None = None
    expiration: dt.date | None = None


@dataclass(frozen=True)
class WheelCycle:
    """One turn of the wheel on one underlying, from the first put sold until back in cash."""

    symbol: str
    state: WheelState = WheelState.CASH
    contracts: int = 0  # open short option contracts
    shares: int = 0
    option_occ: str | None = None
    option_strike: float | None = None
    option_expiration: dt.date | None = None
    option_premium: float | None = None  # per share, received for the open short
    assignment_price: float | None = None  # per share paid for the shares
    premium_collected: float = 0.0  # USD, credits received minus buy-backs paid
    fees: float = 0.0  # USD
    cash_flow: float = 0.0  # USD, net of everything
    closed: bool = False

    @property
    def realized_pnl(self) -> float:
        """USD; the whole cash flow once the cycle is back in cash, else 0."""
        return self.cash_flow if self.closed else 0.0

    @property
    def cost_basis(self) -> float | None:
        """Per share: the assignment price less every premium (net of fees) of this cycle."""
        if not self.shares or self.assignment_price is None:
            return None
        return self.assignment_price - (self.premium_collected - self.fees) / self.shares

    @property
    def collateral(self) -> float:
        """USD the cycle ties up: strike x 100 x contracts for a short put, shares held at cost."""
        if self.state is WheelState.SHORT_PUT:
            return float(self.option_strike or 0.0) * SHARES_PER_CONTRACT * self.contracts
        return float(self.assignment_price or 0.0) * self.shares

    def market_value(self, stock_price: float, option_price: float = 0.0) -> float:
        """USD value of the holdings: shares x price less the short options' buy-back cost."""
        return self.shares * stock_price - self.contracts * SHARES_PER_CONTRACT * option_price

    def unrealized_pnl(self, stock_price: float, option_price: float = 0.0) -> float:
        """USD mark-to-market P&L of an open cycle (0 once closed)."""
        if self.closed:
            return 0.0
        return self.cash_flow + self.market_value(stock_price, option_price)


@dataclass(frozen=True)
class Transition:
    before: WheelCycle
    after: WheelCycle
    event: WheelEvent
    cash_flow: float  # USD the event moved (+ received, - paid)

    @property
    def realized_pnl(self) -> float:
        return self.after.realized_pnl


def apply_event(cycle: WheelCycle, event: WheelEvent) -> Transition:
    """The cycle after ``event``; raises InvalidTransition when the state does not allow it."""
    if cycle.closed:
        raise InvalidTransition(f"{cycle.symbol}: cycle is closed; start a new one")
    target = TRANSITIONS.get((cycle.state, event.kind))
    if target is None:
        raise InvalidTransition(f"{cycle.symbol}: {event.kind} is not allowed in {cycle.state}")
    handler = _HANDLERS[event.kind]
    after, flow = handler(cycle, event)
    after = replace(
        after,
        state=target,
        fees=cycle.fees + event.fees,
        cash_flow=cycle.cash_flow + flow,
        closed=event.kind in _CLOSES_CYCLE,
    )
    return Transition(before=cycle, after=after, event=event, cash_flow=flow)


def _sell_option(cycle: WheelCycle, event: WheelEvent) -> tuple[WheelCycle, float]:
    if event.contracts <= 0 or event.price < 0:
        raise InvalidTransition(f"{cycle.symbol}: {event.kind} needs contracts > 0, price >= 0")
    if event.kind == "call_sold" and event.contracts * SHARES_PER_CONTRACT > cycle.shares:
        raise InvalidTransition(
            f"{cycle.symbol}: {event.contracts} calls need {event.contracts * 100} shares, "
            f"holding {cycle.shares} (no naked calls)"
        )
    credit = event.price * SHARES_PER_CONTRACT * event.contracts
    after = replace(
        cycle,
        contracts=event.contracts,
        option_occ=event.occ_symbol,
        option_strike=event.strike,
        option_expiration=event.expiration,
        option_premium=event.price,
        premium_collected=cycle.premium_collected + credit,
    )
    return after, credit - event.fees


def _close_option(cycle: WheelCycle, event: WheelEvent) -> tuple[WheelCycle, float]:
    debit = event.price * SHARES_PER_CONTRACT * cycle.contracts
    after = replace(
        _flat(cycle),
        premium_collected=cycle.premium_collected - debit,
    )
    return after, -debit - event.fees


def _roll(cycle: WheelCycle, event: WheelEvent) -> tuple[WheelCycle, float]:
    closed, close_flow = _close_option(cycle, replace(event, price=event.close_price, fees=0.0))
    opened, open_flow = _sell_option(
        replace(closed, state=cycle.state), replace(event, fees=event.fees)
    )
    return opened, close_flow + open_flow


def _expire(cycle: WheelCycle, event: WheelEvent) -> tuple[WheelCycle, float]:
    return _flat(cycle), -event.fees


def _assign_put(cycle: WheelCycle, event: WheelEvent) -> tuple[WheelCycle, float]:
    strike = float(cycle.option_strike or 0.0)
    shares = cycle.contracts * SHARES_PER_CONTRACT
    after = replace(_flat(cycle), shares=cycle.shares + shares, assignment_price=strike)
    return after, -strike * shares - event.fees


def _call_away(cycle: WheelCycle, event: WheelEvent) -> tuple[WheelCycle, float]:
    strike = float(cycle.option_strike or 0.0)
    shares = cycle.contracts * SHARES_PER_CONTRACT
    after = replace(_flat(cycle), shares=cycle.shares - shares)
    return after, strike * shares - event.fees


def _flat(cycle: WheelCycle) -> WheelCycle:
    """The cycle with no open option."""
    return replace(
        cycle,
        contracts=0,
        option_occ=None,
        option_strike=None,
        option_expiration=None,
        option_premium=None,
    )


_HANDLERS = {
    "put_sold": _sell_option,
    "call_sold": _sell_option,
    "put_bought_back": _close_option,
    "call_bought_back": _close_option,
    "put_rolled": _roll,
    "call_rolled": _roll,
    "put_expired": _expire,
    "call_expired": _expire,
    "put_assigned": _assign_put,
    "called_away": _call_away,
}


def expiration_event(cycle: WheelCycle, as_of: dt.date, close: float) -> WheelEvent | None:
    """What happens to the cycle's short option at expiry, given the underlying's close (USD).

    None while the option has not expired. An option exactly at the money expires worthless
    (the holder does not exercise); a short put below the strike is assigned and a short call
    above it is called away.
    """
    if cycle.state not in (WheelState.SHORT_PUT, WheelState.SHORT_CALL):
        return None
    if cycle.option_expiration is None or cycle.option_expiration > as_of:
        return None
    strike = float(cycle.option_strike or 0.0)
    if cycle.state is WheelState.SHORT_PUT:
        kind: EventKind = "put_assigned" if close < strike else "put_expired"
    else:
        kind = "called_away" if close > strike else "call_expired"
    return WheelEvent(kind=kind, contracts=cycle.contracts, price=0.0, strike=strike)


def early_assignment_risk(
    cycle: WheelCycle,
    stock_price: float,
    option_price: float,
    ex_dividend_date: dt.date | None,
    dividend: float,
    as_of: dt.date,
) -> bool:
    """True for an ITM short call whose extrinsic value is below a dividend going ex before expiry.

    The holder of such a call gains by exercising the day before the ex-date (Hull, ch. 11).
    """
    if cycle.state is not WheelState.SHORT_CALL or ex_dividend_date is None:
        return False
    if cycle.option_expiration is None or not (
        as_of <= ex_dividend_date <= cycle.option_expiration
    ):
        return False
    intrinsic = stock_price - float(cycle.option_strike or 0.0)
    return intrinsic > 0 and option_price - intrinsic < dividend
