"""The Litestar application factory: ``create_app(settings=None, engine=None)``.

The app holds one SQLAlchemy engine (SQLite or PostgreSQL); handlers are sync functions run in
the thread pool, each calling one function of ``wheelflow.queries`` / ``wheelflow.security``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Litestar, Request
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.stores.base import Store
from sqlalchemy import Engine

from api.alert_dispatch import OutboxDispatcher
from api.auth import PUBLIC, WheelflowAuthMiddleware
from api.cache import SharedStaleWhileRevalidate, StaleWhileRevalidate
from api.controllers.accounts import AccountsController
from api.controllers.admin import AdminController
from api.controllers.alerting import (
    AlertmanagerController,
    DeliveryController,
    SubscriptionController,
)
from api.controllers.market import MarketController
from api.controllers.operations import OperationsController
from api.controllers.portfolio import PortfolioController
from api.controllers.session import SessionController
from api.controllers.system import SystemController
from api.controllers.webhooks import WebhookController
from api.errors import EXCEPTION_HANDLERS
from api.headers import security_headers_hook
from api.live import channels_plugin, live_socket, watcher_lifespan
from api.request_checks import check_request
from api.web import docs_render_plugins, web_routes
from wheelflow import __version__, passwords
from wheelflow.db import ensure_schema, make_engine
from wheelflow.login_limits import LoginLimits
from wheelflow.security import load_or_create_jwt_secret
from wheelflow.sessions import SessionGate
from wheelflow.settings import Settings, get_settings
from wheelflow.shared_state import shared_state

log = logging.getLogger(__name__)

PipelineTrigger = Callable[[list[str]], str | None]
# Request-rate limits per client address (login has its own: wheelflow.login_limits).
RATE_LIMITED = {
    "/auth/refresh": "login",
    "/webhooks/tradingview": "webhook",
    "/webhooks/alertmanager": "webhook",
    "/me/subscriptions/test": "webhook",
}


def prefect_deployment_trigger(deployment: str) -> PipelineTrigger:
    """A trigger starting ``deployment`` ("flow/deployment") for the symbols, not waiting."""

    def trigger(symbols: list[str]) -> str | None:
        from prefect.deployments import run_deployment

        flow_run: Any = run_deployment(name=deployment, parameters={"symbols": symbols}, timeout=0)
        return str(flow_run.id)

    return trigger


def _rate_limit(group: str, per_minute: int) -> DefineMiddleware:
    """Per client address, for the paths of ``group`` only (refresh, or the webhook); the
    counters live in the app's store ``rate_limit_<group>`` (Redis when configured).

    Hooks here and in guards are ``async``: Litestar runs sync hooks in the thread pool.
    """

    async def applies(request: Request[Any, Any, Any]) -> bool:
        return RATE_LIMITED.get(request.url.path) == group

    return RateLimitConfig(
        rate_limit=("minute", per_minute),
        check_throttle_handler=applies,
        identifier_for_request=lambda request: f"{group}:{get_remote_address(request)}",
        store=f"rate_limit_{group}",
    ).middleware


def _rate_limit_stores(settings: Settings) -> dict[str, Store]:
    """The rate limiter's counters: in Redis when configured, so processes count together."""
    if not settings.redis_url:
        return {}
    from litestar.stores.redis import RedisStore
    from redis.asyncio import Redis

    client = Redis.from_url(settings.redis_url)
    return {
        f"rate_limit_{group}": RedisStore(
            client, namespace=f"{settings.redis_key_prefix}rate-limit:{group}"
        )
        for group in ("login", "webhook")
    }


class MetricsController(PrometheusController):
    """``GET /metrics``: the API's request counters and latencies (prometheus_client's registry),
    public like /health so that Prometheus scrapes it without a token."""

    path = "/metrics"
    opt = PUBLIC
    include_in_schema = False


# Request count, duration and in-flight gauges per method, path template and status.
PROMETHEUS = PrometheusConfig(app_name="wheelflow-api", prefix="wheelflow_api", group_path=True)


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    trigger_pipeline: PipelineTrigger | None = None,
) -> Litestar:
    """Build the API over ``engine`` (default: the configured database, migrated at start-up).

    ``trigger_pipeline`` starts a pipeline run for a list of symbols and returns its id; by
    default it runs the Prefect deployment named by WHEELFLOW_PREFECT_DEPLOYMENT, if set.
    """
    settings = settings or get_settings()
    own_engine = engine is None
    engine = engine or make_engine(settings.resolved_database_url)
    if trigger_pipeline is None and settings.prefect_deployment:
        trigger_pipeline = prefect_deployment_trigger(settings.prefect_deployment)
    shared = shared_state(settings.redis_url, settings.redis_key_prefix)
    state = State(
        {
            "shared": shared,
            "sessions": SessionGate(engine, shared, settings.session_cache_seconds),
            "login_limits": LoginLimits(
                shared,
                per_address=settings.login_rate_per_minute,
                per_account=settings.login_account_failures,
                account_window_seconds=settings.login_account_window_minutes * 60,
            ),
            "settings": settings,
            "engine": engine,
            "jwt_secret": load_or_create_jwt_secret(
                settings.jwt_secret.get_secret_value(), settings.data_dir
            ),
            "trigger_pipeline": trigger_pipeline,
            "rankings_cache": SharedStaleWhileRevalidate(shared, settings.api_cache_seconds)
            if shared.remote
            else StaleWhileRevalidate(settings.api_cache_seconds),
        }
    )

    # Reads run in autocommit: under READ COMMITTED a transaction adds no consistency to a
    # read, only BEGIN/ROLLBACK round trips. Writes use ``engine`` (one transaction each).
    reader = engine.execution_options(isolation_level="AUTOCOMMIT")

    def provide_engine() -> Engine:
        return engine

    def provide_reader() -> Engine:
        return reader

    dispatcher = OutboxDispatcher(engine, settings)

    def on_startup() -> None:
        if own_engine:
            ensure_schema(engine)
        passwords.dummy_hash()  # once, before the first login (constant-time unknown users)
        dispatcher.start()

    def on_shutdown() -> None:
        dispatcher.stop()
        if own_engine:
            engine.dispose()

    openapi = OpenAPIConfig(
        title="wheelflow API",
        version=__version__,
        description="Rankings, chains, positions, risk and alerts of the wheelflow pipeline.",
        path="/schema",
        render_plugins=docs_render_plugins(settings),
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                "ApiKey": SecurityScheme(
                    type="apiKey", name="X-API-Key", security_scheme_in="header"
                ),
            }
        ),
        security=[{"BearerToken": []}, {"ApiKey": []}],
    )
    return Litestar(
        route_handlers=[
            SystemController,
            SessionController,
            AdminController,
            AccountsController,
            MarketController,
            PortfolioController,
            OperationsController,
            WebhookController,
            SubscriptionController,
            DeliveryController,
            AlertmanagerController,
            MetricsController,
            live_socket,
            *web_routes(settings),
        ],
        plugins=[channels_plugin(settings)],
        lifespan=[watcher_lifespan(settings)],
        state=state,
        dependencies={
            "engine": Provide(provide_engine, sync_to_thread=False),
            "reader": Provide(provide_reader, sync_to_thread=False),
        },
        middleware=[
            PROMETHEUS.middleware,
            _rate_limit("login", settings.login_rate_per_minute),
            _rate_limit("webhook", settings.webhook_rate_per_minute),
            DefineMiddleware(WheelflowAuthMiddleware, exclude=["^/schema"]),
        ],
        stores=_rate_limit_stores(settings),
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=check_request,
        before_send=[security_headers_hook(settings)],
        cors_config=CORSConfig(allow_origins=settings.cors_origins)
        if settings.cors_origins
        else None,
        request_max_body_size=settings.api_max_body_bytes,
        openapi_config=openapi,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
    )
