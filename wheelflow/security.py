"""The user service as plain functions: users, access tokens, refresh rotation, API keys.

- Passwords: argon2id and a strength policy (``wheelflow.passwords``). Usernames are unique
  regardless of case (``Admin1`` is ``admin1``) and log in in any case.
- Access tokens: HS256 JWTs carrying ``sub`` (user id), ``username``, ``role``, ``exp``.
- Refresh tokens and API keys: 256-bit random strings, stored as SHA-256 digests. A refresh token
  is single-use: rotation marks it used and issues the next one of the same family; presenting a
  used one again revokes the whole family (OAuth 2.0 Security BCP, refresh token rotation).

Database functions take a SQLAlchemy ``Connection`` inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from sqlalchemy import Connection, func, insert, select, update

from models.auth import ApiKey, RefreshToken, User, UserPreference
from models.tables import utcnow
from wheelflow.errors import WheelflowError
from wheelflow.passwords import (
    DEFAULT_POLICY,
    PasswordPolicy,
    check_password,
    hash_password,
    verify_password,
    verify_unknown_user,
)

log = logging.getLogger(__name__)

ROLES: tuple[str, ...] = ("viewer", "trader", "admin")
_ROLE_LEVEL = {role: level for level, role in enumerate(ROLES)}
JWT_ALGORITHM = "HS256"
API_KEY_PREFIX = "wfk_"
API_KEY_TOUCH_INTERVAL = dt.timedelta(minutes=1)


class AuthenticationFailed(WheelflowError):
    """Credentials or a token were refused; the message is safe to show the client."""


class RefreshTokenReused(AuthenticationFailed):
    """A spent refresh token came back: it leaked. The caller revokes ``family_id``."""

    def __init__(self, family_id: str) -> None:
        super().__init__("refresh token already used: its session is revoked")
        self.family_id = family_id


@dataclass(frozen=True)
class Principal:
    """Who is calling: a logged-in user or a program holding an API key."""

    role: str
    username: str
    user_id: int | None = None
    api_key_id: int | None = None

    @property
    def kind(self) -> str:
        return "api_key" if self.api_key_id is not None else "user"


# Access tokens whose signature was verified: (token, secret) -> (principal, exp epoch seconds)
_VERIFIED_TOKENS_MAX = 4096
_verified_tokens: OrderedDict[tuple[str, str], tuple[Principal, float]] = OrderedDict()
_verified_lock = threading.Lock()


def role_allows(role: str, required: str) -> bool:
    """True when ``role`` includes the rights of ``required`` (viewer < trader < admin)."""
    return _ROLE_LEVEL.get(role, -1) >= _ROLE_LEVEL[required]


def check_role(role: str) -> str:
    if role not in _ROLE_LEVEL:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


# --------------------------------------------------------------------------- secrets


def token_digest(token: str) -> str:
    """SHA-256 hex digest under which a refresh token or API key is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def secrets_equal(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(given.encode(), expected.encode())


def load_or_create_jwt_secret(configured: str, data_dir: Path) -> str:
    """The JWT signing secret: the configured one, else one generated once into ``data_dir``.

    The generated secret lives in ``<data_dir>/jwt_secret`` (mode 0600) so tokens survive restarts.
    """
    if configured:
        return configured
    path = data_dir / "jwt_secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    log.warning("WHEELFLOW_JWT_SECRET is not set: generated one in %s; set it in production", path)
    return secret


# --------------------------------------------------------------------------- access tokens


def issue_access_token(
    user_id: int,
    username: str,
    role: str,
    *,
    secret: str,
    lifetime: dt.timedelta,
    now: dt.datetime | None = None,
) -> str:
    """A signed JWT valid for ``lifetime`` from ``now`` (aware or naive UTC)."""
    issued = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=dt.UTC)
    claims = {
        "sub": str(user_id),
        "username": username,
        "role": role,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> Principal:
    """The principal of a valid token; raises AuthenticationFailed saying why otherwise.

    A token whose signature was verified once is remembered (bounded LRU) until it expires:
    verifying HS256 and parsing claims was ~40 % of the API's CPU on a cached rankings page.
    """
    key = (token, secret)
    remembered = _verified_tokens.get(key)
    if remembered is not None:
        principal, expires_at = remembered
        if time.time() < expires_at:
            return principal
        raise AuthenticationFailed("access token expired")
    try:
        claims = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("access token expired") from None
    except jwt.PyJWTError:
        raise AuthenticationFailed("invalid access token") from None
    role = claims.get("role")
    if role not in _ROLE_LEVEL or not str(claims["sub"]).isdigit():
        raise AuthenticationFailed("invalid access token")
    principal = Principal(
        role=role, username=str(claims.get("username", "")), user_id=int(claims["sub"])
    )
    with _verified_lock:
        _verified_tokens[key] = (principal, float(claims["exp"]))
        while len(_verified_tokens) > _VERIFIED_TOKENS_MAX:
            _verified_tokens.popitem(last=False)
    return principal


# --------------------------------------------------------------------------- users


def _same_username(username: str) -> Any:
    return func.lower(User.username) == username.lower()


def create_user(
    conn: Connection,
    username: str,
    password: str,
    role: str,
    *,
    policy: PasswordPolicy = DEFAULT_POLICY,
) -> int:
    """Create a user; raises ValueError if the name is taken (in any case) or a value is invalid
    (WeakPassword, a ValueError, when the password breaks ``policy``)."""
    username = username.strip()
    if not username or len(username) > 64:
        raise ValueError("username must have 1 to 64 characters")
    check_role(role)
    check_password(password, policy, username=username)
    if conn.execute(select(User.id).where(_same_username(username))).first():
        raise ValueError(f"username {username!r} is taken")
    result = conn.execute(
        insert(User).values(
            username=username,
            password_hash=hash_password(password),
            role=role,
            active=True,
            created_at=utcnow(),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def authenticate(conn: Connection, username: str, password: str) -> Principal:
    """The principal for a correct active username/password; AuthenticationFailed otherwise.

    Unknown names, wrong passwords and disabled users cost one argon2 verification each and get
    the same answer, so neither the answer nor its time tells which names exist.
    """
    row = conn.execute(
        select(User.id, User.username, User.role, User.password_hash, User.active).where(
            _same_username(username)
        )
    ).first()
    if row is None:
        verify_unknown_user(password)
        raise AuthenticationFailed("invalid username or password")
    if not verify_password(row.password_hash, password) or not row.active:
        raise AuthenticationFailed("invalid username or password")
    conn.execute(update(User).where(User.id == row.id).values(last_login_at=utcnow()))
    return Principal(role=row.role, username=row.username, user_id=row.id)


def list_users(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            User.id, User.username, User.role, User.active, User.created_at, User.last_login_at
        ).order_by(User.id)
    ).mappings()
    return [dict(r) for r in rows]


def set_user_active(conn: Connection, user_id: int, active: bool) -> bool:
    """Enable or disable a user; disabling also revokes their refresh tokens."""
    done = conn.execute(update(User).where(User.id == user_id).values(active=active)).rowcount
    if done and not active:
        conn.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    return bool(done)


# --------------------------------------------------------------------------- refresh tokens


def issue_refresh_token(
    conn: Connection,
    user_id: int,
    *,
    lifetime: dt.timedelta,
    family_id: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """A new refresh token (returned once, in clear) of ``family_id`` (a new family if None)."""
    issued = now or utcnow()
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(RefreshToken).values(
            user_id=user_id,
            token_hash=token_digest(token),
            family_id=family_id or secrets.token_hex(16),
            issued_at=issued,
            expires_at=issued + lifetime,
        )
    )
    return token


def rotate_refresh_token(
    conn: Connection, token: str, *, lifetime: dt.timedelta, now: dt.datetime | None = None
) -> tuple[Principal, str]:
    """Spend ``token`` and return its user with the next token of the family.

    A reused token raises RefreshTokenReused: the caller revokes the family in a transaction of
    its own (this one rolls back). Expired, revoked and unknown tokens raise AuthenticationFailed.
    """
    now = now or utcnow()
    t = RefreshToken
    row = conn.execute(
        select(
            t.id,
            t.user_id,
            t.family_id,
            t.expires_at,
            t.used_at,
            t.revoked_at,
            User.username,
            User.role,
            User.active,
        )
        .join(User, User.id == t.user_id)
        .where(t.token_hash == token_digest(token))
    ).first()
    if row is None:
        raise AuthenticationFailed("invalid refresh token")
    if row.revoked_at is not None:
        raise AuthenticationFailed("refresh token revoked")
    if row.used_at is not None:
        raise RefreshTokenReused(row.family_id)
    if row.expires_at <= now:
        raise AuthenticationFailed("refresh token expired")
    if not row.active:
        raise AuthenticationFailed("user disabled")
    spent = conn.execute(
        update(t).where(t.id == row.id, t.used_at.is_(None)).values(used_at=now)
    ).rowcount
    if spent != 1:  # a concurrent request spent it first
        raise AuthenticationFailed("refresh token already used")
    new_token = issue_refresh_token(
        conn, row.user_id, lifetime=lifetime, family_id=row.family_id, now=now
    )
    return Principal(role=row.role, username=row.username, user_id=row.user_id), new_token


def revoke_family(conn: Connection, family_id: str, *, now: dt.datetime | None = None) -> int:
    """Revoke every live token of a refresh-token family (logout, or reuse detected)."""
    return conn.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    ).rowcount


def revoke_refresh_token(conn: Connection, token: str) -> bool:
    """Logout: revoke the family of ``token``. False when the token is unknown."""
    family = conn.execute(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == token_digest(token))
    ).scalar_one_or_none()
    if family is None:
        return False
    revoke_family(conn, family)
    return True


# --------------------------------------------------------------------------- API keys


def create_api_key(
    conn: Connection, name: str, role: str, *, created_by: int | None = None
) -> tuple[int, str]:
    """A new API key scoped to ``role``: (id, the key in clear, shown once)."""
    check_role(role)
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    result = conn.execute(
        insert(ApiKey).values(
            name=name,
            prefix=key[:12],
            key_hash=token_digest(key),
            role=role,
            created_by=created_by,
            created_at=utcnow(),
        )
    )
    return int(result.inserted_primary_key[0]), key  # type: ignore[index]


def resolve_api_key(conn: Connection, key: str) -> Principal:
    """The principal of a live API key; AuthenticationFailed for unknown or revoked keys."""
    row = conn.execute(
        select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.revoked_at, ApiKey.last_used_at).where(
            ApiKey.key_hash == token_digest(key)
        )
    ).first()
    if row is None:
        raise AuthenticationFailed("invalid API key")
    if row.revoked_at is not None:
        raise AuthenticationFailed("API key revoked")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > API_KEY_TOUCH_INTERVAL:
        # at most one write per key and minute, not one per request
        conn.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
    return Principal(role=row.role, username=f"key:{row.name}", api_key_id=row.id)


def list_api_keys(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            ApiKey.id,
            ApiKey.name,
            ApiKey.prefix,
            ApiKey.role,
            ApiKey.created_at,
            ApiKey.last_used_at,
            ApiKey.revoked_at,
        ).order_by(ApiKey.id)
    ).mappings()
    return [dict(r) for r in rows]


def revoke_api_key(conn: Connection, key_id: int) -> bool:
    """Revoke a key; False when no live key has that id."""
    return bool(
        conn.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        ).rowcount
    )


# --------------------------------------------------------------------------- preferences


def get_preferences(conn: Connection, user_id: int) -> dict[str, Any]:
    value = conn.execute(
        select(UserPreference.preferences).where(UserPreference.user_id == user_id)
    ).scalar_one_or_none()
    return dict(value or {})


def set_preferences(conn: Connection, user_id: int, preferences: dict[str, Any]) -> None:
    """Replace a user's preferences (idempotent upsert)."""
    exists = conn.execute(
        select(func.count()).where(UserPreference.user_id == user_id)
    ).scalar_one()
    if exists:
        conn.execute(
            update(UserPreference)
            .where(UserPreference.user_id == user_id)
            .values(preferences=preferences, updated_at=utcnow())
        )
    else:
        conn.execute(
            insert(UserPreference).values(
                user_id=user_id, preferences=preferences, updated_at=utcnow()
            )
        )
