"""The price watch on real databases (SQLite and PostgreSQL): quotes stored, rules applied with
their states kept across runs, alerts stored once and delivered; and the Prefect flow."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine, func, insert, select

from models.alerting import AlertRuleState, PriceQuote
from models.tables import Alert, Position, Watchlist
from tests.alert_receivers import http_receiver
from wheelflow.alerts.price_watch import watch_prices, watch_symbols
from wheelflow.settings import get_settings
from wheelflow.strategy.config import AlertsConfig

T0 = dt.datetime(2026, 12, 2, 15, 0)
SESSION = dt.datetime(2026, 12, 2, 14, 30)
CONFIG = AlertsConfig()


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(Watchlist),
            [{"symbol": "SOFI", "active": True, "source": "test", "added_at": T0}],
        )
        conn.execute(
            insert(Position),
            [
                {
                    "account": "paper",
                    "symbol": "F",
                    "asset_type": "option",
                    "occ_symbol": "F     261203P00011000",
                    "right": "P",
                    "strike": 11.0,
                    "expiration": dt.date(2026, 12, 3),
                    "quantity": -1,
                    "average_price": 0.30,
                    "status": "open",
                    "opened_at": T0 - dt.timedelta(days=20),
                    "realized_pnl": 0.0,
                    "source": "paper",
                }
            ],
        )


def _quotes(sofi: float, f: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": ["SOFI", "F"],
            "bid": [sofi - 0.01, f - 0.01],
            "ask": [sofi + 0.01, f + 0.01],
            "last": [sofi, f],
            "prev_close": [10.0, 11.5],
            "volume": [1000, 1000],
            "quote_time": [T0, T0],
        }
    )


def _kinds(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(Alert.kind)).scalars())


def test_the_watch_stores_quotes_and_alerts_once_per_episode(engine: Engine):
    _seed(engine)
    assert watch_symbols(engine) == ["F", "SOFI"]
    series = [(10.1, 11.4), (10.6, 11.3), (10.55, 11.2), (10.6, 11.25)]
    for minute, (sofi, f) in enumerate(series):
        watch_prices(
            engine,
            _quotes(sofi, f),
            CONFIG,
            now=T0 + dt.timedelta(minutes=minute),
            session_start=SESSION,
            provider="test",
        )
    # SOFI +6% since the close (once, though it stays above 5%) and +5% intraday (10.1 -> 10.6);
    # the short F 11 put: within 2% at 11.2 (once); expiring tomorrow, out of the money (once).
    assert _kinds(engine) == ["expiry_soon", "price_move", "price_move", "strike_near"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PriceQuote)).scalar() == 8
        active = conn.execute(
            select(AlertRuleState.key).where(AlertRuleState.active.is_(True))
        ).scalars()
        assert sorted(active) == [
            "price_move:close:SOFI:up",
            "price_move:intraday:SOFI:up",
            "strike_near:paper:F     261203P00011000",
        ]


def test_a_repeated_minute_changes_nothing(engine: Engine):
    _seed(engine)
    for _ in range(2):
        result = watch_prices(
            engine, _quotes(10.6, 11.4), CONFIG, now=T0, session_start=SESSION, provider="test"
        )
    assert result.new_alerts == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PriceQuote)).scalar() == 2


def test_bad_quotes_are_skipped_not_stored(engine: Engine):
    _seed(engine)
    quotes = _quotes(10.6, 11.4)
    quotes.loc[1, "last"] = None
    result = watch_prices(engine, quotes, CONFIG, now=T0, session_start=SESSION, provider="test")
    assert result.quoted == 1


@pytest.mark.usefixtures("prefect_harness")
def test_the_price_watch_flow_quotes_rules_and_delivers(
    database_url: str, monkeypatch: pytest.MonkeyPatch
):
    from flows.price_watch import price_watch
    from wheelflow.runtime import engine_for

    with http_receiver() as hook:
        monkeypatch.setenv("WHEELFLOW_DATABASE_URL", database_url)
        monkeypatch.setenv("WHEELFLOW_ALERT_URLS", hook.url())
        get_settings.cache_clear()
        engine = engine_for(database_url)
        _seed(engine)
        outside = price_watch(at=dt.datetime(2026, 12, 5, 15, 0), return_state=True)  # Saturday
        assert outside.is_cancelled() and outside.name == "Skipped"
        assert "not an NYSE session" in (outside.message or "")
        result = price_watch(market_hours_only=False)
    assert result["quoted"] >= 1
    with engine.connect() as conn:
        symbols = set(conn.execute(select(PriceQuote.symbol)).scalars())
    assert "SOFI" in symbols
    assert len(hook.received) == result["new_alerts"]


def test_a_run_stuck_in_running_raises_one_stalled_alert(engine: Engine):
    from models.tables import PipelineRun

    _seed(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(PipelineRun),
            [
                {
                    "run_id": "20261202T140000Z",
                    "flow_name": "wheel_pipeline",
                    "snapshot_at": T0 - dt.timedelta(hours=1),
                    "status": "running",
                    "provider": "test",
                    "started_at": T0 - dt.timedelta(minutes=45),
                    "attempts": 1,
                }
            ],
        )
    for minute in range(3):
        watch_prices(
            engine,
            _quotes(10.1, 11.4),
            CONFIG,
            now=T0 + dt.timedelta(minutes=minute),
            session_start=SESSION,
            provider="test",
        )
    with engine.connect() as conn:
        stalled = conn.execute(select(Alert.title).where(Alert.kind == "pipeline_stalled"))
        assert list(stalled.scalars()) == ["Pipeline run 20261202T140000Z stalled"]
