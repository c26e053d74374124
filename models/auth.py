"""Tables of the API's user service: users, sessions, refresh tokens, API keys, preferences,
the audit log of security events, and who belongs to which trading account (users, teams).

Secrets are never stored in clear: passwords as argon2id hashes, refresh tokens and API keys as
SHA-256 digests of high-entropy random strings (a fast digest is enough for 256-bit randoms).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.tables import Base, utcnow


class User(Base):
    """A person who logs in; ``role`` is one of viewer|trader|admin.

    ``token_version`` is in every access token; raising it (disable, password or role change)
    ends all of the user's tokens at once. Usernames are unique regardless of case.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_key: Mapped[int | None] = mapped_column(Integer)  # api_keys.id (keys are kept)

    __table_args__ = (Index("uq_users_username_lower", func.lower(username), unique=True),)


class AuthSession(Base):
    """One login: its refresh tokens share ``id`` as their family, its access tokens carry it
    as ``sid``. Revoking the session ends both at once."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    address: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class RefreshToken(Base):
    """One refresh token; rotation marks it used and issues the next one in the same family.

    Presenting a used token again means it leaked: the whole family is revoked.
    """

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ApiKey(Base):
    """A key for programs, scoped to a role; ``prefix`` (first characters) names it in lists."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # space-separated extra rights beyond the role, e.g. "keys:admin users:admin"
    scopes: Mapped[str] = mapped_column(String(255), default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_key: Mapped[int | None] = mapped_column(Integer)  # the minting key's id
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class UserPreference(Base):
    """Default strategy filters and alert channels of one user (validated by the API schema)."""

    __tablename__ = "user_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    preferences: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditEvent(Base):
    """A security event: logins, failures, lockouts, revocations, key, user and role changes.

    Actors and subjects are copied as text and ids without foreign keys: the record outlives
    the users and keys it names.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    event: Mapped[str] = mapped_column(String(40), index=True)
    actor: Mapped[str | None] = mapped_column(String(80))  # username or key:<name>
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_key_id: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(String(128))  # e.g. user:5, key:3, session:ab12
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Team(Base):
    """A named group of users; a team can own trading accounts."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AccountMember(Base):
    """A user or a team (exactly one) that owns trading account ``account`` (``accounts``,
    ``positions.account``). Traders see and act on their accounts only; admins on all."""

    __tablename__ = "account_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)", name="one_owner"),)


__all__ = [
    "AccountMember",
    "ApiKey",
    "AuditEvent",
    "AuthSession",
    "RefreshToken",
    "Team",
    "TeamMember",
    "User",
    "UserPreference",
]
