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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from sqlalchemy import Connection, delete, func, insert, select, update

from models.auth import ApiKey, RefreshToken, User, UserPreference
from models.tables import utcnow
from wheelflow.passwords import (
    DEFAULT_POLICY,
    PasswordPolicy,
    check_password,
    hash_password,
    verify_password,
    verify_unknown_user,
)
from wheelflow.principal import (
    ROLES,
    SCOPES,
    AuthenticationFailed,
    Principal,
    RefreshTokenReused,
    check_role,
    check_scopes,
    role_allows,
)
from wheelflow.sessions import end_user_tokens, revoke_session, start_session

log = logging.getLogger(__name__)
__all__ = [
    "ROLES",
    "SCOPES",
    "AuthenticationFailed",
    "Principal",
    "RefreshTokenReused",
    "check_role",
    "role_allows",
]

JWT_ALGORITHM = "HS256"
API_KEY_PREFIX = "wfk_"
API_KEY_TOUCH_INTERVAL = dt.timedelta(minutes=1)


# Access tokens whose signature was verified: (token, secret) -> (principal, exp epoch seconds)
_VERIFIED_TOKENS_MAX = 4096
_verified_tokens: OrderedDict[tuple[str, str], tuple[Principal, float]] = OrderedDict()
_verified_lock = threading.Lock()


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
    session_id: str | None = None,
    token_version: int = 0,
    now: dt.datetime | None = None,
) -> str:
    """A signed JWT valid for ``lifetime`` from ``now`` (aware or naive UTC), naming its session
    (``sid``) and the user's token version (``ver``); the API refuses tokens without a live
    session (``wheelflow.sessions``)."""
    issued = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=dt.UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "username": username,
        "role": role,
        "ver": token_version,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": secrets.token_hex(8),
    }
    if session_id is not None:
        claims["sid"] = session_id
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> Principal:
    """The principal of a validly signed, unexpired token; AuthenticationFailed saying why
    otherwise. Whether its session is still live is ``wheelflow.sessions``' question.

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
    role, sid, ver = claims.get("role"), claims.get("sid"), claims.get("ver", 0)
    if (
        role not in ROLES
        or not str(claims["sub"]).isdigit()
        or not isinstance(ver, int)
        or not (sid is None or isinstance(sid, str))
    ):
        raise AuthenticationFailed("invalid access token")
    principal = Principal(
        role=role,
        username=str(claims.get("username", "")),
        user_id=int(claims["sub"]),
        session_id=sid,
        token_version=ver,
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
    created_by: Principal | None = None,
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
            created_by=created_by.user_id if created_by else None,
            created_by_key=created_by.api_key_id if created_by else None,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def authenticate(conn: Connection, username: str, password: str) -> Principal:
    """The principal for a correct active username/password; AuthenticationFailed otherwise.

    Unknown names, wrong passwords and disabled users cost one argon2 verification each and get
    the same answer, so neither the answer nor its time tells which names exist.
    """
    row = conn.execute(
        select(
            User.id, User.username, User.role, User.password_hash, User.active, User.token_version
        ).where(_same_username(username))
    ).first()
    if row is None:
        verify_unknown_user(password)
        raise AuthenticationFailed("invalid username or password")
    if not verify_password(row.password_hash, password) or not row.active:
        raise AuthenticationFailed("invalid username or password")
    conn.execute(update(User).where(User.id == row.id).values(last_login_at=utcnow()))
    return Principal(
        role=row.role, username=row.username, user_id=row.id, token_version=row.token_version
    )


def list_users(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            User.id,
            User.username,
            User.role,
            User.active,
            User.created_at,
            User.last_login_at,
            User.created_by,
            User.created_by_key,
        ).order_by(User.id)
    ).mappings()
    return [dict(r) for r in rows]


@dataclass(frozen=True)
class UserChange:
    active: bool
    token_version: int
    tokens_ended: bool  # every session and token of the user was ended


def update_user(
    conn: Connection, user_id: int, *, active: bool | None = None, role: str | None = None
) -> UserChange | None:
    """Enable/disable a user or change their role; None when there is no such user.
    Disabling or a role change ends every token of the user (their token version rises)."""
    row = conn.execute(
        select(User.active, User.role, User.token_version).where(User.id == user_id)
    ).first()
    if row is None:
        return None
    values: dict[str, Any] = {}
    if active is not None:
        values["active"] = active
    if role is not None:
        values["role"] = check_role(role)
    if values:
        conn.execute(update(User).where(User.id == user_id).values(**values))
    ended = (active is False and row.active) or (role is not None and role != row.role)
    version = row.token_version
    if ended:
        version = end_user_tokens(conn, user_id, "disabled" if active is False else "role change")
    return UserChange(
        active=row.active if active is None else active, token_version=version, tokens_ended=ended
    )


def set_user_active(conn: Connection, user_id: int, active: bool) -> bool:
    """Enable or disable a user; disabling ends all their sessions and tokens."""
    return update_user(conn, user_id, active=active) is not None


def delete_user(conn: Connection, user_id: int) -> bool:
    """Delete a user (their sessions, refresh tokens and preferences go with them)."""
    end_user_tokens(conn, user_id, "deleted")
    return bool(conn.execute(delete(User).where(User.id == user_id)).rowcount)


def change_password(
    conn: Connection, user_id: int, current: str, new: str, policy: PasswordPolicy
) -> int:
    """Replace the password after checking the current one; ends every token of the user.
    Returns the new token version."""
    row = conn.execute(select(User.username, User.password_hash).where(User.id == user_id)).first()
    if row is None or not verify_password(row.password_hash, current):
        raise AuthenticationFailed("current password is wrong")
    check_password(new, policy, username=row.username)
    conn.execute(update(User).where(User.id == user_id).values(password_hash=hash_password(new)))
    return end_user_tokens(conn, user_id, "password change")


# --------------------------------------------------------------------------- refresh tokens


def issue_refresh_token(
    conn: Connection,
    user_id: int,
    *,
    lifetime: dt.timedelta,
    family_id: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """A new refresh token (returned once, in clear) of session ``family_id`` (a new session
    when None)."""
    issued = now or utcnow()
    token = secrets.token_urlsafe(32)
    if family_id is None:
        family_id = start_session(conn, user_id)
    conn.execute(
        insert(RefreshToken).values(
            user_id=user_id,
            token_hash=token_digest(token),
            family_id=family_id,
            issued_at=issued,
            expires_at=issued + lifetime,
        )
    )
    return token


def rotate_refresh_token(
    conn: Connection, token: str, *, lifetime: dt.timedelta, now: dt.datetime | None = None
) -> tuple[Principal, str]:
    """Spend ``token`` and return its user (with the session) and the next token of the session.

    A reused token raises RefreshTokenReused: the caller revokes the session in a transaction of
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
            User.token_version,
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
    principal = Principal(
        role=row.role,
        username=row.username,
        user_id=row.user_id,
        session_id=row.family_id,
        token_version=row.token_version,
    )
    return principal, new_token


def revoke_family(conn: Connection, family_id: str, *, now: dt.datetime | None = None) -> bool:
    """End the session ``family_id`` (refresh-token reuse detected)."""
    return revoke_session(conn, family_id, "refresh reuse", now=now)


def revoke_refresh_token(conn: Connection, token: str, reason: str = "logout") -> str | None:
    """Logout: end the session of ``token``; its session id, None when the token is unknown."""
    family = conn.execute(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == token_digest(token))
    ).scalar_one_or_none()
    if family is None:
        return None
    revoke_session(conn, family, reason)
    return str(family)


# --------------------------------------------------------------------------- API keys


def create_api_key(
    conn: Connection,
    name: str,
    role: str,
    *,
    scopes: Sequence[str] = (),
    minted_by: Principal | None = None,
    created_by: int | None = None,
) -> tuple[int, str]:
    """A new API key with ``role`` and extra ``scopes``: (id, the key in clear, shown once).

    ``minted_by`` (the caller) is recorded, and may not hand out a role or scope it lacks.
    """
    check_role(role)
    wanted = check_scopes(scopes)
    if minted_by is not None:
        if not role_allows(minted_by.role, role):
            raise PermissionError(f"a {minted_by.role} cannot mint a {role} key")
        missing = sorted(s for s in wanted if not minted_by.has_scope(s))
        if missing:
            raise PermissionError(f"cannot grant scopes the caller lacks: {', '.join(missing)}")
        created_by = minted_by.user_id
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    result = conn.execute(
        insert(ApiKey).values(
            name=name,
            prefix=key[:12],
            key_hash=token_digest(key),
            role=role,
            scopes=" ".join(sorted(wanted)),
            created_by=created_by,
            created_by_key=minted_by.api_key_id if minted_by else None,
            created_at=utcnow(),
        )
    )
    return int(result.inserted_primary_key[0]), key  # type: ignore[index]


def resolve_api_key(conn: Connection, key: str) -> Principal:
    """The principal of a live API key; AuthenticationFailed for unknown or revoked keys."""
    row = conn.execute(
        select(
            ApiKey.id,
            ApiKey.name,
            ApiKey.role,
            ApiKey.scopes,
            ApiKey.revoked_at,
            ApiKey.last_used_at,
        ).where(ApiKey.key_hash == token_digest(key))
    ).first()
    if row is None:
        raise AuthenticationFailed("invalid API key")
    if row.revoked_at is not None:
        raise AuthenticationFailed("API key revoked")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > API_KEY_TOUCH_INTERVAL:
        # at most one write per key and minute, not one per request
        conn.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
    return Principal(
        role=row.role,
        username=f"key:{row.name}",
        api_key_id=row.id,
        scopes=frozenset((row.scopes or "").split()),
    )


def list_api_keys(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            ApiKey.id,
            ApiKey.name,
            ApiKey.prefix,
            ApiKey.role,
            ApiKey.scopes,
            ApiKey.created_by,
            ApiKey.created_by_key,
            ApiKey.created_at,
            ApiKey.last_used_at,
            ApiKey.revoked_at,
        ).order_by(ApiKey.id)
    ).mappings()
    return [{**r, "scopes": (r["scopes"] or "").split()} for r in rows]


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
