"""With WHEELFLOW_PREFECT_DEPLOYMENT set, a TradingView alert starts that deployment for the
ticker (a real Prefect test server; no worker, so the flow run stays scheduled)."""

from __future__ import annotations

import uuid

import pytest
from prefect import flow
from prefect.client.orchestration import get_client

from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    WEBHOOK_SECRET,
    api_settings,
    fast_password_hashing,
    make_client,
)
from wheelflow.db import ensure_schema, make_engine


@flow(name="wheel-api-trigger-test")
def wheel_for_symbols(symbols: list[str] | None = None) -> None:
    """Stands in for the pipeline deployment; never runs here (no worker)."""


@pytest.fixture
def deployment(prefect_harness) -> str:
    name = f"api-{uuid.uuid4().hex[:6]}"
    wheel_for_symbols.to_deployment(name=name).apply()
    return f"wheel-api-trigger-test/{name}"


@pytest.mark.slow  # the session's Prefect test server: ~10 s idle, ~45 s on a loaded machine
def test_webhook_triggers_the_configured_deployment_with_the_ticker(deployment, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'wheelflow.sqlite'}")
    ensure_schema(engine)
    settings = api_settings(tmp_path, prefect_deployment=deployment)
    with make_client(engine, settings) as client:
        response = client.post(
            "/webhooks/tradingview",
            content=b"ticker=AAPL price=187.3",
            headers={"X-Wheelflow-Secret": WEBHOOK_SECRET},
        )
    assert response.status_code == 200, response.text
    assert response.json()["pipeline"] == "triggered"
    with get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(uuid.UUID(response.json()["flow_run_id"]))
    assert flow_run.parameters == {"symbols": ["AAPL"]}
    engine.dispose()
