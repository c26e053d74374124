"""``POST /webhooks/tradingview``: price alerts from TradingView, shared-secret authenticated."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.params import HeaderParameter, RawBody

from api.auth import PUBLIC
from api.tradingview import TradingViewAlert, parse_tradingview_alert
from models.schemas import WebhookReceipt
from wheelflow import queries, security
from wheelflow.db import transaction

log = logging.getLogger(__name__)


def _store_and_trigger(state: State, alert: TradingViewAlert) -> WebhookReceipt:
    with transaction(state.engine) as conn:
        alert_id, created = queries.record_price_alert(
            conn,
            alert.ticker,
            alert.price,
            source="tradingview",
            payload=alert.fields,
            dedup_window=dt.timedelta(hours=state.settings.webhook_dedup_hours),
        )
    trigger = state.trigger_pipeline
    flow_run_id = None
    if not created:
        outcome = "skipped: duplicate alert"
    elif trigger is None:
        outcome = "not configured: set WHEELFLOW_PREFECT_DEPLOYMENT to trigger a run"
    else:
        try:
            flow_run_id = trigger([alert.ticker])
            outcome = "triggered"
        except Exception as exc:  # the alert is stored; the caller learns the trigger failed
            log.exception("pipeline trigger failed for %s", alert.ticker)
            outcome = f"failed: {type(exc).__name__}: {exc}"[:300]
    return WebhookReceipt(
        alert_id=alert_id,
        created=created,
        ticker=alert.ticker,
        price=alert.price,
        pipeline=outcome,
        flow_run_id=flow_run_id,
    )


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]  # noqa: RUF012

    @post("/tradingview", opt=PUBLIC, status_code=200)
    async def tradingview(
        self,
        state: State,
        request: Request[Any, Any, Any],
        body: RawBody,
        header_secret: Annotated[
            str | None, HeaderParameter(name="X-Wheelflow-Secret", max_length=256)
        ] = None,
    ) -> WebhookReceipt:
        """Store a price alert (de-duplicated per ticker and price for
        WHEELFLOW_WEBHOOK_DEDUP_HOURS) and, when a Prefect deployment is configured, trigger a
        pipeline run for that ticker.

        Body: ``{"ticker": "AAPL", "price": 187.3, "secret": "..."}``, ``ticker=AAPL
        price=187.3`` or ``AAPL 187.3`` (then the secret goes in ``X-Wheelflow-Secret``).
        A secret in the query string is refused: URLs end up in access logs.
        """
        if "secret" in request.query_params:
            raise ValidationException(
                "never put the webhook secret in the URL: send it in the X-Wheelflow-Secret "
                'header or as "secret" in the JSON body',
                extra=[{"key": "secret", "message": "not accepted in the query string"}],
            )
        expected = state.settings.webhook_secret.get_secret_value()
        if not expected:
            raise PermissionDeniedException("webhook disabled: WHEELFLOW_WEBHOOK_SECRET is not set")
        cap = state.settings.webhook_max_body_bytes
        if len(body) > cap:
            raise HTTPException(status_code=413, detail=f"webhook payload over {cap} bytes")
        if header_secret is not None and not security.secrets_equal(header_secret, expected):
            raise NotAuthorizedException("wrong webhook secret")
        alert = parse_tradingview_alert(body)
        if header_secret is None and not security.secrets_equal(alert.secret or "", expected):
            raise NotAuthorizedException("missing or wrong webhook secret")
        return await anyio.to_thread.run_sync(_store_and_trigger, state, alert)
