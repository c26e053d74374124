"""Alert events over RabbitMQ: publish after commit, consume in ``wheelflow notify`` workers.

Topology (names from ``WHEELFLOW_AMQP_EXCHANGE`` / ``WHEELFLOW_AMQP_QUEUE``): a durable topic
exchange ``wheelflow.alerts``; each delivery is one persistent message
with routing key ``<kind>.<severity>`` (other consumers, e.g. a dashboard feed, may bind their
own queues to the same exchange). Workers share the durable queue ``wheelflow.notify`` (bound
to ``#``) and ack a message only after its outcome is recorded in the outbox.

The outbox stays the source of truth: a message is only a wake-up call. A worker claims the
delivery it names (a lease in the database) before sending, so several workers never send one
delivery twice while its lease holds; a worker killed mid-delivery leaves the message unacked
(RabbitMQ hands it to another worker) and the row leased until the lease ends, after which the
periodic sweep of every worker delivers it. A publish that fails (broker down) loses nothing:
the sweep finds the pending rows.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from models.alerting import AlertDelivery
from models.tables import Alert, utcnow
from wheelflow.alerts.delivery import (
    WORKER_NAME,
    DispatchReport,
    deliver_claimed,
    dispatch_due,
    settle,
)
from wheelflow.alerts.outbox import claim
from wheelflow.settings import Settings

log = logging.getLogger("wheelflow.alerts.queue")


def _connect(settings: Settings) -> Any:
    import pika

    params = pika.URLParameters(settings.amqp_url.get_secret_value())
    params.connection_attempts = 1
    params.socket_timeout = 5
    params.blocked_connection_timeout = 30
    return pika.BlockingConnection(params)


def _host(settings: Settings) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(settings.amqp_url.get_secret_value())
    return f"{parts.hostname}:{parts.port or 5672}"


def declare(channel: Any, settings: Settings) -> None:
    """The topic exchange and the workers' shared durable queue (idempotent)."""
    exchange, queue = settings.amqp_exchange, settings.amqp_queue
    channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
    channel.queue_declare(queue=queue, durable=True)
    channel.queue_bind(queue=queue, exchange=exchange, routing_key="#")


def publish_deliveries(engine: Engine, settings: Settings, alert_ids: Sequence[int]) -> int:
    """Announce the pending deliveries of ``alert_ids``; returns how many were published.

    Never raises for a broker problem: the deliveries wait in the outbox for a worker's sweep.
    """
    import pika

    with engine.connect() as conn:
        rows = conn.execute(
            select(AlertDelivery.id, AlertDelivery.alert_id, Alert.kind, Alert.severity)
            .join(Alert, Alert.id == AlertDelivery.alert_id)
            .where(AlertDelivery.alert_id.in_(list(alert_ids)), AlertDelivery.status == "pending")
        ).all()
    if not rows:
        return 0
    try:
        connection = _connect(settings)
        try:
            channel = connection.channel()
            declare(channel, settings)
            channel.confirm_delivery()
            persistent = pika.BasicProperties(delivery_mode=2, content_type="application/json")
            for delivery_id, alert_id, kind, severity in rows:
                channel.basic_publish(
                    exchange=settings.amqp_exchange,
                    routing_key=f"{kind}.{severity}",
                    body=json.dumps({"delivery_id": delivery_id, "alert_id": alert_id}).encode(),
                    properties=persistent,
                )
        finally:
            connection.close()
    except Exception as exc:  # pika raises many types; all mean "not published now"
        log.warning(
            "RabbitMQ at %s unavailable (%s): %d deliveries wait in the outbox for a worker",
            _host(settings),
            type(exc).__name__,
            len(rows),
        )
        return 0
    return len(rows)


def run_worker(
    engine: Engine,
    settings: Settings,
    *,
    batch: int = 100,
    sweep_seconds: float = 5.0,
    idle_exit_seconds: float | None = None,
    worker: str = WORKER_NAME,
    heartbeat: Path | None = None,
) -> DispatchReport:
    """Consume ``wheelflow.notify`` until SIGINT/SIGTERM (or idle for ``idle_exit_seconds``).

    ``heartbeat``: a file touched at every sweep, for a container health check.
    """
    report = DispatchReport()
    stopping = False

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    connection = _connect(settings)
    try:
        channel = connection.channel()
        declare(channel, settings)
        channel.basic_qos(prefetch_count=batch)
        log.info(
            "notify worker %s consuming %s on %s", worker, settings.amqp_queue, _host(settings)
        )
        pending: list[tuple[int, int]] = []  # (delivery tag, delivery id)
        last_sweep = 0.0
        last_activity = time.monotonic()
        for method, _props, body in channel.consume(settings.amqp_queue, inactivity_timeout=0.05):
            if method is not None:
                try:
                    delivery_id = int(json.loads(body)["delivery_id"])
                except (ValueError, KeyError, TypeError):
                    log.warning("dropping an unreadable message: %r", body[:200])
                    channel.basic_ack(method.delivery_tag)
                    continue
                pending.append((method.delivery_tag, delivery_id))
                last_activity = time.monotonic()
                if len(pending) < batch:
                    continue
            if pending:
                report.add(_handle(engine, settings, [d for _, d in pending], worker))
                channel.basic_ack(pending[-1][0], multiple=True)
                pending = []
            now = time.monotonic()
            if now - last_sweep >= sweep_seconds:
                if heartbeat is not None:
                    heartbeat.touch()
                swept = dispatch_due(engine, settings, worker=worker)
                if swept.delivered or swept.retrying or swept.dead:
                    last_activity = now
                report.add(swept)
                last_sweep = now
            if stopping or (
                idle_exit_seconds is not None and now - last_activity > idle_exit_seconds
            ):
                break
        channel.cancel()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if connection.is_open:
            connection.close()
    return report


def _handle(
    engine: Engine, settings: Settings, delivery_ids: list[int], worker: str
) -> DispatchReport:
    """Claim and send the deliveries the messages name (those not due or leased are skipped)."""
    claimed = claim(
        engine,
        now=utcnow(),
        limit=len(delivery_ids),
        lease_seconds=settings.alert_lease_seconds,
        ids=delivery_ids,
    )
    outcomes = deliver_claimed(engine, claimed, settings)
    return settle(engine, claimed, outcomes, settings, worker=worker)
