"""alert rules: hysteresis states and the price watch's quotes

Revision ID: i15_alert_rules
Revises: i15_alert_delivery
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i15_alert_rules"
down_revision: str | Sequence[str] | None = "i15_alert_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_rule_states",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_alert_rule_states")),
    )
    op.create_table(
        "price_quotes",
        sa.Column("quoted_at", sa.DateTime(), nullable=False),
        sa.Column("symbol", sa.String(length=16), nullable=False),
        sa.Column("last", sa.Float(), nullable=False),
        sa.Column("bid", sa.Float(), nullable=True),
        sa.Column("ask", sa.Float(), nullable=True),
        sa.Column("prev_close", sa.Float(), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("quoted_at", "symbol", name=op.f("pk_price_quotes")),
    )
    op.create_index(
        "ix_price_quotes_symbol_quoted_at", "price_quotes", ["symbol", "quoted_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_price_quotes_symbol_quoted_at", table_name="price_quotes")
    op.drop_table("price_quotes")
    op.drop_table("alert_rule_states")
