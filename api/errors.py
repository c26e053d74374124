"""Exception handlers: wheelflow's domain errors become 4xx JSON bodies that name the field."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.types import ExceptionHandlersMap
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from wheelflow.alerts.subscriptions import SubscriptionNotFound
from wheelflow.errors import WheelflowError
from wheelflow.queries import NotFound, QueryInputError
from wheelflow.security import AuthenticationFailed

log = logging.getLogger(__name__)


def _body(status: int, detail: str, extra: list[dict[str, Any]] | None = None) -> Response[Any]:
    content: dict[str, Any] = {"status_code": status, "detail": detail}
    if extra:
        content["extra"] = extra
    return Response(content, status_code=status)


def query_input_error(_: Request[Any, Any, Any], exc: QueryInputError) -> Response[Any]:
    return _body(400, f"Validation failed: {exc}", [{"key": exc.field, "message": exc.message}])


def not_found(_: Request[Any, Any, Any], exc: NotFound | SubscriptionNotFound) -> Response[Any]:
    return _body(404, str(exc))


def authentication_failed(_: Request[Any, Any, Any], exc: AuthenticationFailed) -> Response[Any]:
    return _body(401, str(exc))


def wheelflow_error(_: Request[Any, Any, Any], exc: WheelflowError) -> Response[Any]:
    return _body(400, str(exc))


def database_unavailable(request: Request[Any, Any, Any], exc: OperationalError) -> Response[Any]:
    log.warning("database unavailable on %s: %s", request.url.path, exc.orig or exc)
    return _body(503, "database unavailable, retry later")


def shared_state_unavailable(request: Request[Any, Any, Any], exc: RedisError) -> Response[Any]:
    """Redis (limits, sessions) is down: refuse (fail closed) with a retryable 503."""
    log.warning("shared state (Redis) unavailable on %s: %s", request.url.path, exc)
    return _body(503, "shared state unavailable, retry later")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    OperationalError: database_unavailable,
    RedisError: shared_state_unavailable,
    QueryInputError: query_input_error,
    NotFound: not_found,
    SubscriptionNotFound: not_found,
    AuthenticationFailed: authentication_failed,
    WheelflowError: wheelflow_error,
}
