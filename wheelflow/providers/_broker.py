"""The order flow the HTTP brokers (Tradier, Alpaca) share; each supplies the wire format.

``submit`` rejects malformed orders locally, refuses live trading unless enabled, looks the
client order id up first (never sends an order twice), maps an unreachable broker to
``BrokerTimeout`` (outcome unknown: resolve with ``status``) and a 4xx answer to a rejection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from wheelflow.errors import ProviderError
from wheelflow.execution.broker import (
    CONTRACT_MULTIPLIER,
    BrokerPosition,
    BrokerTimeout,
    OrderRequest,
    OrderState,
    check_order,
    require_live_trading,
)
from wheelflow.occ import OCC_PATTERN
from wheelflow.providers.http import ProviderClient, ProviderHTTPError, ProviderUnreachable

T = TypeVar("T")


def read_payload(provider: str, what: str, parse: Callable[[], T]) -> T:
    """Run ``parse``; a payload of the wrong shape becomes a ``ProviderError`` naming ``what``."""
    try:
        return parse()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProviderError(f"{provider}: unreadable {what}: {exc!r}", provider=provider) from None


# (symbol, signed quantity, total cost in USD or None, average price per share or None)
RawPosition = tuple[str, float, float | None, float | None]


def positions_from(
    records: list[Any], account: str, provider: str, read: Callable[[dict[str, Any]], RawPosition]
) -> list[BrokerPosition]:
    """Broker position records -> ``BrokerPosition``s; an OCC symbol is an option on its root.

    ``read`` pulls the raw fields of one record. The average price per share comes from the
    record or, failing that, from its total cost (/100 per contract for options). A record that
    cannot be read raises ``ProviderError`` naming it (the run shows what the broker sent).
    """
    positions = []
    for record in records:
        try:
            symbol, quantity, total_cost, average = read(record)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(
                f"{provider}: unreadable position {record!r}: {exc!r}", provider=provider
            ) from None
        occ = OCC_PATTERN.match(symbol.strip())
        multiplier = CONTRACT_MULTIPLIER if occ else 1
        if average is None:
            average = abs(total_cost or 0.0) / (abs(quantity) * multiplier) if quantity else 0.0
        positions.append(
            BrokerPosition(
                account=account,
                symbol=occ["root"] if occ else symbol,
                asset_type="option" if occ else "stock",
                quantity=int(quantity),
                average_price=float(average),
                occ_symbol=symbol.replace(" ", "") if occ else None,
            )
        )
    return positions


class HttpBroker:
    """Template for a broker over HTTP: subclasses implement ``status``, ``_send``, ``_cancel``."""

    name = "http"
    client: ProviderClient
    live: bool
    live_trading: bool

    def status(self, client_order_id: str) -> OrderState | None:
        raise NotImplementedError

    def _send(self, order: OrderRequest) -> OrderState:
        """Send a checked, not yet known order (no retries: sending is not idempotent)."""
        raise NotImplementedError

    def _cancel(self, state: OrderState) -> None:
        """Ask the broker to cancel the working order ``state``."""
        raise NotImplementedError

    def submit(self, order: OrderRequest) -> OrderState:
        problem = check_order(order)
        if problem:
            return OrderState(order.client_order_id, None, "rejected", message=problem)
        if self.live:
            require_live_trading(self.live_trading, self.name)
        existing = self.status(order.client_order_id)
        if existing is not None:
            return existing
        try:
            return self._send(order)
        except ProviderUnreachable as exc:
            raise BrokerTimeout(str(exc), provider=self.name) from None
        except ProviderHTTPError as exc:
            if exc.status_code >= 500 or exc.status_code == 429:
                raise
            return OrderState(order.client_order_id, None, "rejected", message=str(exc))

    def cancel(self, client_order_id: str) -> OrderState:
        state = self.status(client_order_id)
        if state is None:
            raise ProviderError(f"{self.name}: no order {client_order_id}", provider=self.name)
        if state.is_final:
            return state
        if self.live:
            require_live_trading(self.live_trading, self.name)
        self._cancel(state)
        return self.status(client_order_id) or state
