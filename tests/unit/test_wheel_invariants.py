"""Invariants of the wheel state machine over random legal event sequences (Hypothesis)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wheelflow.strategy.wheel import (
    SHARES_PER_CONTRACT,
    WheelCycle,
    WheelEvent,
    WheelState,
    apply_event,
)

EXP = dt.date(2026, 12, 18)
prices = st.floats(min_value=0.01, max_value=20.0, allow_nan=False)
strikes = st.floats(min_value=1.0, max_value=200.0, allow_nan=False)
fees = st.floats(min_value=0.0, max_value=5.0, allow_nan=False)


@st.composite
def wheel_paths(draw: st.DrawFn) -> list[WheelEvent]:
    """A legal path through the wheel: events allowed by the state each one meets."""
    state, contracts = WheelState.CASH, 0
    events: list[WheelEvent] = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        if state is WheelState.CASH:
            if events:
                break  # the cycle closed
            contracts = draw(st.integers(min_value=1, max_value=5))
            kind = "put_sold"
        elif state is WheelState.SHORT_PUT:
            kind = draw(
                st.sampled_from(["put_expired", "put_assigned", "put_bought_back", "put_rolled"])
            )
        elif state is WheelState.LONG_STOCK:
            kind = "call_sold"
        else:
            kind = draw(
                st.sampled_from(["call_expired", "called_away", "call_bought_back", "call_rolled"])
            )
        events.append(
            WheelEvent(
                kind,  # type: ignore[arg-type]
                contracts,
                draw(prices),
                close_price=draw(prices),
                fees=draw(fees),
                strike=draw(strikes),
                expiration=EXP,
            )
        )
        state = {
            "put_sold": WheelState.SHORT_PUT,
            "put_expired": WheelState.CASH,
            "put_bought_back": WheelState.CASH,
            "put_rolled": WheelState.SHORT_PUT,
            "put_assigned": WheelState.LONG_STOCK,
            "call_sold": WheelState.SHORT_CALL,
            "call_expired": WheelState.LONG_STOCK,
            "call_bought_back": WheelState.LONG_STOCK,
            "call_rolled": WheelState.SHORT_CALL,
            "called_away": WheelState.CASH,
        }[kind]
    return events


@settings(max_examples=300, deadline=None)
@given(wheel_paths())
def test_cycle_cash_flow_is_the_sum_of_its_transitions(events: list[WheelEvent]) -> None:
    cycle, total = WheelCycle("XYZ"), 0.0
    for event in events:
        step = apply_event(cycle, event)
        total += step.cash_flow
        cycle = step.after
    assert cycle.cash_flow == pytest.approx(total)


@settings(max_examples=300, deadline=None)
@given(wheel_paths())
def test_calls_are_always_covered_and_a_closed_cycle_holds_nothing(
    events: list[WheelEvent],
) -> None:
    cycle = WheelCycle("XYZ")
    for event in events:
        cycle = apply_event(cycle, event).after
        if cycle.state is WheelState.SHORT_CALL:
            assert cycle.contracts * SHARES_PER_CONTRACT <= cycle.shares
        assert cycle.collateral >= 0
    if cycle.closed:
        assert (cycle.shares, cycle.contracts) == (0, 0)
        assert cycle.realized_pnl == pytest.approx(cycle.cash_flow)


@settings(max_examples=300, deadline=None)
@given(wheel_paths())
def test_realized_pnl_is_net_premium_less_fees_plus_the_stock_result(
    events: list[WheelEvent],
) -> None:
    cycle, stock = WheelCycle("XYZ"), 0.0
    for event in events:
        before = cycle
        cycle = apply_event(cycle, event).after
        if event.kind == "put_assigned":
            stock -= float(before.option_strike or 0) * before.contracts * SHARES_PER_CONTRACT
        if event.kind == "called_away":
            stock += float(before.option_strike or 0) * before.contracts * SHARES_PER_CONTRACT
    if cycle.closed:
        assert cycle.realized_pnl == pytest.approx(cycle.premium_collected - cycle.fees + stock)
