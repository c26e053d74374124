"""The API process delivers alerts too (embedded default, no RabbitMQ): webhooks and Alertmanager
create alerts here, and a background thread dispatches the outbox every
``WHEELFLOW_ALERT_DISPATCH_SECONDS`` (0: off; with RabbitMQ the ``wheelflow notify`` workers do it).
Several API processes may run it: leases in the outbox keep each delivery to one sender."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from wheelflow.alerts.delivery import dispatch_due
from wheelflow.settings import Settings

log = logging.getLogger(__name__)


class OutboxDispatcher:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        s = self.settings
        return s.alert_dispatch_seconds > 0 and not s.amqp_url.get_secret_value()

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="wheelflow-alert-dispatch", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        wait = self.settings.alert_dispatch_seconds
        while not self._stop.wait(wait):
            try:
                report = dispatch_due(self.engine, self.settings)
            except Exception as exc:  # the database may be away a while: back off, try again
                # One line, no traceback: formatting one from a thread can race the main
                # thread's parser on CPython 3.11 (traceback carets parse source with ast).
                log.warning("alert dispatch failed (%s); retrying", type(exc).__name__)
                wait = min(wait * 2, 300.0)
                continue
            wait = self.settings.alert_dispatch_seconds
            if report.attempted:
                log.info(report.summary())
