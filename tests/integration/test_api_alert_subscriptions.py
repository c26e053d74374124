"""``/me/subscriptions``, ``/alerts/{id}/deliveries`` and ``POST /webhooks/alertmanager``
(SQLite and PostgreSQL): channel secrets never come back, test sends reach a real receiver,
Alertmanager's alerts become delivered wheelflow alerts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine

from tests.alert_receivers import http_receiver
from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    api_settings,
    bearer,
    fast_password_hashing,
    login,
    make_client,
    seed,
)
from wheelflow import security
from wheelflow.alerts.delivery import dispatch_due
from wheelflow.settings import get_settings

TOKEN = "am-token-0123456789abcdef"
SECRET = "hunter2-channel-password"


@pytest.fixture
def client(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient[Litestar]]:
    seed(engine)
    monkeypatch.setenv("WHEELFLOW_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    settings = api_settings(tmp_path, alertmanager_token=TOKEN, alert_dispatch_seconds=0)
    with make_client(engine, settings) as test_client:
        yield test_client


def _headers(client: TestClient[Litestar], role: str) -> dict[str, str]:
    return bearer(login(client, role))


def _subscription(url: str, **fields: object) -> dict[str, object]:
    return {"name": "phone", "channels": [url], "kinds": ["risk_breach"], **fields}


def test_a_subscription_is_created_listed_replaced_and_deleted_with_urls_redacted(client):
    viewer = _headers(client, "viewer")
    url = f"json://bot:{SECRET}@127.0.0.1:9/hook"
    created = client.post("/me/subscriptions", json=_subscription(url), headers=viewer)
    assert created.status_code == 201, created.text
    body = created.json()
    assert SECRET not in created.text
    assert (
        body["channels"][0].startswith("json://bot:") and "127.0.0.1:9/hook" in body["channels"][0]
    )
    listed = client.get("/me/subscriptions", headers=viewer)
    assert [s["id"] for s in listed.json()] == [body["id"]] and SECRET not in listed.text

    replaced = client.put(
        f"/me/subscriptions/{body['id']}",
        json=_subscription(url, min_severity="critical", digest_minutes=15),
        headers=viewer,
    )
    assert replaced.status_code == 200
    assert replaced.json()["min_severity"] == "critical"
    assert replaced.json()["digest_minutes"] == 15

    assert client.delete(f"/me/subscriptions/{body['id']}", headers=viewer).status_code == 204
    assert client.get("/me/subscriptions", headers=viewer).json() == []


def test_one_users_subscription_is_invisible_to_another(client):
    mine = client.post(
        "/me/subscriptions",
        json=_subscription("json://127.0.0.1:9/hook"),
        headers=_headers(client, "trader"),
    ).json()
    other = _headers(client, "viewer")
    assert client.get("/me/subscriptions", headers=other).json() == []
    sub_path = f"/me/subscriptions/{mine['id']}"
    assert client.delete(sub_path, headers=other).status_code == 404
    assert (
        client.put(sub_path, json=_subscription("json://127.0.0.1:9/x"), headers=other).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"channels": ["nonsense"]}, "channels"),
        ({"channels": []}, "channels"),
        ({"kinds": ["everything"]}, "kinds"),
        ({"timezone": "Nowhere/Land"}, "timezone"),
        ({"quiet_start": "22:00"}, "quiet"),
        ({"digest_minutes": 5000}, "digest_minutes"),
        ({"min_severity": "loud"}, "min_severity"),
    ],
)
def test_bad_subscriptions_are_400_naming_the_field(client, patch, field):
    body = {**_subscription("json://127.0.0.1:9/hook"), **patch}
    response = client.post("/me/subscriptions", json=body, headers=_headers(client, "viewer"))
    assert response.status_code == 400, response.text
    assert field in response.text


def test_the_test_endpoint_sends_to_each_channel_and_reports_per_target(client):
    with http_receiver() as hook:
        headers = _headers(client, "viewer")
        client.post("/me/subscriptions", json=_subscription(hook.url()), headers=headers)
        response = client.post("/me/subscriptions/test", json={}, headers=headers)
    assert response.status_code == 200, response.text
    [result] = response.json()
    assert result["ok"] is True and result["target"].endswith(f"127.0.0.1:{hook.port}/hook")
    assert hook.bodies()[0]["title"] == "wheelflow test message"


def test_api_keys_have_no_subscriptions(client, engine):
    with engine.begin() as conn:
        _, key = security.create_api_key(conn, "bot", "viewer")
    response = client.get("/me/subscriptions", headers={"X-API-Key": key})
    assert response.status_code == 403


def _alertmanager_payload(status: str = "firing") -> dict[str, object]:
    return {
        "version": "4",
        "status": status,
        "receiver": "wheelflow",
        "groupKey": '{}:{alertname="WheelflowPipelineStale"}',
        "truncatedAlerts": 0,
        "groupLabels": {"alertname": "WheelflowPipelineStale"},
        "commonLabels": {"alertname": "WheelflowPipelineStale", "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "WheelflowPipelineStale", "severity": "critical"},
                "annotations": {
                    "summary": "no completed pipeline run for 2 hours",
                    "description": "the last completed run is 7,300 s old",
                },
                "startsAt": "2026-12-02T15:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": "c0ffee1234",
            }
        ],
    }


def test_alertmanager_alerts_become_delivered_operations_alerts(
    client, engine, monkeypatch: pytest.MonkeyPatch
):
    with http_receiver() as hook:
        monkeypatch.setenv("WHEELFLOW_ALERT_URLS", hook.url())
        get_settings.cache_clear()
        auth = {"Authorization": f"Bearer {TOKEN}"}
        first = client.post("/webhooks/alertmanager", json=_alertmanager_payload(), headers=auth)
        assert first.status_code == 200, first.text
        assert first.json() == {"received": 1, "created": 1}
        again = client.post("/webhooks/alertmanager", json=_alertmanager_payload(), headers=auth)
        assert again.json() == {"received": 1, "created": 0}  # Alertmanager repeats: deduplicated
        resolved = client.post(
            "/webhooks/alertmanager", json=_alertmanager_payload("resolved"), headers=auth
        )
        assert resolved.json()["created"] == 1
        assert dispatch_due(engine, get_settings()).delivered == 2
    titles = sorted(b["title"] for b in hook.bodies())  # sent concurrently: any order
    assert titles[0].startswith("Operations: WheelflowPipelineStale")
    assert titles[1].startswith("Resolved: WheelflowPipelineStale")
    alerts = client.get("/alerts?severity=critical", headers=_headers(client, "viewer")).json()
    [ops] = [a for a in alerts if a["kind"] == "operations" and a["severity"] == "critical"]
    deliveries = client.get(f"/alerts/{ops['id']}/deliveries", headers=_headers(client, "trader"))
    assert [d["status"] for d in deliveries.json()] == ["delivered"]


@pytest.mark.parametrize("auth", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_alertmanager_webhook_refuses_a_missing_or_wrong_token(client, auth):
    headers = {"Authorization": auth} if auth else {}
    response = client.post("/webhooks/alertmanager", json=_alertmanager_payload(), headers=headers)
    assert response.status_code == 401


def test_the_api_process_delivers_alerts_it_creates(engine, tmp_path, monkeypatch):
    """Embedded default: the API's own dispatcher sends the Alertmanager alert, no worker."""
    with http_receiver() as hook:
        monkeypatch.setenv("WHEELFLOW_ALERT_URLS", hook.url())
        get_settings.cache_clear()
        settings = api_settings(
            tmp_path, alertmanager_token=TOKEN, alert_dispatch_seconds=0.2, alert_urls=hook.url()
        )
        with make_client(engine, settings) as client:
            response = client.post(
                "/webhooks/alertmanager",
                json=_alertmanager_payload(),
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert response.json()["created"] == 1
            assert len(hook.wait_for(1, timeout=20)) == 1
