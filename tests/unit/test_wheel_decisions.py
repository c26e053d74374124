"""What the wheel opens, closes and rolls, on hand-made rankings (prices per share, USD)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from wheelflow.occ import occ_symbol
from wheelflow.strategy.config import StrategyConfig, parse_strategy_config
from wheelflow.strategy.decisions import Decision, decide
from wheelflow.strategy.wheel import WheelCycle, WheelEvent, WheelState, apply_event

SNAP = dt.datetime(2026, 12, 1, 21, 0)
TODAY = SNAP.date()
NEAR = dt.date(2026, 12, 4)  # 3 days out
FAR = dt.date(2026, 12, 31)  # 30 days out


def _row(
    symbol: str, right: str, strike: float, bid: float = 1.0, ask: float = 1.1, **kw: Any
) -> dict:
    expiration = kw.pop("expiration", FAR)
    row = {
        "strategy": "csp" if right == "P" else "cc",
        "occ_symbol": occ_symbol(symbol, expiration, right, strike),
        "underlying": symbol,
        "expiration": pd.Timestamp(expiration),
        "strike": strike,
        "right": right,
        "bid": bid,
        "ask": ask,
        "delta": -0.25 if right == "P" else 0.25,
        "days_to_expiry": (expiration - TODAY).days,
        "open_interest": 500,
        "score": 1.0,
        "blocked": False,
    }
    row.update(kw)
    row["spread_pct"] = (row["ask"] - row["bid"]) / ((row["ask"] + row["bid"]) / 2)
    return row


def _rankings(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def _quotes(**prices: float | tuple[float, float]) -> pd.DataFrame:
    rows = []
    for sym, p in prices.items():
        last, prev = p if isinstance(p, tuple) else (p, p)
        rows.append({"symbol": sym, "last": last, "prev_close": prev})
    return pd.DataFrame(rows, columns=["symbol", "last", "prev_close"])


def _marks(mids: dict[str | None, tuple[float, float]] | None = None) -> pd.DataFrame:
    rows = [{"occ_symbol": occ, "bid": b, "ask": a} for occ, (b, a) in (mids or {}).items()]
    return pd.DataFrame(rows, columns=["occ_symbol", "bid", "ask"])


def _config(**sections: dict[str, Any]) -> StrategyConfig:
    base: dict[str, Any] = {"wheel": {"slippage": 0.0}}
    for key, values in sections.items():
        base[key] = {**base.get(key, {}), **values}
    return parse_strategy_config(base)


def _decide(
    rankings: pd.DataFrame,
    book: dict[str, WheelCycle] | None = None,
    marks: pd.DataFrame | None = None,
    quotes: pd.DataFrame | None = None,
    config: StrategyConfig | None = None,
    buying_power: float = 100_000.0,
    equity: float = 100_000.0,
) -> list[Decision]:
    return decide(
        rankings,
        book or {},
        marks if marks is not None else _marks(),
        quotes if quotes is not None else _quotes(XYZ=52.0, ABC=30.0),
        buying_power=buying_power,
        equity=equity,
        config=config or _config(),
        snapshot_at=SNAP,
        as_of=TODAY,
    )


def _short_put(
    strike: float = 50.0, premium: float = 1.0, expiration: dt.date = NEAR
) -> WheelCycle:
    occ = occ_symbol("XYZ", expiration, "P", strike)
    event = WheelEvent("put_sold", 1, premium, occ_symbol=occ, strike=strike, expiration=expiration)
    return apply_event(WheelCycle("XYZ"), event).after


def _long_stock(assigned_at: float = 50.0) -> WheelCycle:
    cycle = _short_put(assigned_at)
    return apply_event(cycle, WheelEvent("put_assigned", 1)).after  # basis 49.00


def _short_call(strike: float, premium: float = 0.5, expiration: dt.date = NEAR) -> WheelCycle:
    occ = occ_symbol("XYZ", expiration, "C", strike)
    event = WheelEvent(
        "call_sold", 1, premium, occ_symbol=occ, strike=strike, expiration=expiration
    )
    return apply_event(_long_stock(), event).after


# ---------------------------------------------------------------- opening puts and sizing


def test_opens_the_best_scored_put_per_idle_symbol() -> None:
    ranked = _rankings(
        _row("XYZ", "P", 48.0, 0.9, 1.0, score=0.5), _row("XYZ", "P", 50.0, 1.1, 1.2, score=0.9)
    )
    [decision] = _decide(ranked)
    assert (decision.action, decision.leg.strike, decision.leg.side) == (
        "open_put",
        50.0,
        "sell_to_open",
    )


def test_put_contracts_are_floor_of_allocation_over_strike_times_100() -> None:
    config = _config(wheel={"symbol_weights": {"XYZ": 0.12}, "max_allocation": 0.12})
    [decision] = _decide(_rankings(_row("XYZ", "P", 50.0, 1.1, 1.2)), config=config)
    assert decision.leg.quantity == 2  # floor(12,000 / 5,000)


def test_put_size_never_exceeds_available_cash() -> None:
    config = _config(
        wheel={"max_allocation": 1.0, "default_weight": 1.0, "max_new_buying_power_share": 1.0}
    )
    [decision] = _decide(
        _rankings(_row("XYZ", "P", 50.0, 1.1, 1.2)), config=config, buying_power=12_000.0
    )
    assert decision.leg.quantity == 2


def test_new_puts_share_the_runs_buying_power_budget() -> None:
    config = _config(
        wheel={"max_allocation": 0.5, "default_weight": 0.5, "max_new_buying_power_share": 0.1}
    )
    ranked = _rankings(
        _row("XYZ", "P", 50.0, 1.1, 1.2, score=2.0), _row("ABC", "P", 28.0, 0.6, 0.7)
    )
    decisions = _decide(ranked, config=config, buying_power=100_000.0)
    assert [(d.symbol, d.leg.quantity) for d in decisions] == [("XYZ", 2)]  # 10,000 budget


def test_symbols_already_in_the_wheel_get_no_new_put() -> None:
    assert _decide(_rankings(_row("XYZ", "P", 45.0, 1.1, 1.2)), book={"XYZ": _long_stock()}) == []


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ({"delta": -0.60}, "delta outside target +- tolerance"),
        ({"days_to_expiry": 90}, "beyond max DTE"),
        ({"open_interest": 3}, "open interest below minimum"),
        ({"bid": 0.40, "ask": 1.20}, "spread too wide"),
        ({"bid": 0.04, "ask": 0.05}, "credit below minimum"),
        ({"blocked": True}, "blocked by the pipeline's risk check"),
    ],
)
def test_candidates_failing_an_opening_rule_are_skipped(override: dict, why: str) -> None:
    quote = {"bid": 1.1, "ask": 1.2} | override
    row = _row("XYZ", "P", 50.0, **quote)
    assert _decide(_rankings(row)) == [], why


def test_puts_only_on_red_days_skips_a_green_day() -> None:
    config = _config(wheel={"puts_only_on_red_days": True})
    ranked = _rankings(_row("XYZ", "P", 50.0, 1.1, 1.2))
    assert _decide(ranked, quotes=_quotes(XYZ=(52.0, 51.0)), config=config) == []
    assert len(_decide(ranked, quotes=_quotes(XYZ=(52.0, 53.0)), config=config)) == 1


def test_limit_price_gives_up_the_slippage_share_of_the_half_spread() -> None:
    config = _config(wheel={"slippage": 0.5})
    [decision] = _decide(_rankings(_row("XYZ", "P", 50.0, 1.10, 1.30)), config=config)
    assert decision.leg.limit_price == pytest.approx(1.15)


def test_client_order_id_is_the_same_for_the_same_decision_and_snapshot() -> None:
    ranked = _rankings(_row("XYZ", "P", 50.0, 1.1, 1.2))
    first, second = _decide(ranked)[0], _decide(ranked)[0]
    assert first.client_order_id() == second.client_order_id()
    later = Decision(
        first.action, first.account, first.symbol, SNAP + dt.timedelta(days=1), first.leg, ""
    )
    assert later.client_order_id() != first.client_order_id()


# ---------------------------------------------------------------- covered calls


def test_covered_call_is_written_on_assigned_shares_at_or_above_cost_basis() -> None:
    ranked = _rankings(
        _row("XYZ", "C", 48.0, 1.5, 1.6, score=3.0), _row("XYZ", "C", 51.0, 0.5, 0.6)
    )
    [decision] = _decide(ranked, book={"XYZ": _long_stock()})
    assert (decision.action, decision.leg.strike, decision.leg.quantity) == ("open_call", 51.0, 1)


def test_calls_only_on_green_days_waits_on_a_red_day() -> None:
    config = _config(wheel={"calls_only_on_green_days": True})
    ranked = _rankings(_row("XYZ", "C", 51.0, 0.5, 0.6))
    assert (
        _decide(ranked, {"XYZ": _long_stock()}, quotes=_quotes(XYZ=(49.0, 50.0)), config=config)
        == []
    )


# ---------------------------------------------------------------- managing open shorts


def test_short_put_is_closed_at_the_profit_target() -> None:
    cycle = _short_put(premium=1.0, expiration=FAR)
    [decision] = _decide(_rankings(), {"XYZ": cycle}, _marks({cycle.option_occ: (0.45, 0.50)}))
    assert (decision.action, decision.leg.side, decision.leg.limit_price) == (
        "close",
        "buy_to_close",
        0.48,
    )


def test_short_put_below_the_profit_target_is_held() -> None:
    cycle = _short_put(premium=1.0, expiration=FAR)
    assert _decide(_rankings(), {"XYZ": cycle}, _marks({cycle.option_occ: (0.60, 0.70)})) == []


def test_otm_put_near_expiry_is_rolled_out_for_a_credit() -> None:
    cycle = _short_put(premium=1.0)  # 3 DTE, 40% captured: below the profit target
    ranked = _rankings(_row("XYZ", "P", 49.0, 0.9, 1.0))
    [decision] = _decide(ranked, {"XYZ": cycle}, _marks({cycle.option_occ: (0.55, 0.65)}))
    assert decision.action == "roll"
    assert decision.roll_to is not None and decision.roll_to.expiration == FAR


def test_roll_for_credit_only_refuses_a_debit_roll() -> None:
    cycle = _short_put(premium=1.0)
    ranked = _rankings(_row("XYZ", "P", 45.0, 0.3, 0.35, delta=-0.15))
    assert _decide(ranked, {"XYZ": cycle}, _marks({cycle.option_occ: (0.55, 0.65)})) == []


def test_roll_needs_the_minimum_pnl() -> None:
    config = _config(management={"roll_min_pnl": 0.5})
    cycle = _short_put(premium=1.0)
    ranked = _rankings(_row("XYZ", "P", 49.0, 0.9, 1.0))
    assert (
        _decide(ranked, {"XYZ": cycle}, _marks({cycle.option_occ: (0.55, 0.65)}), config=config)
        == []
    )


def test_itm_call_near_expiry_is_left_to_be_called_away_by_default() -> None:
    cycle = _short_call(51.0)
    ranked = _rankings(_row("XYZ", "C", 55.0, 1.5, 1.6))
    marks = _marks({cycle.option_occ: (1.9, 2.1)})
    assert _decide(ranked, {"XYZ": cycle}, marks, quotes=_quotes(XYZ=53.0)) == []


def test_itm_call_is_rolled_up_and_out_when_configured() -> None:
    config = _config(management={"roll_itm_calls": True, "roll_for_credit_only": False})
    cycle = _short_call(51.0)
    ranked = _rankings(_row("XYZ", "C", 55.0, 1.5, 1.6))
    marks = _marks({cycle.option_occ: (1.9, 2.1)})
    [decision] = _decide(ranked, {"XYZ": cycle}, marks, quotes=_quotes(XYZ=53.0), config=config)
    assert decision.roll_to is not None and decision.roll_to.strike == 55.0


def test_a_call_is_never_rolled_below_the_cost_basis() -> None:
    config = _config(management={"roll_for_credit_only": False})
    cycle = _short_call(50.0, premium=0.5)  # OTM at 45; basis 48.50
    ranked = _rankings(_row("XYZ", "C", 47.0, 0.9, 1.0))
    marks = _marks({cycle.option_occ: (0.28, 0.32)})
    assert cycle.state is WheelState.SHORT_CALL
    assert _decide(ranked, {"XYZ": cycle}, marks, quotes=_quotes(XYZ=45.0), config=config) == []


def test_a_short_without_a_usable_quote_is_held_not_crashed_on() -> None:
    cycle = _short_put(premium=1.0, expiration=FAR)
    marks = _marks({cycle.option_occ: (float("nan"), 0.5)})
    assert _decide(_rankings(), {"XYZ": cycle}, marks) == []
