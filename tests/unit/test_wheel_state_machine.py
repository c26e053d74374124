"""The wheel state machine on hand-made scenarios (prices per share, fees and P&L in USD)."""

from __future__ import annotations

import datetime as dt

import pytest

from wheelflow.strategy.wheel import (
    InvalidTransition,
    WheelCycle,
    WheelEvent,
    WheelState,
    apply_event,
    early_assignment_risk,
    expiration_event,
)

EXP = dt.date(2026, 12, 18)


def _short_put(strike: float = 50.0, premium: float = 1.20, contracts: int = 1) -> WheelCycle:
    sold = WheelEvent("put_sold", contracts, premium, fees=0.65, strike=strike, expiration=EXP)
    return apply_event(WheelCycle("XYZ"), sold).after


def _long_stock() -> WheelCycle:
    return apply_event(_short_put(), WheelEvent("put_assigned", 1)).after


def _short_call(strike: float = 52.0, premium: float = 0.80) -> WheelCycle:
    sold = WheelEvent("call_sold", 1, premium, fees=0.65, strike=strike, expiration=EXP)
    return apply_event(_long_stock(), sold).after


def test_selling_a_put_moves_cash_to_short_put_and_collects_premium_less_fees() -> None:
    t = apply_event(
        WheelCycle("XYZ"),
        WheelEvent("put_sold", 2, 1.20, fees=1.30, strike=50.0, expiration=EXP),
    )
    assert t.after.state is WheelState.SHORT_PUT
    assert t.cash_flow == pytest.approx(2 * 120.0 - 1.30)
    assert t.after.collateral == pytest.approx(10_000.0)


def test_put_expiring_worthless_returns_to_cash_and_keeps_the_premium() -> None:
    t = apply_event(_short_put(), WheelEvent("put_expired", 1))
    assert t.after.state is WheelState.CASH
    assert t.after.closed
    assert t.realized_pnl == pytest.approx(120.0 - 0.65)


def test_put_bought_back_returns_to_cash_with_premium_less_debit() -> None:
    t = apply_event(_short_put(), WheelEvent("put_bought_back", 1, 0.60, fees=0.65))
    assert t.after.state is WheelState.CASH
    assert t.realized_pnl == pytest.approx(120.0 - 60.0 - 1.30)


def test_put_assigned_opens_stock_position_at_strike() -> None:
    t = apply_event(_short_put(), WheelEvent("put_assigned", 1))
    assert t.after.state is WheelState.LONG_STOCK
    assert t.after.shares == 100
    assert t.after.assignment_price == 50.0
    assert t.cash_flow == pytest.approx(-5_000.0)
    assert not t.after.closed


def test_cost_basis_is_assignment_price_less_premiums_net_of_fees() -> None:
    assert _long_stock().cost_basis == pytest.approx(50.0 - (120.0 - 0.65) / 100)


def test_selling_a_covered_call_moves_long_stock_to_short_call() -> None:
    cycle = _short_call()
    assert cycle.state is WheelState.SHORT_CALL
    assert cycle.cost_basis == pytest.approx(50.0 - (200.0 - 1.30) / 100)


def test_call_expiring_returns_to_long_stock_keeping_the_shares() -> None:
    t = apply_event(_short_call(), WheelEvent("call_expired", 1))
    assert t.after.state is WheelState.LONG_STOCK
    assert t.after.shares == 100


def test_call_bought_back_returns_to_long_stock() -> None:
    t = apply_event(_short_call(), WheelEvent("call_bought_back", 1, 0.30, fees=0.65))
    assert t.after.state is WheelState.LONG_STOCK
    assert t.cash_flow == pytest.approx(-30.65)


def test_full_cycle_put_assignment_call_called_away_realizes_hand_computed_pnl() -> None:
    # sell 1 put 50 @ 1.20 (fee 0.65): +119.35; assigned at 50: -5000
    # sell 1 call 52 @ 0.80 (fee 0.65): +79.35; called away at 52: +5200
    # realized = premiums 200 - fees 1.30 + stock gain (52 - 50) x 100 = 398.70
    t = apply_event(_short_call(), WheelEvent("called_away", 1))
    assert t.after.state is WheelState.CASH
    assert t.after.closed
    assert t.after.shares == 0
    assert t.realized_pnl == pytest.approx(398.70)
    assert t.after.premium_collected == pytest.approx(200.0)
    assert t.after.fees == pytest.approx(1.30)


def test_rolling_a_put_keeps_short_put_and_books_the_net_credit() -> None:
    roll = WheelEvent(
        "put_rolled", 1, 1.50, close_price=0.40, fees=1.30, strike=48.0, expiration=EXP
    )
    t = apply_event(_short_put(), roll)
    assert t.after.state is WheelState.SHORT_PUT
    assert t.after.option_strike == 48.0
    assert t.cash_flow == pytest.approx(150.0 - 40.0 - 1.30)
    assert t.after.premium_collected == pytest.approx(120.0 - 40.0 + 150.0)


def test_rolling_a_call_keeps_short_call_with_the_new_strike() -> None:
    roll = WheelEvent(
        "call_rolled", 1, 0.90, close_price=0.70, fees=1.30, strike=53.0, expiration=EXP
    )
    t = apply_event(_short_call(), roll)
    assert t.after.state is WheelState.SHORT_CALL
    assert t.after.option_strike == 53.0
    assert t.cash_flow == pytest.approx(90.0 - 70.0 - 1.30)


@pytest.mark.parametrize(
    ("cycle", "kind"),
    [
        (WheelCycle("XYZ"), "call_sold"),
        (WheelCycle("XYZ"), "put_assigned"),
        (WheelCycle("XYZ", state=WheelState.LONG_STOCK, shares=100), "put_sold"),
        (WheelCycle("XYZ", state=WheelState.SHORT_PUT, contracts=1), "called_away"),
    ],
)
def test_events_the_state_does_not_allow_are_refused(cycle: WheelCycle, kind: str) -> None:
    with pytest.raises(InvalidTransition, match="not allowed"):
        apply_event(cycle, WheelEvent(kind, 1, 1.0))  # type: ignore[arg-type]


def test_naked_calls_are_refused() -> None:
    with pytest.raises(InvalidTransition, match="no naked calls"):
        apply_event(_long_stock(), WheelEvent("call_sold", 2, 0.8, strike=52.0))


def test_a_closed_cycle_accepts_no_more_events() -> None:
    closed = apply_event(_short_put(), WheelEvent("put_expired", 1)).after
    with pytest.raises(InvalidTransition, match="closed"):
        apply_event(closed, WheelEvent("put_sold", 1, 1.0, strike=50.0))


@pytest.mark.parametrize(
    ("close", "kind"), [(49.99, "put_assigned"), (50.0, "put_expired"), (55.0, "put_expired")]
)
def test_short_put_at_expiry_is_assigned_only_below_the_strike(close: float, kind: str) -> None:
    event = expiration_event(_short_put(), EXP, close)
    assert event is not None and event.kind == kind


@pytest.mark.parametrize(
    ("close", "kind"), [(52.01, "called_away"), (52.0, "call_expired"), (45.0, "call_expired")]
)
def test_short_call_at_expiry_is_called_away_only_above_the_strike(close: float, kind: str) -> None:
    event = expiration_event(_short_call(), EXP, close)
    assert event is not None and event.kind == kind


def test_no_expiration_event_before_the_expiry_date() -> None:
    assert expiration_event(_short_put(), EXP - dt.timedelta(days=1), 10.0) is None


def test_unrealized_pnl_marks_shares_and_short_call_to_market() -> None:
    cycle = _short_call()  # cash flow so far: 119.35 - 5000 + 79.35
    assert cycle.unrealized_pnl(51.0, 0.50) == pytest.approx(-4801.30 + 5100.0 - 50.0)


def test_itm_call_with_little_time_value_before_ex_dividend_is_flagged() -> None:
    ex_date = EXP - dt.timedelta(days=3)
    assert early_assignment_risk(_short_call(), 55.0, 3.05, ex_date, 0.20, ex_date)
    assert not early_assignment_risk(_short_call(), 50.0, 0.30, ex_date, 0.20, ex_date)
