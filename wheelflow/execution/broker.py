"""The broker interface every execution venue implements (paper, Tradier, Alpaca).

Contract (what the Position Service relies on):

- ``submit(order)`` is idempotent by ``order.client_order_id``: a broker that already knows that
  id returns the existing order's state and never creates a second order. A broker whose API
  cannot guarantee this must look the id up (``status``) before sending.
- ``status(client_order_id)`` returns ``None`` when the broker never saw the id; this is how a
  submission that timed out is resolved (accepted or not) before it is retried.
- Prices are per share in USD (an option's premium, not x100); quantities are contracts for
  options and shares for stock. Fees are USD per order (all contracts together).
- Live brokers call ``require_live_trading`` before ``submit``/``cancel``: they refuse to trade
  (``LiveTradingDisabled``) unless ``WHEELFLOW_LIVE_TRADING=true``.
- Network failures raise ``BrokerTimeout`` (outcome unknown, safe to resolve with ``status``) or
  another ``ProviderError``; a refused order is returned with status ``rejected`` and a message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from wheelflow.errors import LiveTradingDisabled, ProviderError

OrderSide = Literal[
    "sell_to_open",  # write a put or call
    "buy_to_close",  # close a short option
    "buy_to_open",
    "sell_to_close",
    "buy",  # stock
    "sell",  # stock
]
OrderStatus = Literal[
    "pending",  # known locally, not yet acknowledged by the broker
    "submitted",  # working at the broker
    "partially_filled",
    "filled",
    "cancelled",
    "rejected",
    "expired",
]
OPEN_STATUSES: frozenset[str] = frozenset({"pending", "submitted", "partially_filled"})
FINAL_STATUSES: frozenset[str] = frozenset({"filled", "cancelled", "rejected", "expired"})

OPTION_SIDES: frozenset[str] = frozenset(
    {"sell_to_open", "buy_to_close", "buy_to_open", "sell_to_close"}
)
CONTRACT_MULTIPLIER = 100  # shares per US equity option contract


class BrokerTimeout(ProviderError):
    """The broker did not answer in time; the order may or may not have been accepted."""

    def __init__(self, message: str, *, provider: str = "") -> None:
        super().__init__(message, provider=provider, retryable=True)


@dataclass(frozen=True)
class OrderRequest:
    """An order as the Position Service decides it.

    ``client_order_id`` is derived from the decision (account, snapshot, action, contract), so
    the same decision always yields the same id.
    """

    client_order_id: str
    account: str
    symbol: str  # the underlying
    side: OrderSide
    quantity: int  # contracts (options) or shares (stock), > 0
    limit_price: float | None  # USD per share; None for market orders
    occ_symbol: str | None = None  # None for stock orders
    order_type: Literal["limit", "market"] = "limit"
    time_in_force: Literal["day", "gtc"] = "day"
    snapshot_at: dt.datetime | None = None  # naive UTC market snapshot the decision used
    reason: str | None = None  # why the decision was taken, for the audit trail

    @property
    def is_option(self) -> bool:
        return self.side in OPTION_SIDES

    @property
    def multiplier(self) -> int:
        return CONTRACT_MULTIPLIER if self.is_option else 1


@dataclass(frozen=True)
class Fill:
    """One execution of (part of) an order."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    occ_symbol: str | None
    side: OrderSide
    quantity: int  # contracts or shares
    price: float  # USD per share
    fees: float  # USD for this fill
    filled_at: dt.datetime  # naive UTC


@dataclass(frozen=True)
class OrderState:
    """The broker's view of one order."""

    client_order_id: str
    broker_order_id: str | None
    status: OrderStatus
    filled_quantity: int = 0
    average_fill_price: float | None = None  # USD per share
    fees: float = 0.0  # USD, all fills
    fills: tuple[Fill, ...] = ()
    message: str | None = None  # the broker's reason for a rejection

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class BrokerPosition:
    """A position as the broker reports it (quantity < 0 is short)."""

    account: str
    symbol: str  # the underlying
    asset_type: Literal["stock", "option"]
    quantity: int  # shares or contracts
    average_price: float  # USD per share
    occ_symbol: str | None = None


@dataclass(frozen=True)
class Balances:
    """Cash and buying power of an account, USD."""

    account: str
    cash: float
    buying_power: float  # cash not committed as collateral of short puts
    collateral: float = 0.0  # cash reserved for open short puts (strike x 100 x contracts)
    extra: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Broker(Protocol):
    """What every execution venue implements; see the module docstring for the contract."""

    name: str
    live: bool  # True for brokers that move real money (gated by WHEELFLOW_LIVE_TRADING)

    def submit(self, order: OrderRequest) -> OrderState:
        """Send ``order``; idempotent by ``client_order_id``."""
        ...

    def cancel(self, client_order_id: str) -> OrderState:
        """Cancel a working order; a final order is returned unchanged."""
        ...

    def status(self, client_order_id: str) -> OrderState | None:
        """The order's current state, or None if the broker never received it."""
        ...

    def positions(self, account: str) -> list[BrokerPosition]:
        """Open positions of ``account``."""
        ...

    def balances(self, account: str) -> Balances:
        """Cash and buying power of ``account``."""
        ...


def require_live_trading(live_trading_enabled: bool, broker_name: str) -> None:
    """Refuse to trade with a live broker unless ``WHEELFLOW_LIVE_TRADING=true``."""
    if not live_trading_enabled:
        raise LiveTradingDisabled(
            f"{broker_name}: live trading is disabled; set WHEELFLOW_LIVE_TRADING=true "
            "(and configure the broker's credentials) to send real orders"
        )


def check_order(order: OrderRequest) -> str | None:
    """The reason ``order`` is malformed, or None. Brokers reject such orders, never crash."""
    if order.quantity <= 0:
        return f"quantity must be positive, got {order.quantity}"
    if order.order_type == "limit" and (order.limit_price is None or order.limit_price < 0):
        return f"limit order needs a non-negative limit_price, got {order.limit_price}"
    if order.is_option and not order.occ_symbol:
        return f"{order.side} needs an occ_symbol"
    if not order.client_order_id or len(order.client_order_id) > 64:
        return "client_order_id must be 1-64 characters"
    return None
