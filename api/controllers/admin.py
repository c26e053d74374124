"""Users, API keys and the audit log (role: admin; API keys also need the matching scope)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.params import FromQuery, JSONBody, QueryParameter
from sqlalchemy import Engine

from api.auth import admin, audit_event, key_admin, user_admin
from api.params import QueryRowId, RowId
from models.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuditEventOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from wheelflow import audit, security
from wheelflow.db import transaction
from wheelflow.security import Principal

AuditEventName = Annotated[str | None, QueryParameter(max_length=40)]


def _user_out(engine: Engine, user_id: int) -> UserOut:
    with engine.connect() as conn:
        return next(u for u in security.list_users(conn) if u["id"] == user_id)  # type: ignore[return-value]


class AdminController(Controller):
    tags = ["admin"]  # noqa: RUF012
    guards = [admin]  # noqa: RUF012

    @get("/users", guards=[user_admin], sync_to_thread=True)
    def users(self, reader: NamedDependency[Engine]) -> list[UserOut]:
        with reader.connect() as conn:
            return security.list_users(conn)  # type: ignore[return-value]

    @post("/users", guards=[user_admin], sync_to_thread=True)
    def create_user(
        self,
        engine: NamedDependency[Engine],
        state: State,
        request: Request[Principal, Any, Any],
        data: JSONBody[UserCreate],
    ) -> UserOut:
        """Create a user. The password needs WHEELFLOW_PASSWORD_MIN_LENGTH (12) characters and
        a zxcvbn strength score of WHEELFLOW_PASSWORD_MIN_SCORE (3); names are unique in any case.
        """
        try:
            with transaction(engine) as conn:
                user_id = security.create_user(
                    conn,
                    data.username,
                    data.password,
                    data.role,
                    policy=state.settings.password_policy,
                    created_by=request.user,
                )
                audit_event(
                    conn,
                    request,
                    "user_created",
                    subject=f"user:{user_id}",
                    detail={"username": data.username, "role": data.role},
                )
        except ValueError as exc:
            field = "username" if "username" in str(exc) else "password"
            raise ValidationException(
                str(exc), extra=[{"key": field, "message": str(exc)}]
            ) from None
        return _user_out(engine, user_id)

    @patch("/users/{user_id:int}", guards=[user_admin], sync_to_thread=True)
    def update_user(
        self,
        engine: NamedDependency[Engine],
        state: State,
        request: Request[Principal, Any, Any],
        user_id: RowId,
        data: JSONBody[UserUpdate],
    ) -> UserOut:
        """Enable or disable a user, or change their role. Disabling and a role change end
        every session and token of the user at once."""
        with transaction(engine) as conn:
            change = security.update_user(conn, user_id, active=data.active, role=data.role)
            if change is None:
                raise NotFoundException(f"no user with id {user_id}")
            audit_event(
                conn,
                request,
                "user_updated",
                subject=f"user:{user_id}",
                detail={
                    "active": data.active,
                    "role": data.role,
                    "tokens_ended": change.tokens_ended,
                },
            )
        state.sessions.user_changed(user_id, change.token_version if change.active else None)
        return _user_out(engine, user_id)

    @delete("/users/{user_id:int}", guards=[user_admin], sync_to_thread=True)
    def delete_user(
        self,
        engine: NamedDependency[Engine],
        state: State,
        request: Request[Principal, Any, Any],
        user_id: RowId,
    ) -> None:
        """Delete a user; their sessions and tokens end at once."""
        if request.user.user_id == user_id:
            raise PermissionDeniedException("you cannot delete yourself")
        with transaction(engine) as conn:
            if not security.delete_user(conn, user_id):
                raise NotFoundException(f"no user with id {user_id}")
            audit_event(
                conn,
                request,
                "user_deleted",
                subject=f"user:{user_id}",
            )
        state.sessions.user_changed(user_id, None)

    @get("/api-keys", guards=[key_admin], sync_to_thread=True)
    def api_keys(self, reader: NamedDependency[Engine]) -> list[ApiKeyOut]:
        with reader.connect() as conn:
            return security.list_api_keys(conn)  # type: ignore[return-value]

    @post("/api-keys", guards=[key_admin], sync_to_thread=True)
    def create_api_key(
        self,
        engine: NamedDependency[Engine],
        request: Request[Principal, Any, Any],
        data: JSONBody[ApiKeyCreate],
    ) -> ApiKeyCreated:
        """Create a key with ``role`` and optional ``scopes`` (``keys:admin``, ``users:admin``:
        admin keys need them to manage keys or users). A caller cannot grant what it lacks; the
        minter is recorded. The key is in this response only: store it now."""
        try:
            with transaction(engine) as conn:
                key_id, key = security.create_api_key(
                    conn, data.name, data.role, scopes=data.scopes, minted_by=request.user
                )
                audit_event(
                    conn,
                    request,
                    "api_key_created",
                    subject=f"key:{key_id}",
                    detail={"name": data.name, "role": data.role, "scopes": list(data.scopes)},
                )
        except PermissionError as exc:
            raise PermissionDeniedException(str(exc)) from None
        return ApiKeyCreated(
            id=key_id, name=data.name, role=data.role, scopes=list(data.scopes), key=key
        )

    @delete("/api-keys/{key_id:int}", guards=[key_admin], sync_to_thread=True)
    def revoke_api_key(
        self, engine: NamedDependency[Engine], request: Request[Principal, Any, Any], key_id: RowId
    ) -> None:
        with transaction(engine) as conn:
            if not security.revoke_api_key(conn, key_id):
                raise NotFoundException(f"no live API key with id {key_id}")
            audit_event(
                conn,
                request,
                "api_key_revoked",
                subject=f"key:{key_id}",
            )

    @get("/audit", sync_to_thread=True)
    def audit_log(
        self,
        reader: NamedDependency[Engine],
        event: FromQuery[audit.EventName | None] = None,
        before_id: QueryRowId = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[AuditEventOut]:
        """Security events newest first (logins, failures, lockouts, revocations, user, role
        and key changes); page backwards with ``before_id``."""
        with reader.connect() as conn:
            return audit.events(conn, event=event, before_id=before_id, limit=limit)  # type: ignore[return-value]
