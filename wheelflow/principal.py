"""Who is calling, the roles and scopes, and the refusal of credentials (no I/O here).

Roles nest viewer < trader < admin. Scopes are rights beyond the role that an API key must
carry explicitly (``keys:admin`` mints and revokes keys, ``users:admin`` manages users); an
admin user holds every scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from wheelflow.errors import WheelflowError

ROLES: tuple[str, ...] = ("viewer", "trader", "admin")
SCOPES: tuple[str, ...] = ("keys:admin", "users:admin")
_ROLE_LEVEL = {role: level for level, role in enumerate(ROLES)}


class AuthenticationFailed(WheelflowError):
    """Credentials or a token were refused; the message is safe to show the client."""


class RefreshTokenReused(AuthenticationFailed):
    """A spent refresh token came back: it leaked. The caller revokes session ``family_id``."""

    def __init__(self, family_id: str) -> None:
        super().__init__("refresh token already used: its session is revoked")
        self.family_id = family_id


@dataclass(frozen=True)
class Principal:
    """Who is calling: a logged-in user (with the session and token version of the access
    token) or a program holding an API key (with the key's scopes)."""

    role: str
    username: str
    user_id: int | None = None
    api_key_id: int | None = None
    session_id: str | None = None
    token_version: int = 0
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def kind(self) -> str:
        return "api_key" if self.api_key_id is not None else "user"

    def has_scope(self, scope: str) -> bool:
        if self.kind == "user":
            return self.role == "admin"
        return self.role == "admin" and scope in self.scopes


def role_allows(role: str, required: str) -> bool:
    """True when ``role`` includes the rights of ``required`` (viewer < trader < admin)."""
    return _ROLE_LEVEL.get(role, -1) >= _ROLE_LEVEL[required]


def check_role(role: str) -> str:
    if role not in _ROLE_LEVEL:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"scopes must be among {', '.join(SCOPES)}, got {sorted(unknown)}")
    return frozenset(scopes)
