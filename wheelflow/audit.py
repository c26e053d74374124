"""The audit log of security events (table ``audit_log``), readable by admins (``GET /audit``).

Events: ``login``, ``login_failed``, ``login_locked`` (a limit refused the attempt),
``logout``, ``session_revoked`` (refresh-token reuse), ``password_changed``, ``user_created``,
``user_updated`` (enabled, disabled, role), ``user_deleted``, ``api_key_created``,
``api_key_revoked``, ``account_member_added``, ``account_member_removed``.
Secrets never enter it: no passwords, tokens or keys, only names and ids.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from sqlalchemy import Connection, insert, select

from models.auth import AuditEvent
from models.tables import utcnow
from wheelflow.principal import Principal

EventName = Literal[
    "login",
    "login_failed",
    "login_locked",
    "logout",
    "session_revoked",
    "password_changed",
    "user_created",
    "user_updated",
    "user_deleted",
    "api_key_created",
    "api_key_revoked",
    "account_member_added",
    "account_member_removed",
]
EVENTS: tuple[str, ...] = get_args(EventName)


def record(
    conn: Connection,
    event: str,
    *,
    actor: Principal | None = None,
    actor_name: str | None = None,
    subject: str | None = None,
    address: str | None = None,
    detail: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Append one event (inside the caller's transaction, so it commits with the change)."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    conn.execute(
        insert(AuditEvent).values(
            at=now or utcnow(),
            event=event,
            actor=(actor.username if actor else actor_name or None),
            actor_user_id=actor.user_id if actor else None,
            actor_key_id=actor.api_key_id if actor else None,
            subject=subject[:128] if subject else None,
            address=address[:64] if address else None,
            detail=detail,
        )
    )


def events(
    conn: Connection,
    *,
    event: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest first; page backwards with ``before_id``."""
    query = select(AuditEvent.__table__).order_by(AuditEvent.id.desc()).limit(limit)
    if event:
        query = query.where(AuditEvent.event == event)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return [dict(r) for r in conn.execute(query).mappings()]
