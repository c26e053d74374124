"""Authentication (Bearer JWT or ``X-API-Key``), role guards and scope guards.

Every route needs a principal except those whose handler sets ``opt={"exclude_from_auth": True}``
(health, ready, login, refresh, logout, the webhooks) and the OpenAPI pages under /schema.
An access token counts only while its session is live and its token version current
(``wheelflow.sessions``). Roles nest: viewer < trader < admin; API keys also need the scope of
key or user administration (an admin user holds every scope).
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
from sqlalchemy import Connection, Engine

from wheelflow import audit, security
from wheelflow.db import transaction
from wheelflow.security import AuthenticationFailed, Principal
from wheelflow.sessions import SessionGate

PUBLIC = {"exclude_from_auth": True}


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The TCP peer, or what a trusted proxy said it was (uvicorn's forwarded-allow-ips)."""
    return connection.client.host if connection.client else "unknown"


def audit_event(
    conn: Connection,
    connection: ASGIConnection[Any, Any, Any, Any],
    event: str,
    *,
    actor: Principal | None = None,
    actor_name: str | None = None,
    subject: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a security event of this request: its caller (unless ``actor`` is given) and
    client address, inside the caller's transaction."""
    caller = connection.scope.get("user")
    audit.record(
        conn,
        event,
        actor=actor or (caller if isinstance(caller, Principal) else None),
        actor_name=actor_name,
        subject=subject,
        address=client_address(connection),
        detail=detail,
    )


def _api_key_principal(engine: Engine, key: str) -> Principal:
    with transaction(engine) as conn:
        return security.resolve_api_key(conn, key)


async def check_session(gate: SessionGate, principal: Principal) -> None:
    """Refuse a token whose session ended or whose user's tokens were revoked. A cache hit in
    this process's memory answers at once; Redis and the database are asked off the loop."""
    verdict = None
    if principal.session_id is not None and not gate.state.remote:
        verdict = gate.peek(principal)
    if verdict is None:
        await anyio.to_thread.run_sync(gate.check, principal)
    elif verdict:
        raise AuthenticationFailed(verdict)


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
                await check_session(state.sessions, principal)
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


def requires_scope(scope: str) -> Any:
    """A guard letting through principals holding ``scope`` (admins; keys granted it)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = connection.scope.get("user")
        if isinstance(principal, Principal) and not principal.has_scope(scope):
            raise PermissionDeniedException(f"this endpoint requires the {scope} scope")

    guard.__name__ = f"requires_scope_{scope.replace(':', '_')}"
    return guard


viewer = requires("viewer")
trader = requires("trader")
admin = requires("admin")
key_admin = requires_scope("keys:admin")
user_admin = requires_scope("users:admin")
