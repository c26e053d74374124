"""The per-broker fee schedule of the strategy file and what it costs per contract."""

from __future__ import annotations

import numpy as np
import pytest

from wheelflow.errors import ConfigError
from wheelflow.strategy.config import parse_strategy_config
from wheelflow.strategy.fees import trade_fees


def test_the_default_schedule_is_the_paper_brokers() -> None:
    fees = parse_strategy_config({}).fees
    assert fees.broker == "paper"
    assert sorted(fees.brokers) == ["alpaca", "paper", "tradier"]
    assert fees.schedule.commission_per_contract == 0.65


def test_a_broker_table_overrides_its_built_in_keys_one_by_one() -> None:
    cfg = parse_strategy_config(
        {"fees": {"broker": "tradier", "brokers": {"tradier": {"assignment_fee": 5.0}}}}
    )
    assert cfg.fees.schedule.commission_per_contract == 0.35  # built in, kept
    assert cfg.fees.schedule.assignment_fee == 5.0  # overridden
    assert cfg.fees.brokers["alpaca"].commission_per_contract == 0.0  # untouched broker kept


def test_a_new_broker_starts_from_the_generic_defaults() -> None:
    cfg = parse_strategy_config(
        {"fees": {"broker": "ibkr", "brokers": {"ibkr": {"commission_per_contract": 0.25}}}}
    )
    assert cfg.fees.schedule.commission_per_contract == 0.25
    assert cfg.fees.schedule.orf_per_contract == pytest.approx(0.02295)


def test_selecting_a_broker_without_a_table_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"fees: .*'schwab' has no fee table .*alpaca, paper"):
        parse_strategy_config({"fees": {"broker": "schwab"}})


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"commission_per_contract": -1}, "fees.brokers.paper.commission_per_contract"),
        ({"comission_per_contract": 1}, "fees.brokers.paper.comission_per_contract"),
        ({"sec_fee_rate": 0.5}, "fees.brokers.paper.sec_fee_rate"),
    ],
)
def test_a_bad_fee_is_an_error_naming_the_key(table: dict[str, float], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_strategy_config({"fees": {"brokers": {"paper": table}}})


def test_selling_pays_commission_regulatory_and_sell_only_fees() -> None:
    paper = parse_strategy_config({}).fees.schedule
    # 0.65 + 0.02295 ORF + 0.02 OCC + 0.00279 TAF + 0.0000278 x 0.50 x 100 SEC = 0.6971
    sell = trade_fees(paper, np.array([0.50]), "sell")
    assert sell[0] == pytest.approx(0.65 + 0.02295 + 0.02 + 0.00279 + 0.00139, abs=1e-9)
    # Buying to close: no TAF, no SEC fee.
    buy = trade_fees(paper, np.array([0.50]), "buy")
    assert buy[0] == pytest.approx(0.65 + 0.02295 + 0.02, abs=1e-9)


def test_an_order_fee_is_spread_over_the_contracts_of_the_order() -> None:
    cfg = parse_strategy_config({"fees": {"brokers": {"paper": {"commission_per_order": 1.0}}}})
    one = trade_fees(cfg.fees.schedule, np.array([1.0]), "buy")
    four = trade_fees(cfg.fees.schedule, np.array([1.0]), "buy", contracts_per_order=4)
    assert one[0] - four[0] == pytest.approx(0.75)
