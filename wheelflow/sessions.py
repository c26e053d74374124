"""Server-side sessions: every access token names its session (``sid``) and its user's token
version (``ver``); both are checked on every request through a short shared cache.

- Logout and refresh-token reuse revoke one session: its refresh tokens and access tokens end.
- Disabling, deleting, a password change or a role change raise the user's ``token_version``
  and revoke all of their sessions: every token of the user ends at once.

Revocations write the new state into the shared cache at once (Redis when configured, so every
API process sees it on its next request); otherwise an entry lives ``cache_seconds``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select, update

from models.auth import AuthSession, RefreshToken, User
from models.tables import utcnow
from wheelflow.principal import AuthenticationFailed, Principal
from wheelflow.shared_state import SharedState

ENDED = b"ended"  # cached value of a revoked session or a disabled/deleted user


def start_session(conn: Connection, user_id: int, *, address: str | None = None) -> str:
    """A new session of ``user_id``; its id is also the family of its refresh tokens."""
    session_id = secrets.token_hex(16)
    conn.execute(
        insert(AuthSession).values(
            id=session_id, user_id=user_id, created_at=utcnow(), address=(address or "")[:64]
        )
    )
    return session_id


def revoke_session(
    conn: Connection, session_id: str, reason: str, *, now: dt.datetime | None = None
) -> bool:
    """End one session and its refresh tokens; False when it was unknown or already ended."""
    now = now or utcnow()
    conn.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == session_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(
        conn.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason[:32])
        ).rowcount
    )


def end_user_tokens(conn: Connection, user_id: int, reason: str) -> int:
    """Raise the user's token version and revoke all their sessions; the new version."""
    now = utcnow()
    conn.execute(
        update(User).where(User.id == user_id).values(token_version=User.token_version + 1)
    )
    conn.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    conn.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason[:32])
    )
    version = conn.execute(select(User.token_version).where(User.id == user_id)).scalar()
    return int(version or 0)


def session_of_refresh_token(conn: Connection, token_hash: str) -> str | None:
    return conn.execute(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == token_hash)
    ).scalar_one_or_none()


@dataclass
class SessionGate:
    """Checks an access token's session and token version, through the shared cache."""

    engine: Engine
    state: SharedState
    cache_seconds: float = 5.0

    @staticmethod
    def _keys(principal: Principal) -> list[str]:
        return [f"session:{principal.session_id}", f"user:{principal.user_id}"]

    def peek(self, principal: Principal) -> str | None:
        """The verdict from the cache: "" (valid), a refusal, or None when not cached."""
        session, user = self.state.get_many(self._keys(principal))
        if session is None or user is None:
            return None
        return _verdict(principal, session, user)

    def check(self, principal: Principal) -> None:
        """Raise AuthenticationFailed unless the token's session and version are current."""
        if principal.session_id is None or principal.user_id is None:
            raise AuthenticationFailed("invalid access token")
        verdict = self.peek(principal)
        if verdict is None:
            verdict = self._load(principal)
        if verdict:
            raise AuthenticationFailed(verdict)

    def _load(self, principal: Principal) -> str:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(User.active, User.token_version, AuthSession.id, AuthSession.revoked_at)
                .select_from(User)
                .outerjoin(
                    AuthSession,
                    (AuthSession.id == principal.session_id) & (AuthSession.user_id == User.id),
                )
                .where(User.id == principal.user_id)
            ).first()
        user = ENDED if row is None or not row.active else str(row.token_version).encode()
        live = row is not None and row.id is not None and row.revoked_at is None
        session = b"live" if live else ENDED
        session_key, user_key = self._keys(principal)
        self.state.set(session_key, session, self.cache_seconds)
        self.state.set(user_key, user, self.cache_seconds)
        return _verdict(principal, session, user)

    def session_ended(self, session_id: str) -> None:
        """Publish a revoked session (call after the revoking transaction committed)."""
        self.state.set(f"session:{session_id}", ENDED, self._revocation_ttl())

    def user_changed(self, user_id: int, token_version: int | None) -> None:
        """Publish a user's new token version, or None when disabled or deleted."""
        value = ENDED if token_version is None else str(token_version).encode()
        self.state.set(f"user:{user_id}", value, self._revocation_ttl())

    def _revocation_ttl(self) -> float:
        # A published revocation must outlive the cache entries it replaces.
        return max(self.cache_seconds, 60.0)


def _verdict(principal: Principal, session: bytes, user: bytes) -> str:
    if user == ENDED:
        return "user disabled or deleted: log in again"
    if session == ENDED:
        return "session ended: log in again"
    if int(user) != principal.token_version:
        return "access token revoked: log in again"
    return ""
