# ruff: noqa: F811  (pytest fixtures imported from test_api_seed are parameters here)
"""The TradingView webhook: body shapes, shared secret, de-duplication, pipeline trigger."""

from __future__ import annotations

import datetime as dt

import pytest

from api.tradingview import parse_tradingview_alert
from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    WEBHOOK_SECRET,
    api_settings,
    fast_password_hashing,
    make_client,
    shared_engine,
)
from wheelflow import queries
from wheelflow.db import transaction
from wheelflow.queries import QueryInputError

URL = "/webhooks/tradingview"


@pytest.fixture
def triggered() -> list[list[str]]:
    return []


@pytest.fixture
def client(shared_engine, tmp_path, triggered):
    def trigger(symbols: list[str]) -> str:
        triggered.append(symbols)
        return "flow-run-123"

    with make_client(shared_engine, api_settings(tmp_path), trigger_pipeline=trigger) as c:
        yield c


@pytest.mark.parametrize(
    ("body", "ticker", "price"),
    [
        (b'{"ticker": "AAPL", "price": 187.3}', "AAPL", 187.3),
        (b'{"symbol": "NASDAQ:msft", "close": "410.5"}', "MSFT", 410.5),
        (b"ticker=KO price=61.2", "KO", 61.2),
        (b"ticker: BRK.B, price: 455", "BRK.B", 455.0),
        (b"TSLA 251.75", "TSLA", 251.75),
    ],
)
def test_parser_accepts_the_templated_shapes(body, ticker, price):
    alert = parse_tradingview_alert(body)
    assert (alert.ticker, alert.price) == (ticker, price)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"\xff\xfe", "body"),
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b'{"price": 10}', "ticker"),
        (b'{"ticker": "AAPL"}', "price"),
        (b'{"ticker": "AAPL", "price": -3}', "price"),
        (b'{"ticker": "AAPL", "price": "NaN"}', "price"),
        (b'{"ticker": "AAPL", "price": true}', "price"),
        (b'{"ticker": "$$$", "price": 1}', "ticker"),
        (b"just some words here", "body"),
    ],
)
def test_parser_names_what_is_wrong(body, field):
    with pytest.raises(QueryInputError) as err:
        parse_tradingview_alert(body)
    assert err.value.field == field


def test_json_alert_with_header_secret_is_stored_and_triggers_a_run(client, triggered):
    response = client.post(
        URL,
        content=b'{"ticker": "AAPL", "price": 187.3}',
        headers={"X-Wheelflow-Secret": WEBHOOK_SECRET, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] is True and body["pipeline"] == "triggered"
    assert body["flow_run_id"] == "flow-run-123"
    assert triggered == [["AAPL"]]
    stored = client.app.state.engine.connect().exec_driver_sql(
        f"SELECT kind, symbol FROM alerts WHERE id = {body['alert_id']}"
    )
    assert stored.one() == ("price_alert", "AAPL")


def test_plain_text_alert_with_secret_in_the_header(client):
    response = client.post(
        URL,
        content=b"KO 61.25",
        headers={"Content-Type": "text/plain", "X-Wheelflow-Secret": WEBHOOK_SECRET},
    )
    assert response.status_code == 200 and response.json()["ticker"] == "KO"


def test_a_secret_in_the_query_string_is_refused_and_nothing_is_stored(client, triggered):
    response = client.post(
        f"{URL}?secret={WEBHOOK_SECRET}",
        content=b"KO 61.27",
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "secret"
    assert "header" in response.json()["detail"]
    assert triggered == []


def test_a_payload_over_the_cap_is_refused_with_413(shared_engine, tmp_path):
    with make_client(shared_engine, api_settings(tmp_path, webhook_max_body_bytes=256)) as c:
        body = b'{"ticker": "AAPL", "price": 187.3, "note": "' + b"x" * 300 + b'"}'
        response = c.post(URL, content=body, headers={"X-Wheelflow-Secret": WEBHOOK_SECRET})
    assert response.status_code == 413


def test_deeply_nested_json_is_a_400_not_a_500(client):
    body = b'{"ticker": "AAPL", "price": 1, "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    response = client.post(URL, content=body, headers={"X-Wheelflow-Secret": WEBHOOK_SECRET})
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_secret_in_the_json_body_is_accepted(client):
    payload = {"ticker": "MSFT", "price": 411.1, "secret": WEBHOOK_SECRET}
    assert client.post(URL, json=payload).status_code == 200


def test_same_ticker_and_price_within_the_window_is_one_alert(client, triggered):
    headers = {"X-Wheelflow-Secret": WEBHOOK_SECRET}
    first = client.post(URL, content=b"ticker=IBM price=230.5", headers=headers).json()
    second = client.post(URL, content=b"ticker=IBM price=230.5", headers=headers).json()
    assert second["alert_id"] == first["alert_id"] and second["created"] is False
    assert second["pipeline"].startswith("skipped")
    assert triggered == [["IBM"]]


@pytest.mark.parametrize(
    "headers", [{}, {"X-Wheelflow-Secret": "wrong"}, {"X-Wheelflow-Secret": WEBHOOK_SECRET + "x"}]
)
def test_missing_or_wrong_secret_is_401(client, triggered, headers):
    response = client.post(URL, content=b"AAPL 187.3", headers=headers)
    assert response.status_code == 401
    assert triggered == []


def test_bad_body_is_400_naming_the_field(client):
    response = client.post(
        URL, content=b'{"ticker": "AAPL"}', headers={"X-Wheelflow-Secret": WEBHOOK_SECRET}
    )
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "price"


def test_webhook_is_refused_when_no_secret_is_configured(shared_engine, tmp_path):
    with make_client(shared_engine, api_settings(tmp_path, webhook_secret="")) as c:
        response = c.post(URL, content=b"AAPL 187.3", headers={"X-Wheelflow-Secret": ""})
    assert response.status_code == 403
    assert "WHEELFLOW_WEBHOOK_SECRET" in response.json()["detail"]


def test_without_a_deployment_the_alert_is_stored_and_the_answer_says_so(shared_engine, tmp_path):
    with make_client(shared_engine, api_settings(tmp_path)) as c:
        response = c.post(
            URL, content=b"NVDA 140.2", headers={"X-Wheelflow-Secret": WEBHOOK_SECRET}
        )
    assert response.status_code == 200
    assert response.json()["pipeline"].startswith("not configured")


def test_a_failing_trigger_keeps_the_alert_and_reports_the_failure(shared_engine, tmp_path):
    def broken(symbols: list[str]) -> str:
        raise ConnectionError("prefect api unreachable")

    with make_client(shared_engine, api_settings(tmp_path), trigger_pipeline=broken) as c:
        response = c.post(URL, content=b"AMD 150.4", headers={"X-Wheelflow-Secret": WEBHOOK_SECRET})
    assert response.status_code == 200
    assert response.json()["created"] is True
    assert response.json()["pipeline"] == "failed: ConnectionError: prefect api unreachable"


def test_webhook_is_rate_limited(shared_engine, tmp_path):
    settings = api_settings(tmp_path, webhook_rate_per_minute=2)
    with make_client(shared_engine, settings) as c:
        codes = [c.post(URL, content=b"AAPL 1").status_code for _ in range(3)]
    assert codes == [401, 401, 429]


@pytest.mark.parametrize(
    ("hours_later", "window_hours", "is_replay"),
    [(3, 24, True), (23.9, 24, True), (25, 24, False), (2, 1, False), (0.001, 0, False)],
)
def test_a_replay_is_recognised_for_the_configured_hours(
    engine, hours_later, window_hours, is_replay
):
    first_at = dt.datetime(2026, 11, 24, 23, 59)  # replays cross day (and bucket) boundaries
    window = dt.timedelta(hours=window_hours)
    with transaction(engine) as conn:
        first, created = queries.record_price_alert(
            conn, "AAPL", 187.3, source="tradingview", payload={}, dedup_window=window, now=first_at
        )
        again, created_again = queries.record_price_alert(
            conn,
            "AAPL",
            187.3,
            source="tradingview",
            payload={},
            dedup_window=window,
            now=first_at + dt.timedelta(hours=hours_later),
        )
    assert created
    assert (again == first, created_again) == ((True, False) if is_replay else (False, True))


def test_another_price_or_ticker_is_not_a_replay(engine):
    now = dt.datetime(2026, 11, 24, 15, 0)
    with transaction(engine) as conn:
        ids = {
            queries.record_price_alert(
                conn,
                ticker,
                price,
                source="tradingview",
                payload={},
                now=now,
                dedup_window=dt.timedelta(hours=24),
            )[0]
            for ticker, price in (("AAPL", 187.3), ("AAPL", 187.4), ("MSFT", 187.3))
        }
    assert len(ids) == 3
