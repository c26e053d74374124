"""Choosing the broker: paper by default; a live (real-money) one only when explicitly enabled."""

from __future__ import annotations

import importlib

from sqlalchemy import Engine

from wheelflow.errors import ConfigError
from wheelflow.execution.broker import Broker, require_live_trading
from wheelflow.execution.paper import PaperBroker
from wheelflow.settings import Settings
from wheelflow.strategy.config import StrategyConfig

# name -> "module:Class" of live brokers (implemented with the providers)
LIVE_BROKERS: dict[str, str] = {
    "tradier": "wheelflow.providers.tradier:TradierBroker",
    "alpaca": "wheelflow.providers.alpaca:AlpacaBroker",
}


def make_broker(name: str, engine: Engine, settings: Settings, config: StrategyConfig) -> Broker:
    """The broker called ``name``; a live one raises LiveTradingDisabled unless enabled."""
    if name == "paper":
        wheel = config.wheel
        return PaperBroker(
            engine,
            slippage=wheel.slippage,
            fee_per_contract=wheel.fee_per_contract,
            fee_per_order=wheel.fee_per_order,
            starting_cash=wheel.starting_cash,
        )
    if name not in LIVE_BROKERS:
        raise ConfigError(f"unknown broker {name!r}; choose paper or {', '.join(LIVE_BROKERS)}")
    # a broker's sandbox / paper endpoint is always allowed; real money needs the flag
    live = not (settings.tradier_sandbox if name == "tradier" else settings.alpaca_paper)
    if live:
        require_live_trading(settings.live_trading, name)
    module_name, class_name = LIVE_BROKERS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ConfigError(f"broker {name!r} is not available in this installation") from None
    broker: Broker = getattr(module, class_name)(settings)
    return broker
