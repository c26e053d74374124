"""Users and API keys (role: admin)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import JSONBody
from sqlalchemy import Engine

from api.auth import admin
from api.params import RowId
from models.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, UserCreate, UserOut, UserUpdate
from wheelflow import security
from wheelflow.db import transaction
from wheelflow.security import Principal


class AdminController(Controller):
    tags = ["admin"]  # noqa: RUF012
    guards = [admin]  # noqa: RUF012

    @get("/users", sync_to_thread=True)
    def users(self, reader: NamedDependency[Engine]) -> list[UserOut]:
        with reader.connect() as conn:
            return security.list_users(conn)  # type: ignore[return-value]

    @post("/users", sync_to_thread=True)
    def create_user(
        self, engine: NamedDependency[Engine], state: State, data: JSONBody[UserCreate]
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
                )
        except ValueError as exc:
            field = "username" if "username" in str(exc) else "password"
            raise ValidationException(
                str(exc), extra=[{"key": field, "message": str(exc)}]
            ) from None
        with engine.connect() as conn:
            return next(u for u in security.list_users(conn) if u["id"] == user_id)  # type: ignore[return-value]

    @patch("/users/{user_id:int}", sync_to_thread=True)
    def update_user(
        self, engine: NamedDependency[Engine], user_id: RowId, data: JSONBody[UserUpdate]
    ) -> UserOut:
        """Enable or disable a user; disabling revokes their sessions."""
        with transaction(engine) as conn:
            if not security.set_user_active(conn, user_id, data.active):
                raise NotFoundException(f"no user with id {user_id}")
            return next(u for u in security.list_users(conn) if u["id"] == user_id)  # type: ignore[return-value]

    @get("/api-keys", sync_to_thread=True)
    def api_keys(self, reader: NamedDependency[Engine]) -> list[ApiKeyOut]:
        with reader.connect() as conn:
            return security.list_api_keys(conn)  # type: ignore[return-value]

    @post("/api-keys", sync_to_thread=True)
    def create_api_key(
        self,
        engine: NamedDependency[Engine],
        request: Request[Principal, Any, Any],
        data: JSONBody[ApiKeyCreate],
    ) -> ApiKeyCreated:
        """Create a key scoped to ``role``. The key is in this response only: store it now."""
        with transaction(engine) as conn:
            key_id, key = security.create_api_key(
                conn, data.name, data.role, created_by=request.user.user_id
            )
        return ApiKeyCreated(id=key_id, name=data.name, role=data.role, key=key)

    @delete("/api-keys/{key_id:int}", sync_to_thread=True)
    def revoke_api_key(self, engine: NamedDependency[Engine], key_id: RowId) -> None:
        with transaction(engine) as conn:
            if not security.revoke_api_key(conn, key_id):
                raise NotFoundException(f"no live API key with id {key_id}")
