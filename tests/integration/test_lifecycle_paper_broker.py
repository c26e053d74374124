"""The paper broker against stored quotes, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import Engine, text

from tests.integration._lifecycle_market import DAY1, EXPIRY, SYMBOL, put_occ, store_quote
from wheelflow.execution.broker import Broker, OrderRequest
from wheelflow.execution.paper import PaperBroker


def _sell_put(cid: str = "wf-test-1", limit: float = 1.10, quantity: int = 1) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        account="paper",
        symbol=SYMBOL,
        side="sell_to_open",
        quantity=quantity,
        limit_price=limit,
        occ_symbol=put_occ(),
        snapshot_at=DAY1,
    )


@pytest.fixture
def broker(engine: Engine) -> PaperBroker:
    store_quote(engine, DAY1, 52.0, {put_occ(): (1.10, 1.30)})
    paper = PaperBroker(engine, slippage=0.5, fee_per_contract=0.65, starting_cash=10_000.0)
    paper.open_account("paper")
    return paper


def test_paper_broker_implements_the_broker_protocol(broker: PaperBroker) -> None:
    assert isinstance(broker, Broker)


def test_sell_fills_at_mid_less_slippage_share_of_half_spread(broker: PaperBroker) -> None:
    state = broker.submit(_sell_put())
    assert state.status == "filled"
    assert state.average_fill_price == pytest.approx(1.20 - 0.5 * 0.10)
    assert state.fees == pytest.approx(0.65)


def test_filled_put_credits_cash_and_opens_a_short_position(broker: PaperBroker) -> None:
    broker.submit(_sell_put())
    assert broker.balances("paper").cash == pytest.approx(10_000.0 + 115.0 - 0.65)
    [position] = broker.positions("paper")
    assert (position.occ_symbol, position.quantity) == (put_occ(), -1)


def test_short_put_collateral_reduces_buying_power(broker: PaperBroker) -> None:
    broker.submit(_sell_put())
    balances = broker.balances("paper")
    assert balances.collateral == pytest.approx(5_000.0)
    assert balances.buying_power == pytest.approx(balances.cash - 5_000.0)


def test_limit_better_than_the_fill_price_rests_unfilled(broker: PaperBroker) -> None:
    state = broker.submit(_sell_put(limit=1.25))
    assert state.status == "submitted"
    assert broker.balances("paper").cash == pytest.approx(10_000.0)


def test_cancel_of_a_resting_order_cancels_it(broker: PaperBroker) -> None:
    broker.submit(_sell_put(limit=1.25))
    assert broker.cancel("wf-test-1").status == "cancelled"


def test_order_without_a_stored_quote_is_rejected_with_the_reason(broker: PaperBroker) -> None:
    order = dataclasses.replace(_sell_put(), snapshot_at=DAY1 + dt.timedelta(days=1))
    state = broker.submit(order)
    assert state.status == "rejected"
    assert state.message is not None and "no quote" in state.message


def test_put_beyond_the_cash_is_rejected_as_not_cash_secured(broker: PaperBroker) -> None:
    state = broker.submit(_sell_put(quantity=3))  # 15,000 of collateral, 10,000 of cash
    assert state.status == "rejected"
    assert state.message is not None and "insufficient buying power" in state.message


def test_the_same_client_order_id_submitted_twice_is_one_order(
    broker: PaperBroker, engine: Engine
) -> None:
    first = broker.submit(_sell_put())
    second = broker.submit(_sell_put())
    assert first == second
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM orders")).scalar_one() == 1
    assert broker.balances("paper").cash == pytest.approx(10_000.0 + 115.0 - 0.65)


def test_paper_state_survives_a_restart(broker: PaperBroker, engine: Engine) -> None:
    broker.submit(_sell_put())
    restarted = PaperBroker(engine)
    state = restarted.status("wf-test-1")
    assert state is not None and state.status == "filled"
    assert restarted.positions("paper")[0].quantity == -1


def test_status_of_an_unknown_order_is_none(broker: PaperBroker) -> None:
    assert broker.status("wf-never-sent") is None


def test_itm_put_at_expiry_is_assigned_shares_at_the_strike(
    broker: PaperBroker, engine: Engine
) -> None:
    broker.submit(_sell_put())
    store_quote(engine, dt.datetime.combine(EXPIRY, dt.time(21)), 47.0)
    [settlement] = broker.settle_expirations("paper", EXPIRY)
    assert settlement.outcome == "assigned"
    [stock] = broker.positions("paper")
    assert (stock.asset_type, stock.quantity, stock.average_price) == ("stock", 100, 50.0)
    assert broker.balances("paper").cash == pytest.approx(10_000.0 + 114.35 - 5_000.0)


def test_otm_put_at_expiry_expires_and_settling_again_does_nothing(
    broker: PaperBroker, engine: Engine
) -> None:
    broker.submit(_sell_put())
    store_quote(engine, dt.datetime.combine(EXPIRY, dt.time(21)), 55.0)
    assert [s.outcome for s in broker.settle_expirations("paper", EXPIRY)] == ["expired"]
    assert broker.settle_expirations("paper", EXPIRY) == []
    assert broker.positions("paper") == []
