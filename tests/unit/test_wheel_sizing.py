"""Position sizing and limit prices (USD; option prices per share)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wheelflow.strategy.config import WheelConfig
from wheelflow.strategy.sizing import (
    contracts_for_allocation,
    covered_call_contracts,
    limit_price,
    limit_prices,
    option_tick,
    round_to_tick,
    symbol_allocation,
)


@pytest.mark.parametrize(
    ("allocation", "strike", "cash", "contracts"),
    [
        (10_000.0, 25.0, 1e9, 4),  # floor(10,000 / 2,500)
        (9_999.0, 25.0, 1e9, 3),
        (10_000.0, 25.0, 5_000.0, 2),  # never above the available cash
        (10_000.0, 200.0, 1e9, 0),  # one contract would not fit
        (10_000.0, 0.0, 1e9, 0),
        (-5.0, 25.0, 1e9, 0),
    ],
)
def test_contracts_are_floor_of_allocation_over_collateral(
    allocation: float, strike: float, cash: float, contracts: int
) -> None:
    assert contracts_for_allocation(allocation, strike, cash) == contracts


def test_one_covered_call_per_hundred_shares() -> None:
    assert [covered_call_contracts(n) for n in (0, 99, 100, 250)] == [0, 0, 1, 2]


def test_symbol_allocation_is_weight_of_equity_capped_by_max_allocation() -> None:
    config = WheelConfig.model_validate(
        {"symbol_weights": {"AAA": 0.3, "BBB": 0.05}, "max_allocation": 0.2}
    )
    assert symbol_allocation("AAA", 100_000.0, config) == pytest.approx(20_000.0)
    assert symbol_allocation("BBB", 100_000.0, config) == pytest.approx(5_000.0)
    assert symbol_allocation("CCC", 100_000.0, config) == pytest.approx(5_000.0)  # default


def test_sell_limit_rounds_down_and_buy_limit_rounds_up_to_the_cent() -> None:
    assert limit_price(1.10, 1.31, "sell", 0.5) == pytest.approx(1.15)  # 1.2050 - 0.0525
    assert limit_price(1.10, 1.31, "buy", 0.5) == pytest.approx(1.26)  # 1.2050 + 0.0525


def test_bid_ask_mode_takes_the_touch() -> None:
    assert limit_price(1.10, 1.30, "sell", 0.5, "bid_ask") == 1.10
    assert limit_price(1.10, 1.30, "buy", 0.5, "bid_ask") == 1.30


@pytest.mark.parametrize(("bid", "ask"), [(float("nan"), 1.0), (1.2, 1.1), (-0.1, 0.2)])
def test_unusable_quotes_give_no_limit_price(bid: float, ask: float) -> None:
    assert math.isnan(limit_price(bid, ask, "sell", 0.25))


@pytest.mark.parametrize("side", ["sell", "buy"])
@pytest.mark.parametrize("mode", ["mid", "bid_ask"])
def test_vectorized_limit_prices_match_the_scalar_rule(side: str, mode: str) -> None:
    rng = np.random.default_rng(3)
    bid = np.round(rng.uniform(0, 5, 500), 2)
    ask = bid + np.round(rng.uniform(0, 0.5, 500), 2)
    bid[:3] = [np.nan, 1.0, -0.1]
    ask[:3] = [1.0, 0.5, 0.2]
    expected = [limit_price(b, a, side, 0.3, mode) for b, a in zip(bid, ask, strict=True)]  # type: ignore[arg-type]
    np.testing.assert_array_equal(limit_prices(bid, ask, side, 0.3, mode), expected)  # type: ignore[arg-type]


def test_option_ticks_are_penny_below_three_dollars_and_nickel_above_for_penny_classes() -> None:
    prices = np.array([0.50, 2.99, 3.00, 12.0])
    assert option_tick(prices).tolist() == [0.01, 0.01, 0.05, 0.05]
    assert option_tick(prices, penny_class=False).tolist() == [0.05, 0.05, 0.10, 0.10]
    assert round_to_tick(np.array([1.157, 3.27, 1.15]), True, "down").tolist() == [1.15, 3.25, 1.15]
    assert round_to_tick(np.array([1.151, 3.21]), True, "up").tolist() == [1.16, 3.25]
