"""Login, token refresh (rotating), logout, the caller's identity and preferences.

Token answers carry the refresh token twice: in the JSON body (for programs) and in an httpOnly
``SameSite=Strict`` cookie scoped to ``/auth`` (for browsers: page scripts never see it, and the
browser sends it only to /auth/refresh and /auth/logout of this origin).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.params import JSONBody
from sqlalchemy import Engine

from api.auth import PUBLIC, audit_event, client_address, viewer
from models.schemas import (
    LoginRequest,
    Me,
    PasswordChange,
    Preferences,
    RefreshRequest,
    TokenPair,
)
from wheelflow import security, sessions
from wheelflow.db import transaction
from wheelflow.login_limits import LoginLimited, LoginLimits
from wheelflow.passwords import WeakPassword
from wheelflow.security import AuthenticationFailed, Principal, RefreshTokenReused

REFRESH_COOKIE = "wheelflow_refresh"
REFRESH_COOKIE_PATH = "/auth"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _refresh_cookie(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    """The refresh-token cookie: httpOnly, SameSite=Strict, /auth only, Secure over TLS."""
    return Cookie(
        key=REFRESH_COOKIE,
        value=value,
        path=REFRESH_COOKIE_PATH,
        max_age=max_age,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


def _token_response(
    request: Request[Any, Any, Any], principal: Principal, refresh_token: str
) -> Response[TokenPair]:
    """The token pair as JSON, the refresh token also as a cookie, never stored by caches."""
    state = request.app.state
    lifetime = dt.timedelta(minutes=state.settings.jwt_access_minutes)
    access = security.issue_access_token(
        principal.user_id or 0,
        principal.username,
        principal.role,
        secret=state.jwt_secret,
        lifetime=lifetime,
        session_id=principal.session_id,
        token_version=principal.token_version,
    )
    pair = TokenPair(
        access_token=access,
        refresh_token=refresh_token,
        expires_in=int(lifetime.total_seconds()),
        role=principal.role,
    )
    max_age = int(_refresh_lifetime(state).total_seconds())
    return Response(
        pair, headers=NO_STORE, cookies=[_refresh_cookie(request, refresh_token, max_age)]
    )


def _presented_refresh_token(
    request: Request[Any, Any, Any], data: RefreshRequest | None
) -> str | None:
    """The refresh token of the JSON body, else of the cookie."""
    if data is not None and data.refresh_token:
        return data.refresh_token
    cookie = request.cookies.get(REFRESH_COOKIE)
    return cookie[:256] if cookie else None


def _refresh_lifetime(state: State) -> dt.timedelta:
    return dt.timedelta(days=state.settings.refresh_token_days)


def _bearer_principal(request: Request[Any, Any, Any]) -> Principal | None:
    """The validly signed bearer token of a public route (logout), if any."""
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() != "bearer ":
        return None
    try:
        return security.decode_access_token(
            authorization[7:].strip(), secret=request.app.state.jwt_secret
        )
    except AuthenticationFailed:
        return None


def _user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise PermissionDeniedException("preferences belong to users; API keys have none")
    return principal.user_id


class SessionController(Controller):
    path = "/auth"
    tags = ["auth"]  # noqa: RUF012

    @post("/login", opt=PUBLIC, status_code=200, sync_to_thread=True)
    def login(
        self,
        engine: NamedDependency[Engine],
        request: Request[Any, Any, Any],
        data: JSONBody[LoginRequest],
    ) -> Response[TokenPair]:
        """Exchange username and password for an access token and a refresh token.

        The refresh token is in the body and in the httpOnly ``wheelflow_refresh`` cookie.
        Failed logins are limited per client address and per account (429 with Retry-After).
        """
        state = request.app.state
        address = client_address(request)
        limits: LoginLimits = state.login_limits
        try:
            limits.check(data.username, address)
        except LoginLimited as exc:
            with transaction(engine) as conn:
                audit_event(
                    conn,
                    request,
                    "login_locked",
                    actor_name=data.username,
                    subject=f"username:{data.username}",
                    detail={"limit": exc.scope},
                )
            raise TooManyRequestsException(
                str(exc), headers={"Retry-After": str(exc.retry_after_seconds)}
            ) from None
        try:
            with transaction(engine) as conn:
                principal = security.authenticate(conn, data.username, data.password)
                session_id = sessions.start_session(conn, principal.user_id or 0, address=address)
                refresh = security.issue_refresh_token(
                    conn,
                    principal.user_id or 0,
                    lifetime=_refresh_lifetime(state),
                    family_id=session_id,
                )
                audit_event(
                    conn, request, "login", actor=principal, subject=f"session:{session_id}"
                )
        except AuthenticationFailed:
            limits.failed(data.username, address)
            with transaction(engine) as conn:
                audit_event(
                    conn,
                    request,
                    "login_failed",
                    actor_name=data.username,
                    subject=f"username:{data.username}",
                )
            raise
        limits.succeeded(data.username)
        principal = replace(principal, session_id=session_id)
        return _token_response(request, principal, refresh)

    @post("/refresh", opt=PUBLIC, status_code=200, sync_to_thread=True)
    def refresh(
        self,
        engine: NamedDependency[Engine],
        request: Request[Any, Any, Any],
        data: JSONBody[RefreshRequest | None] = None,
    ) -> Response[TokenPair]:
        """Spend a refresh token (JSON ``refresh_token``, else the ``wheelflow_refresh`` cookie)
        for a new pair. A token works once; presenting a spent one again ends the session, its
        access tokens included."""
        token = _presented_refresh_token(request, data)
        if token is None:
            raise NotAuthorizedException(
                "send the refresh token as JSON {'refresh_token': ...} or in the cookie"
            )
        try:
            with transaction(engine) as conn:
                principal, refresh = security.rotate_refresh_token(
                    conn, token, lifetime=_refresh_lifetime(request.app.state)
                )
        except RefreshTokenReused as exc:
            with transaction(engine) as conn:
                security.revoke_family(conn, exc.family_id)
                audit_event(
                    conn,
                    request,
                    "session_revoked",
                    subject=f"session:{exc.family_id}",
                    detail={"reason": "refresh token reused"},
                )
            request.app.state.sessions.session_ended(exc.family_id)
            raise
        return _token_response(request, principal, refresh)

    @post("/logout", opt=PUBLIC, status_code=204, sync_to_thread=True)
    def logout(
        self,
        engine: NamedDependency[Engine],
        request: Request[Any, Any, Any],
        data: JSONBody[RefreshRequest | None] = None,
    ) -> Response[None]:
        """End the session of the refresh token (JSON body or cookie) and of the bearer access
        token, if sent: their refresh and access tokens stop working at once. Clears the cookie.

        Idempotent: an unknown or already ended session also answers 204.
        """
        state = request.app.state
        ended: set[str] = set()
        principal = _bearer_principal(request)
        token = _presented_refresh_token(request, data)
        with transaction(engine) as conn:
            if token is not None:
                session_id = security.revoke_refresh_token(conn, token)
                if session_id is not None:
                    ended.add(session_id)
            if principal is not None and principal.session_id is not None:
                sessions.revoke_session(conn, principal.session_id, "logout")
                ended.add(principal.session_id)
            for session_id in sorted(ended):
                audit_event(
                    conn,
                    request,
                    "logout",
                    actor=principal,
                    subject=f"session:{session_id}",
                )
        for session_id in ended:
            state.sessions.session_ended(session_id)
        return Response(
            None, status_code=204, headers=NO_STORE, cookies=[_refresh_cookie(request, "", 0)]
        )

    @put("/me/password", guards=[viewer], sync_to_thread=True)
    def change_password(
        self,
        engine: NamedDependency[Engine],
        request: Request[Principal, Any, Any],
        data: JSONBody[PasswordChange],
    ) -> Response[TokenPair]:
        """Change the caller's password (the current one is required). Every session and token
        of the user ends; the answer is a fresh token pair (and cookie) for this client."""
        state = request.app.state
        user_id = _user_id(request.user)
        try:
            with transaction(engine) as conn:
                version = security.change_password(
                    conn,
                    user_id,
                    data.current_password,
                    data.new_password,
                    state.settings.password_policy,
                )
                session_id = sessions.start_session(conn, user_id, address=client_address(request))
                refresh = security.issue_refresh_token(
                    conn, user_id, lifetime=_refresh_lifetime(state), family_id=session_id
                )
                audit_event(
                    conn,
                    request,
                    "password_changed",
                    subject=f"user:{user_id}",
                )
        except WeakPassword as exc:
            raise ValidationException(
                str(exc), extra=[{"key": "new_password", "message": str(exc)}]
            ) from None
        state.sessions.user_changed(user_id, version)
        principal = replace(request.user, session_id=session_id, token_version=version)
        return _token_response(request, principal, refresh)

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
