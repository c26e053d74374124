"""Login, token refresh (rotating), logout, the caller's identity and preferences."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import JSONBody
from sqlalchemy import Engine

from api.auth import PUBLIC, viewer
from models.schemas import LoginRequest, Me, Preferences, RefreshRequest, TokenPair
from wheelflow import security
from wheelflow.db import transaction
from wheelflow.security import Principal, RefreshTokenReused


def _token_pair(state: State, principal: Principal, refresh_token: str) -> TokenPair:
    lifetime = dt.timedelta(minutes=state.settings.jwt_access_minutes)
    access = security.issue_access_token(
        principal.user_id or 0,
        principal.username,
        principal.role,
        secret=state.jwt_secret,
        lifetime=lifetime,
    )
    return TokenPair(
        access_token=access,
        refresh_token=refresh_token,
        expires_in=int(lifetime.total_seconds()),
        role=principal.role,
    )


def _refresh_lifetime(state: State) -> dt.timedelta:
    return dt.timedelta(days=state.settings.refresh_token_days)


def _user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise PermissionDeniedException("preferences belong to users; API keys have none")
    return principal.user_id


class SessionController(Controller):
    path = "/auth"
    tags = ["auth"]  # noqa: RUF012

    @post("/login", opt=PUBLIC, status_code=200, sync_to_thread=True)
    def login(
        self, engine: NamedDependency[Engine], state: State, data: JSONBody[LoginRequest]
    ) -> TokenPair:
        """Exchange username and password for an access token and a refresh token."""
        with transaction(engine) as conn:
            principal = security.authenticate(conn, data.username, data.password)
            refresh = security.issue_refresh_token(
                conn, principal.user_id or 0, lifetime=_refresh_lifetime(state)
            )
        return _token_pair(state, principal, refresh)

    @post("/refresh", opt=PUBLIC, status_code=200, sync_to_thread=True)
    def refresh(
        self, engine: NamedDependency[Engine], state: State, data: JSONBody[RefreshRequest]
    ) -> TokenPair:
        """Spend a refresh token for a new pair. A token works once; reuse ends the session."""
        try:
            with transaction(engine) as conn:
                principal, refresh = security.rotate_refresh_token(
                    conn, data.refresh_token, lifetime=_refresh_lifetime(state)
                )
        except RefreshTokenReused as exc:
            with transaction(engine) as conn:
                security.revoke_family(conn, exc.family_id)
            raise
        return _token_pair(state, principal, refresh)

    @post("/logout", guards=[viewer], status_code=204, sync_to_thread=True)
    def logout(self, engine: NamedDependency[Engine], data: JSONBody[RefreshRequest]) -> None:
        """Revoke the session (refresh-token family) of ``refresh_token``."""
        with transaction(engine) as conn:
            security.revoke_refresh_token(conn, data.refresh_token)

    @get("/me", guards=[viewer])
    async def me(self, request: Request[Principal, Any, Any]) -> Me:
        p = request.user
        return Me(
            username=p.username,
            role=p.role,
            kind=p.kind,
            user_id=p.user_id,
            api_key_id=p.api_key_id,
        )

    @get("/me/preferences", guards=[viewer], sync_to_thread=True)
    def preferences(
        self, reader: NamedDependency[Engine], request: Request[Principal, Any, Any]
    ) -> Preferences:
        with reader.connect() as conn:
            stored = security.get_preferences(conn, _user_id(request.user))
        return Preferences(**stored)

    @put("/me/preferences", guards=[viewer], sync_to_thread=True)
    def set_preferences(
        self,
        engine: NamedDependency[Engine],
        request: Request[Principal, Any, Any],
        data: JSONBody[Preferences],
    ) -> Preferences:
        """Replace the caller's default filters and alert channels."""
        import msgspec

        with transaction(engine) as conn:
            security.set_preferences(conn, _user_id(request.user), msgspec.to_builtins(data))
        return data
