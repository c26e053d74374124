"""Alert delivery through the RabbitMQ server on 127.0.0.1:5672 (``.ci/services.sh`` starts it):
publish after commit, ``wheelflow notify`` workers as real processes, one killed mid-delivery and
restarted without losing a delivery. Each test uses its own exchange and queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from models.alerting import AlertDelivery
from tests.alert_receivers import http_receiver
from tests.conftest import IN_CI
from wheelflow.alerts.rules import quality_alert
from wheelflow.alerts.store import store_new_alerts
from wheelflow.settings import get_settings

AMQP_URL = os.environ.get("WHEELFLOW_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def _require_rabbitmq() -> None:
    import pika

    try:
        pika.BlockingConnection(pika.URLParameters(AMQP_URL + "?connection_attempts=1")).close()
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"RabbitMQ is required in CI but unreachable at {AMQP_URL}: {exc}")
        pytest.skip(f"RabbitMQ unreachable at {AMQP_URL}")


@pytest.fixture
def amqp(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Environment for a private exchange and queue on the local RabbitMQ; deleted afterwards."""
    _require_rabbitmq()
    import pika

    tag = uuid.uuid4().hex[:10]
    names = {"exchange": f"wf-test-{tag}", "queue": f"wf-test-notify-{tag}"}
    monkeypatch.setenv("WHEELFLOW_AMQP_URL", AMQP_URL)
    monkeypatch.setenv("WHEELFLOW_AMQP_EXCHANGE", names["exchange"])
    monkeypatch.setenv("WHEELFLOW_AMQP_QUEUE", names["queue"])
    yield names
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.queue_delete(names["queue"])
    channel.exchange_delete(names["exchange"])
    connection.close()


def _alerts(n: int) -> list[dict]:
    return [
        quality_alert("chains", f"b{i}", __import__("datetime").datetime(2026, 12, 2), "x")
        for i in range(n)
    ]


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    heartbeat = str(log.with_suffix(".alive"))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wheelflow",
            "notify",
            "--sweep-seconds",
            "0.5",
            "--batch",
            "5",
            "--heartbeat",
            heartbeat,
        ],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _delivered(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(AlertDelivery)
                .where(AlertDelivery.status == "delivered")
            ).scalar_one()
        )


def _wait(predicate, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_published_deliveries_are_consumed_by_a_worker_process(
    engine: Engine, amqp, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    with http_receiver() as hook:
        monkeypatch.setenv("WHEELFLOW_ALERT_URLS", f"{hook.url()},{hook.url(path='/second')}")
        monkeypatch.setenv("WHEELFLOW_DATABASE_URL", str(engine.url.render_as_string(False)))
        get_settings.cache_clear()
        worker = _worker(dict(os.environ), tmp_path / "worker.log")
        try:
            store_new_alerts(engine, _alerts(10))  # publishes 20 deliveries after commit
            assert _wait(lambda: _delivered(engine) == 20), (tmp_path / "worker.log").read_text()
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
        assert Counter(r["path"] for r in hook.received) == {"/hook": 10, "/second": 10}
    assert "20 delivered" in (tmp_path / "worker.log").read_text()
    assert (tmp_path / "worker.alive").exists()  # the container health check's heartbeat


def test_a_worker_killed_mid_delivery_loses_nothing(
    engine: Engine, amqp, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    # A slow receiver: the first worker is killed while its requests are in flight; the rows it
    # leased come due again when the 2 s lease ends and the restarted worker delivers them.
    with http_receiver(delay=1.0) as hook:
        monkeypatch.setenv("WHEELFLOW_ALERT_URLS", hook.url())
        monkeypatch.setenv("WHEELFLOW_ALERT_LEASE_SECONDS", "2")
        monkeypatch.setenv("WHEELFLOW_DATABASE_URL", str(engine.url.render_as_string(False)))
        get_settings.cache_clear()
        env = dict(os.environ)
        store_new_alerts(engine, _alerts(12))  # published before any worker runs
        first = _worker(env, tmp_path / "worker.log")
        assert _wait(lambda: len(hook.received) >= 1, timeout=60)
        first.kill()  # SIGKILL: no clean-up, unacked messages go back to the queue
        first.wait(timeout=10)
        assert _delivered(engine) < 12
        second = _worker(env, tmp_path / "worker.log")
        try:
            assert _wait(lambda: _delivered(engine) == 12, timeout=90), (
                tmp_path / "worker.log"
            ).read_text()
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    titles = Counter(r["json"]["title"] for r in hook.received)
    assert len(titles) == 12  # every alert arrived, some possibly twice (at-least-once) ...
    # ... and only those in flight when the first worker died can have been sent twice.
    assert sum(titles.values()) - 12 <= 5


def test_a_broker_outage_leaves_deliveries_in_the_outbox(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("WHEELFLOW_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2F")
    monkeypatch.setenv("WHEELFLOW_ALERT_URLS", "json://127.0.0.1:9/hook")
    get_settings.cache_clear()
    fresh = store_new_alerts(engine, _alerts(2))  # does not raise
    assert len(fresh) == 2
    with engine.connect() as conn:
        statuses = conn.execute(select(AlertDelivery.status)).scalars().all()
    assert statuses == ["pending", "pending"]
