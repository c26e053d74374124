"""Dispatching the outbox: claim due deliveries, send them through Apprise, record each attempt.

The same :func:`deliver_claimed` serves the embedded default (``dispatch_due`` right after a
pipeline run, in process) and the ``wheelflow notify`` workers fed by RabbitMQ. Sends run on a
small thread pool (they wait on the network); digest deliveries of one channel become one
message.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from models.alerting import AlertSubscription
from models.tables import Alert, utcnow
from wheelflow.alerts.channels import SendResult, decrypt_urls, load_or_create_key, send
from wheelflow.alerts.outbox import Claimed, Outcome, claim, record
from wheelflow.settings import Settings

WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class DispatchReport:
    """What one dispatch did, by redacted target."""

    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    by_target: Counter[str] = field(default_factory=Counter)

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.dead

    def summary(self) -> str:
        """One line: how many delivered where, how many wait for a retry, how many are dead."""
        where = ", ".join(f"{target} ({n})" for target, n in sorted(self.by_target.items()))
        text = f"alerts: {self.delivered} delivered" + (f" to {where}" if where else "")
        if self.retrying:
            text += f"; {self.retrying} failed, will retry"
        if self.dead:
            text += f"; {self.dead} dead after the last attempt"
        return text

    def add(self, other: DispatchReport) -> None:
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.dead += other.dead
        self.by_target.update(other.by_target)


def resolve_urls(engine: Engine, keys: set[str], settings: Settings) -> dict[str, str]:
    """The real URL behind each channel key (decrypted; kept in memory only)."""
    urls: dict[str, str] = {}
    env = settings.alert_url_list
    sub_ids = set()
    for key in keys:
        kind, _, rest = key.partition(":")
        if kind == "env" and rest.isdigit() and int(rest) < len(env):
            urls[key] = env[int(rest)]
        elif kind == "sub":
            sub_ids.add(int(rest.split(":")[0]))
    if sub_ids:
        secret = load_or_create_key(settings.alert_secret_key.get_secret_value(), settings.data_dir)
        with engine.connect() as conn:
            rows = conn.execute(
                select(AlertSubscription.id, AlertSubscription.channels_encrypted).where(
                    AlertSubscription.id.in_(sub_ids)
                )
            ).all()
        for sub_id, token in rows:
            for i, url in enumerate(decrypt_urls(token, secret)):
                urls[f"sub:{sub_id}:{i}"] = url
    return urls


def _message(alert: dict[str, object]) -> tuple[str, str]:
    subject = f" [{alert['symbol']}]" if alert.get("symbol") else ""
    body = (
        f"{alert['message']}\n\n{str(alert['severity']).upper()} {alert['kind']}{subject}"
        f" at {alert['created_at']:%Y-%m-%d %H:%M} UTC"
    )
    return str(alert["title"]), body


def _digest(alerts: Sequence[dict[str, object]]) -> tuple[str, str, str]:
    worst = max(alerts, key=lambda a: ("info", "warning", "critical").index(str(a["severity"])))
    lines = [f"- [{str(a['severity']).upper()}] {a['title']}: {a['message']}" for a in alerts]
    return f"wheelflow digest: {len(alerts)} alert(s)", "\n".join(lines), str(worst["severity"])


def deliver_claimed(
    engine: Engine, claimed: Sequence[Claimed], settings: Settings, *, threads: int | None = None
) -> list[Outcome]:
    """Send every claimed delivery (digest rows of a channel as one message); never raises."""
    if not claimed:
        return []
    alert_ids = {c.alert_id for c in claimed}
    with engine.connect() as conn:
        alerts = {
            row["id"]: dict(row)
            for row in conn.execute(
                select(
                    Alert.id,
                    Alert.kind,
                    Alert.severity,
                    Alert.symbol,
                    Alert.title,
                    Alert.message,
                    Alert.created_at,
                ).where(Alert.id.in_(alert_ids))
            ).mappings()
        }
    urls = resolve_urls(engine, {c.channel_key for c in claimed}, settings)

    # One job per message: single deliveries alone, digest deliveries grouped per channel.
    jobs: list[tuple[list[Claimed], str, str, str]] = []
    digests: dict[str, list[Claimed]] = defaultdict(list)
    for c in claimed:
        if c.digest:
            digests[c.channel_key].append(c)
        else:
            title, body = _message(alerts[c.alert_id])
            jobs.append(([c], title, body, str(alerts[c.alert_id]["severity"])))
    for group in digests.values():
        title, body, severity = _digest([alerts[c.alert_id] for c in group])
        jobs.append((group, title, body, severity))

    def run(job: tuple[list[Claimed], str, str, str]) -> SendResult:
        group, title, body, severity = job
        url = urls.get(group[0].channel_key)
        if url is None:
            return SendResult(False, "channel no longer configured", 0.0)
        return send(url, title, body, severity)

    workers = max(1, min(threads or settings.alert_send_concurrency, len(jobs)))
    if workers == 1:
        results = [run(job) for job in jobs]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(run, jobs))
    return [
        Outcome(c.id, r.ok, r.error, r.latency_ms, c.attempts, c.token)
        for (group, *_), r in zip(jobs, results, strict=True)
        for c in group
    ]


def settle(
    engine: Engine,
    claimed: Sequence[Claimed],
    outcomes: Sequence[Outcome],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    worker: str = WORKER_NAME,
) -> DispatchReport:
    """Record ``outcomes`` (attempted at ``now``) and summarise them."""
    record(
        engine,
        outcomes,
        now=now or utcnow(),
        worker=worker,
        max_attempts=settings.alert_max_attempts,
        retry_base_seconds=settings.alert_retry_base_seconds,
        retry_max_seconds=settings.alert_retry_max_seconds,
    )
    report = DispatchReport()
    targets = {c.id: c.target for c in claimed}
    for o in outcomes:
        if o.ok:
            report.delivered += 1
            report.by_target[targets[o.delivery_id]] += 1
        elif o.attempts_before + 1 >= settings.alert_max_attempts:
            report.dead += 1
        else:
            report.retrying += 1
    return report


def dispatch_due(
    engine: Engine,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    batch: int = 500,
    max_batches: int = 1000,
    worker: str = WORKER_NAME,
) -> DispatchReport:
    """Deliver everything due now, batch after batch, in this process."""
    report = DispatchReport()
    for _ in range(max_batches):
        at = now or utcnow()
        claimed = claim(engine, now=at, limit=batch, lease_seconds=settings.alert_lease_seconds)
        if not claimed:
            break
        outcomes = deliver_claimed(engine, claimed, settings)
        report.add(settle(engine, claimed, outcomes, settings, now=at, worker=worker))
    return report


def deliver_in_process(engine: Engine, settings: Settings) -> DispatchReport | None:
    """The embedded default's delivery right after a run: dispatch what is due now, here.

    With RabbitMQ configured the ``wheelflow notify`` workers deliver instead (None).
    """
    if settings.amqp_url.get_secret_value():
        return None
    return dispatch_due(engine, settings)
