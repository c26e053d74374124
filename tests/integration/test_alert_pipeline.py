"""The pipeline's alerts take the one path: the Prefect flow ``wheel_pipeline`` stores them with
their outbox rows and delivers them in the run (SQLite and PostgreSQL). A failed run raises a
critical ``pipeline_failed`` alert naming the provider's error, delivered like the others."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from flows.pipeline import wheel_pipeline
from models.alerting import AlertDelivery
from models.tables import Alert
from tests.alert_receivers import http_receiver
from tests.tradier_fake import FakeTradier, Faults
from wheelflow.errors import ProviderError
from wheelflow.providers.synthetic import SyntheticMarket
from wheelflow.providers.tradier import TradierMarketData
from wheelflow.settings import get_settings, load_settings

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with http_receiver() as hook:
        monkeypatch.setenv("WHEELFLOW_ALERT_URLS", hook.url())
        monkeypatch.setenv("WHEELFLOW_SEED_DEMO_POSITIONS", "false")
        get_settings.cache_clear()
        yield hook


def _kinds(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(conn.execute(select(Alert.kind)).scalars())


def test_a_runs_alerts_are_delivered_by_the_flow_and_it_says_where(engine: Engine, receiver):
    market = SyntheticMarket(seed=3, universe_size=12)
    summary = wheel_pipeline(
        provider=market, database_url=engine.url.render_as_string(hide_password=False)
    )
    kinds = _kinds(engine)
    assert kinds["new_top_opportunity"] > 0
    delivered = sum(kinds.values())
    assert summary["delivery"] == f"alerts: {delivered} delivered to {receiver.url()} ({delivered})"
    assert len(receiver.received) == delivered
    with engine.connect() as conn:
        statuses = conn.execute(
            select(AlertDelivery.status, func.count()).group_by(AlertDelivery.status)
        ).all()
    assert dict(statuses) == {"delivered": delivered}


def test_a_failed_run_alerts_operators_with_the_cause(engine: Engine, receiver, tmp_path: Path):
    market = SyntheticMarket(seed=5, universe_size=6)
    faults = Faults(FakeTradier(market, max_days=14), rate=0.0, broken=None, chains_down=True)
    settings = load_settings(
        tradier_token="t0k3n-not-logged-1234",
        provider_retries=0,
        provider_requests_per_second=1000.0,
        provider_max_days_to_expiry=14,
    )
    provider = TradierMarketData.from_settings(
        settings, httpx.MockTransport(faults), clock=market.snapshot_time
    )
    strategy = tmp_path / "strategy.toml"
    strategy.write_text("[screening]\nmin_underlying_price = 0.01\nmax_underlying_price = 1e6\n")
    with pytest.raises(ProviderError, match="HTTP 503"):
        wheel_pipeline(
            provider=provider,
            database_url=engine.url.render_as_string(hide_password=False),
            strategy_file=str(strategy),
            symbols=market.symbols,
        )
    with engine.connect() as conn:
        failed = conn.execute(
            select(Alert.severity, Alert.message).where(Alert.kind == "pipeline_failed")
        ).one()
    assert failed.severity == "critical" and "HTTP 503" in failed.message
    titles = [b["title"] for b in receiver.bodies()]
    assert any(t.startswith("Pipeline run ") and t.endswith(" failed") for t in titles)
    assert sum(t.startswith("Option chain unavailable") for t in titles) == len(market.symbols)
