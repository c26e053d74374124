"""Alert delivery in the API: the caller's subscriptions, test sends, the delivery log, and
Alertmanager's webhook (operations alerts join the one alert path)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import HeaderParameter, JSONBody
from sqlalchemy import Engine, select

from api.auth import PUBLIC, trader, viewer
from models.alert_schemas import (
    AlertmanagerPayload,
    AlertmanagerReceipt,
    DeliveryOut,
    SubscriptionIn,
    SubscriptionOut,
    TestSendRequest,
    TestSendResult,
)
from models.alerting import AlertDelivery
from models.tables import utcnow
from wheelflow import security
from wheelflow.alerts import subscriptions as subs
from wheelflow.alerts.rules import operations_alerts
from wheelflow.alerts.store import announce, store_alerts
from wheelflow.db import transaction
from wheelflow.security import Principal

MAX_ID = 2**31 - 1


def _user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise PermissionDeniedException("subscriptions belong to users; API keys have none")
    return principal.user_id


def _spec(data: SubscriptionIn) -> subs.SubscriptionSpec:
    return subs.SubscriptionSpec(**msgspec.structs.asdict(data))


class SubscriptionController(Controller):
    path = "/me/subscriptions"
    tags = ["alerts"]  # noqa: RUF012

    @get("/", guards=[viewer], sync_to_thread=True)
    def list_mine(
        self, reader: NamedDependency[Engine], request: Request[Principal, Any, Any]
    ) -> list[SubscriptionOut]:
        """The caller's subscriptions; channel URLs are shown redacted."""
        with reader.connect() as conn:
            rows = subs.list_subscriptions(conn, _user_id(request.user))
        return [SubscriptionOut(**row) for row in rows]

    @post("/", guards=[viewer], status_code=201, sync_to_thread=True)
    def create(
        self,
        engine: NamedDependency[Engine],
        state: State,
        request: Request[Principal, Any, Any],
        data: JSONBody[SubscriptionIn],
    ) -> SubscriptionOut:
        """Subscribe Apprise channels to alert kinds (empty: all) from a minimum severity, with
        optional quiet hours (local time of ``timezone``; critical alerts bypass them) and a digest
        interval. URLs are stored encrypted and never returned."""
        with transaction(engine) as conn:
            row = subs.create_subscription(
                conn, _user_id(request.user), _spec(data), state.settings
            )
        return SubscriptionOut(**row)

    @put("/{subscription_id:int}", guards=[viewer], sync_to_thread=True)
    def replace(
        self,
        engine: NamedDependency[Engine],
        state: State,
        request: Request[Principal, Any, Any],
        subscription_id: int,
        data: JSONBody[SubscriptionIn],
    ) -> SubscriptionOut:
        with transaction(engine) as conn:
            row = subs.replace_subscription(
                conn, _user_id(request.user), _id(subscription_id), _spec(data), state.settings
            )
        return SubscriptionOut(**row)

    @delete("/{subscription_id:int}", guards=[viewer], status_code=204, sync_to_thread=True)
    def remove(
        self,
        engine: NamedDependency[Engine],
        request: Request[Principal, Any, Any],
        subscription_id: int,
    ) -> None:
        with transaction(engine) as conn:
            subs.delete_subscription(conn, _user_id(request.user), _id(subscription_id))

    @post("/test", guards=[viewer], status_code=200, sync_to_thread=True)
    def test(
        self,
        reader: NamedDependency[Engine],
        state: State,
        request: Request[Principal, Any, Any],
        data: JSONBody[TestSendRequest],
    ) -> list[TestSendResult]:
        """Send a test message to every channel of the caller's subscriptions (or of one)."""
        with reader.connect() as conn:
            results = subs.send_test(
                conn, _user_id(request.user), state.settings, data.subscription_id
            )
        return [TestSendResult(**r) for r in results]


def _id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise subs.SubscriptionNotFound(f"subscription {value} not found")
    return value


class DeliveryController(Controller):
    path = "/alerts"
    tags = ["alerts"]  # noqa: RUF012

    @get("/{alert_id:int}/deliveries", guards=[trader], sync_to_thread=True)
    def deliveries(self, reader: NamedDependency[Engine], alert_id: int) -> list[DeliveryOut]:
        """Where an alert was (or will be) delivered: status, attempts, last error (redacted)."""
        d = AlertDelivery
        with reader.connect() as conn:
            rows = conn.execute(
                select(
                    d.id,
                    d.target,
                    d.status,
                    d.attempts,
                    d.next_attempt_at,
                    d.created_at,
                    d.digest,
                    d.delivered_at,
                    d.last_error,
                )
                .where(d.alert_id == min(max(alert_id, 0), MAX_ID))
                .order_by(d.id)
            ).mappings()
            return [DeliveryOut(**row) for row in rows]


class AlertmanagerController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]  # noqa: RUF012

    @post("/alertmanager", opt=PUBLIC, status_code=200, sync_to_thread=True)
    def alertmanager(
        self,
        engine: NamedDependency[Engine],
        state: State,
        data: JSONBody[AlertmanagerPayload],
        authorization: Annotated[
            str | None, HeaderParameter(name="Authorization", max_length=512)
        ] = None,
    ) -> AlertmanagerReceipt:
        """Prometheus Alertmanager's webhook receiver: its alerts become ``operations`` alerts
        (delivered like every other). Authenticated with ``Authorization: Bearer <token>``
        (``WHEELFLOW_ALERTMANAGER_TOKEN``; Alertmanager's ``http_config.authorization``)."""
        expected = state.settings.alertmanager_token.get_secret_value()
        if not expected:
            raise PermissionDeniedException(
                "Alertmanager webhook disabled: WHEELFLOW_ALERTMANAGER_TOKEN is not set"
            )
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not security.secrets_equal(given.strip(), expected):
            raise NotAuthorizedException("missing or wrong Alertmanager bearer token")
        alerts = operations_alerts([msgspec.structs.asdict(a) for a in data.alerts], now=utcnow())
        with transaction(engine) as conn:
            fresh = store_alerts(conn, alerts)
        announce(engine, fresh)
        return AlertmanagerReceipt(received=len(data.alerts), created=len(fresh))
