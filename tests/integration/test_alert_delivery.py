"""Alert delivery through the outbox to real receivers on loopback (SQLite and PostgreSQL):
JSON webhooks, email over SMTP (aiosmtpd), SMS through SMSEagle's HTTP API; retries, dead letters,
quiet hours and digests on a fixed clock; secrets never stored or logged."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from models.alerting import AlertDelivery, AlertDeliveryAttempt
from models.tables import Alert
from tests.alert_receivers import http_receiver, smtp_receiver
from wheelflow.alerts import subscriptions as subs
from wheelflow.alerts.delivery import dispatch_due
from wheelflow.alerts.rules import quality_alert
from wheelflow.alerts.store import store_alerts, store_new_alerts
from wheelflow.db import transaction
from wheelflow.settings import Settings, get_settings

NOW = dt.datetime(2026, 12, 2, 15, 0, 0)


@pytest.fixture
def alert_env(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Set WHEELFLOW_* variables and return the fresh settings."""

    def configure(**values: Any) -> Settings:
        for key, value in values.items():
            monkeypatch.setenv(f"WHEELFLOW_{key.upper()}", str(value))
        get_settings.cache_clear()
        return get_settings()

    return configure


def _alerts(n: int, severity: str = "warning", created_at: dt.datetime | None = None) -> list[dict]:
    """``n`` alerts created now (or at ``created_at``, for tests on a fixed clock)."""
    out = []
    for i in range(n):
        a = quality_alert("chains", f"batch-{i}", NOW, f"reason {i}")
        a["severity"] = severity
        if created_at is not None:
            a["created_at"] = created_at
        out.append(a)
    return out


def _statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(AlertDelivery.status, func.count()).group_by(AlertDelivery.status)
        ).all()
    return {status: int(n) for status, n in rows}


def test_new_alerts_and_their_deliveries_commit_together_and_reach_a_json_webhook(
    engine: Engine, alert_env
):
    with http_receiver() as hook:
        settings = alert_env(alert_urls=hook.url())
        fresh = store_new_alerts(engine, _alerts(3))
        assert len(fresh) == 3 and all(a["id"] for a in fresh)
        assert _statuses(engine) == {"pending": 3}

        report = dispatch_due(engine, settings)
        assert report.delivered == 3 and report.by_target == {hook.url(): 3}
        bodies = hook.bodies()
        assert sorted(b["title"] for b in bodies) == sorted(a["title"] for a in fresh)
        assert all(b["type"] == "warning" for b in bodies)
        assert _statuses(engine) == {"delivered": 3}

        # Idempotent: nothing is due any more, and the same alerts again create nothing.
        assert dispatch_due(engine, settings).delivered == 0
        assert store_new_alerts(engine, _alerts(3)) == []
        assert len(hook.received) == 3
    with engine.connect() as conn:
        attempts = conn.execute(select(AlertDeliveryAttempt.ok, AlertDeliveryAttempt.latency_ms))
        assert [ok for ok, _ in attempts] == [True, True, True]


def test_an_alert_rolled_back_with_its_transaction_leaves_no_delivery(engine: Engine, alert_env):
    with http_receiver() as hook:
        alert_env(alert_urls=hook.url())
        with pytest.raises(RuntimeError), transaction(engine) as conn:
            store_alerts(conn, _alerts(2))
            raise RuntimeError("the stage failed after writing its alerts")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Alert)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(AlertDelivery)).scalar() == 0


def test_failures_retry_with_backoff_then_go_dead_with_every_attempt_logged(
    engine: Engine, alert_env
):
    with http_receiver(status=503) as hook:
        settings = alert_env(
            alert_urls=hook.url(), alert_max_attempts=3, alert_retry_base_seconds=60
        )
        store_new_alerts(engine, _alerts(1, created_at=NOW))
        first = dispatch_due(engine, settings, now=NOW)
        assert first.retrying == 1 and first.delivered == 0
        with engine.connect() as conn:
            row = conn.execute(select(AlertDelivery.__table__)).one()
        assert row.status == "pending" and row.attempts == 1
        assert NOW + dt.timedelta(seconds=30) <= row.next_attempt_at <= NOW + dt.timedelta(60)
        assert "503" in (row.last_error or "")

        # Not due yet: nothing is sent before the backoff ends.
        assert dispatch_due(engine, settings, now=NOW + dt.timedelta(seconds=10)).retrying == 0
        later = NOW + dt.timedelta(hours=1)
        assert dispatch_due(engine, settings, now=later).retrying == 1
        final = dispatch_due(engine, settings, now=later + dt.timedelta(hours=1))
        assert final.dead == 1
        assert _statuses(engine) == {"dead": 1}
        assert len(hook.received) == 3
    with engine.connect() as conn:
        oks = conn.execute(select(AlertDeliveryAttempt.ok)).scalars().all()
    assert oks == [False, False, False]


def test_a_channel_secret_is_never_stored_logged_or_reported(
    engine: Engine, alert_env, caplog: pytest.LogCaptureFixture
):
    secret = "s3cr3t-Passw0rd-xyz"
    caplog.set_level(logging.DEBUG)
    with http_receiver(status=500) as hook:
        settings = alert_env(alert_urls=hook.url(auth=f"bot:{secret}@"), alert_max_attempts=1)
        store_new_alerts(engine, _alerts(1))
        report = dispatch_due(engine, settings)
        assert report.dead == 1
        # The receiver did get the credentials (basic auth) ...
        assert "Authorization" in hook.received[0]["headers"]
    # ... but no table, report or log line holds them.
    with engine.connect() as conn:
        delivery = conn.execute(select(AlertDelivery.__table__)).one()
        attempt = conn.execute(select(AlertDeliveryAttempt.__table__)).one()
    stored = " ".join(str(v) for v in (delivery.target, delivery.last_error, attempt.error))
    assert secret not in stored and secret not in report.summary()
    assert secret not in caplog.text


def test_email_reaches_a_real_smtp_server(engine: Engine, alert_env):
    with smtp_receiver() as smtp:
        url = (
            f"mailto://127.0.0.1:{smtp.port}?from=wheelflow@example.com"
            "&to=trader@example.com&mode=insecure"
        )
        settings = alert_env(alert_urls=url)
        store_new_alerts(engine, _alerts(1, severity="critical"))
        assert dispatch_due(engine, settings).delivered == 1
        messages = smtp.wait_for(1)
    assert smtp.envelopes[0][1] == ["trader@example.com"]
    assert "Data-quality gate failed" in messages[0]["Subject"]


def test_sms_goes_through_the_gateways_documented_http_api(engine: Engine, alert_env):
    # SMSEagle's JSON-RPC API (POST /jsonrpc/sms, method sms.send_sms): what Apprise speaks.
    with http_receiver() as gateway:
        gateway.reply = {"result": {"message_id": "42", "status": "ok"}}
        url = f"smseagle://{'a' * 32}@127.0.0.1:{gateway.port}/+15551234567?ssl=no"
        settings = alert_env(alert_urls=url)
        store_new_alerts(engine, _alerts(1))
        assert dispatch_due(engine, settings).delivered == 1
    call = gateway.received[0]
    assert call["path"].startswith("/jsonrpc/sms")
    assert call["json"]["params"]["to"] == "+15551234567"
    assert "Data-quality gate failed" in call["json"]["params"]["message"]


def _subscribe(engine: Engine, settings: Settings, url: str, **fields: Any) -> dict[str, Any]:
    from wheelflow import security

    with transaction(engine) as conn:
        user_id = security.create_user(conn, "carol", "correct horse battery staple", "trader")
        spec = subs.SubscriptionSpec(name="mine", channels=[url], kinds=[], **fields)
        return subs.create_subscription(conn, user_id, spec, settings)


def test_quiet_hours_hold_a_warning_but_not_a_critical_alert(engine: Engine, alert_env):
    with http_receiver() as hook:
        settings = alert_env()
        # 15:00 UTC is 10:00 in New York: inside 09:00-17:00 quiet hours, released 22:00 UTC.
        _subscribe(
            engine,
            settings,
            hook.url(),
            quiet_start="09:00",
            quiet_end="17:00",
            timezone="America/New_York",
        )
        store_new_alerts(engine, _alerts(1, "warning", NOW) + _alerts_critical())
        assert dispatch_due(engine, settings, now=NOW).delivered == 1
        assert [b["type"] for b in hook.bodies()] == ["failure"]  # the critical one
        assert dispatch_due(engine, settings, now=dt.datetime(2026, 12, 2, 21, 59)).delivered == 0
        assert dispatch_due(engine, settings, now=dt.datetime(2026, 12, 2, 22, 0)).delivered == 1


def _alerts_critical() -> list[dict]:
    a = quality_alert("greeks", "critical-batch", NOW, "all rows refused")
    a["created_at"] = NOW
    return [a]


def test_a_digest_subscription_sends_one_message_per_window(engine: Engine, alert_env):
    with http_receiver() as hook:
        settings = alert_env()
        _subscribe(engine, settings, hook.url(), digest_minutes=30)
        store_new_alerts(engine, _alerts(5, "info", NOW))
        assert dispatch_due(engine, settings, now=NOW).delivered == 0
        report = dispatch_due(engine, settings, now=NOW + dt.timedelta(minutes=30))
        assert report.delivered == 5  # five deliveries ...
        assert len(hook.received) == 1  # ... in one message
        assert hook.bodies()[0]["title"] == "wheelflow digest: 5 alert(s)"
        assert hook.bodies()[0]["message"].count("\n") == 4


def test_subscription_urls_are_stored_encrypted_and_shown_redacted(engine: Engine, alert_env):
    from models.alerting import AlertSubscription

    settings = alert_env()
    url = "json://bot:hunter2-very-secret@127.0.0.1:9/hook"
    row = _subscribe(engine, settings, url)
    assert "hunter2-very-secret" not in str(row)
    with engine.connect() as conn:
        stored = conn.execute(select(AlertSubscription.__table__)).one()
    assert "hunter2" not in stored.channels_encrypted + str(stored.channels_redacted)
    assert subs.decrypt_urls(
        stored.channels_encrypted,
        subs.load_or_create_key("", settings.data_dir),
    ) == [url]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("channels", ["nope"], "channels"),
        ("channels", ["unknownscheme://x"], "channels"),
        ("kinds", ["no_such_kind"], "kinds"),
        ("min_severity", "loud", "min_severity"),
        ("timezone", "Mars/Olympus", "timezone"),
        ("quiet_start", "25:00", "quiet_start"),
    ],
)
def test_bad_subscription_fields_are_refused_naming_the_field(field, value, message):
    spec: dict[str, Any] = {"name": "x", "channels": ["json://127.0.0.1/hook"], "kinds": []}
    spec[field] = value
    if field == "quiet_start":
        spec["quiet_end"] = "07:00"
    with pytest.raises(subs.SubscriptionError, match=message):
        subs.validate(subs.SubscriptionSpec(**spec))
