"""security: sessions, token versions, case-insensitive usernames, key scopes and minters, the
audit log, teams and account owners

Revision ID: i17_security
Revises: i15_alert_rules
Create Date: 2026-12-02 05:00:00

Existing usernames that differ only in case cannot all stay: the oldest keeps its name, the
others are renamed ``<name>~<id>`` and disabled (an admin re-enables them under a new name).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i17_security"
down_revision: str | Sequence[str] | None = "i15_alert_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)


def _disable_case_duplicates() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, username FROM users ORDER BY id")).all()
    seen: set[str] = set()
    for user_id, username in rows:
        key = username.lower()
        if key in seen:
            renamed = f"{username[:50]}~{user_id}"
            bind.execute(
                sa.text("UPDATE users SET username = :name, active = :off WHERE id = :id"),
                {"name": renamed, "off": False, "id": user_id},
            )
            log.warning(
                "user %s differs from another only in case: renamed %s, disabled", username, renamed
            )
        seen.add(key)


def upgrade() -> None:
    _disable_case_duplicates()
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("created_by_key", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_users_created_by_users"),
            "users",
            ["created_by"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scopes", sa.String(length=255), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("created_by_key", sa.Integer(), nullable=True))

    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"])
    # Sessions of the refresh-token families issued before this revision, so they keep working.
    op.execute(
        "INSERT INTO auth_sessions (id, user_id, created_at, revoked_at, revoked_reason) "
        "SELECT family_id, MIN(user_id), MIN(issued_at), MAX(revoked_at), "
        "CASE WHEN MAX(revoked_at) IS NULL THEN NULL ELSE 'revoked' END "
        "FROM refresh_tokens GROUP BY family_id"
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=True),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_key_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=128), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_event"), "audit_log", ["event"])

    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_members_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_team_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    op.create_index(op.f("ix_team_members_user_id"), "team_members", ["user_id"])
    op.create_table(
        "account_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (team_id IS NULL)", name=op.f("ck_account_members_one_owner")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_account_members_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_members")),
    )
    op.create_index(op.f("ix_account_members_account"), "account_members", ["account"])
    op.create_index(op.f("ix_account_members_team_id"), "account_members", ["team_id"])
    op.create_index(op.f("ix_account_members_user_id"), "account_members", ["user_id"])


def downgrade() -> None:
    op.drop_table("account_members")
    op.drop_table("team_members")
    op.drop_table("teams")
    op.drop_table("audit_log")
    op.drop_table("auth_sessions")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("created_by_key")
        batch_op.drop_column("scopes")
    op.drop_index("uq_users_username_lower", table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_created_by_users"), type_="foreignkey")
        batch_op.drop_column("created_by_key")
        batch_op.drop_column("created_by")
        batch_op.drop_column("token_version")
