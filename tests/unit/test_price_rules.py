"""Price rules: moves, short strikes, expiries; hysteresis on a replayed price series."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from wheelflow.alerts.price_rules import (
    crossings,
    expiry_alerts,
    level_alerts,
    move_levels,
    strike_levels,
)
from wheelflow.strategy.config import AlertsConfig

CONFIG = AlertsConfig(price_move_pct=0.05, hysteresis_pct=0.01, strike_proximity_pct=0.02)
T0 = dt.datetime(2026, 12, 2, 15, 0)


def _quotes(last: float, prev_close: float = 10.0, symbol: str = "SOFI") -> pd.DataFrame:
    return pd.DataFrame(
        {"symbol": [symbol], "last": [last], "prev_close": [prev_close], "bid": [None]}
    )


def test_a_move_since_the_prior_close_is_measured_each_way():
    levels = move_levels(_quotes(10.6), CONFIG).set_index("key")
    assert levels.loc["price_move:close:SOFI:up", "value"] == pytest.approx(0.06)
    assert levels.loc["price_move:close:SOFI:down", "value"] == pytest.approx(-0.06)
    assert levels.loc["price_move:close:SOFI:up", "title"] == "SOFI up 6.0% since the prior close"


def test_intraday_moves_use_the_sessions_first_watched_price():
    levels = move_levels(_quotes(10.6), CONFIG, pd.Series({"SOFI": 10.3})).set_index("key")
    assert levels.loc["price_move:intraday:SOFI:up", "value"] == pytest.approx(10.6 / 10.3 - 1)
    assert levels.loc["price_move:intraday:SOFI:up", "trigger"] == CONFIG.intraday_move_pct


def test_a_price_bouncing_around_the_threshold_alerts_once_per_episode():
    # 5% trigger, re-arm below 4%: fires at 5.1%, stays quiet through 4.9/5.2/4.1, re-arms at
    # 3.5%, fires again at 5.1%.
    closes = [10.10, 10.51, 10.49, 10.52, 10.41, 10.35, 10.51]
    states = pd.DataFrame(columns=["key", "active", "since"])
    fired_at = []
    for minute, last in enumerate(closes):
        now = T0 + dt.timedelta(minutes=minute)
        levels = move_levels(_quotes(last), CONFIG)
        fired, states = crossings(levels, states, CONFIG.hysteresis_pct, now)
        fired_at += [(minute, key) for key in fired["key"]]
    assert fired_at == [(1, "price_move:close:SOFI:up"), (6, "price_move:close:SOFI:up")]


def test_each_episode_gets_its_own_dedup_key():
    first, states = crossings(move_levels(_quotes(10.6), CONFIG), _no_states(), 0.01, T0)
    _, states = crossings(move_levels(_quotes(10.0), CONFIG), states, 0.01, T0)
    later = T0 + dt.timedelta(hours=1)
    second, _ = crossings(move_levels(_quotes(10.6), CONFIG), states, 0.01, later)
    keys = [a["dedup_key"] for a in level_alerts(first, T0) + level_alerts(second, later)]
    assert keys == [
        "price_move:close:SOFI:up:20261202T150000",
        "price_move:close:SOFI:up:20261202T160000",
    ]


def _no_states() -> pd.DataFrame:
    return pd.DataFrame(columns=["key", "active", "since"])


def _shorts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account": ["paper", "paper"],
            "symbol": ["SOFI", "SOFI"],
            "occ_symbol": ["SOFI  261218P00010000", "SOFI  261218C00012000"],
            "right": ["P", "C"],
            "strike": [10.0, 12.0],
            "expiration": [dt.date(2026, 12, 18)] * 2,
        }
    )


def test_short_strike_cushions_are_measured_from_the_price():
    levels = strike_levels(_shorts(), _quotes(10.15), CONFIG).set_index("key")
    put_near = levels.loc["strike_near:paper:SOFI  261218P00010000"]
    call_near = levels.loc["strike_near:paper:SOFI  261218C00012000"]
    assert put_near["value"] == pytest.approx(-(10.15 - 10.0) / 10.15)  # 1.48% cushion
    assert call_near["value"] == pytest.approx(-(12.0 - 10.15) / 10.15)  # 18.2% cushion
    fired, _ = crossings(levels.reset_index(), _no_states(), 0.01, T0)
    assert list(fired["key"]) == ["strike_near:paper:SOFI  261218P00010000"]


def test_a_put_strike_breached_is_critical():
    levels = strike_levels(_shorts(), _quotes(9.80), CONFIG)
    fired, _ = crossings(levels, _no_states(), 0.01, T0)
    kinds = dict(zip(fired["kind"], fired["severity"], strict=True))
    assert kinds == {"strike_near": "warning", "strike_breached": "critical"}


def test_expiry_tomorrow_says_whether_assignment_is_likely():
    alerts = expiry_alerts(_shorts(), _quotes(9.5), dt.date(2026, 12, 17), CONFIG)
    by_occ = {a["payload"]["in_the_money"]: a for a in alerts}
    assert by_occ[True]["title"] == "SOFI  261218P00010000 expires tomorrow"
    assert "assignment likely" in by_occ[True]["message"] and by_occ[True]["severity"] == "warning"
    assert "out of the money" in by_occ[False]["message"] and by_occ[False]["severity"] == "info"
    assert expiry_alerts(_shorts(), _quotes(9.5), dt.date(2026, 12, 15), CONFIG) == []
