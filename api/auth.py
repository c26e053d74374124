"""Authentication (Bearer JWT or ``X-API-Key``) and role guards.

Every route needs a principal except those whose handler sets ``opt={"exclude_from_auth": True}``
(health, ready, login, refresh, the TradingView webhook) and the OpenAPI pages under /schema.
Roles nest: viewer < trader < admin.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)
from sqlalchemy import Engine

from wheelflow import security
from wheelflow.db import transaction
from wheelflow.security import AuthenticationFailed, Principal

PUBLIC = {"exclude_from_auth": True}


def _api_key_principal(engine: Engine, key: str) -> Principal:
    with transaction(engine) as conn:
        return security.resolve_api_key(conn, key)


class WheelflowAuthMiddleware(AbstractAuthenticationMiddleware):
    """Sets ``request.user`` to a Principal, or answers 401 naming what was wrong."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        state = connection.app.state
        api_key = connection.headers.get("x-api-key")
        authorization = connection.headers.get("authorization", "")
        try:
            if api_key:
                principal = await anyio.to_thread.run_sync(
                    _api_key_principal, state.engine, api_key
                )
            elif authorization[:7].lower() == "bearer ":
                principal = security.decode_access_token(
                    authorization[7:].strip(), secret=state.jwt_secret
                )
            else:
                raise NotAuthorizedException(
                    "authentication required: send 'Authorization: Bearer <access token>' "
                    "or 'X-API-Key: <key>'"
                )
        except AuthenticationFailed as exc:
            raise NotAuthorizedException(str(exc)) from None
        return AuthenticationResult(user=principal, auth=principal.kind)


def requires(role: str) -> Any:
    """A guard letting through principals whose role includes ``role``."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = connection.scope.get("user")
        if not isinstance(principal, Principal):
            if connection.scope.get("method") == "OPTIONS":  # CORS preflight: no credentials
                return
            raise NotAuthorizedException("authentication required")
        if not security.role_allows(principal.role, role):
            raise PermissionDeniedException(f"this endpoint requires the {role} role")

    guard.__name__ = f"requires_{role}"
    return guard


viewer = requires("viewer")
trader = requires("trader")
admin = requires("admin")
