"""pipeline_runs.heartbeat_at: stale `running` rows (a killed process) are detected and crashed.

Revision ID: i16_run_heartbeat
Revises: i14_risk
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i16_run_heartbeat"
down_revision: str | Sequence[str] | None = "i14_risk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pipeline_runs") as batch:
        batch.drop_column("heartbeat_at")
