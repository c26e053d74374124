"""rankings: expected value after fills and fees, forecast volatility, event flags

Revision ID: i11_expected_value
Revises: i16_run_heartbeat
Create Date: 2026-12-02 05:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i11_expected_value"
down_revision: str | Sequence[str] | None = "i16_run_heartbeat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FLOATS = (
    "fill_price",
    "fees",
    "forecast_vol",
    "probability_assignment",
    "expected_loss_given_assignment",
    "gross_expected_value",
    "expected_value",
    "expected_value_per_day",
    "net_annualized_return",
    "dividend_pv",
)
_FLAGS = ("spans_earnings", "spans_ex_dividend", "early_assignment_risk")


def upgrade() -> None:
    with op.batch_alter_table("rankings") as batch:
        for name in _FLOATS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
        for name in _FLAGS:
            batch.add_column(
                sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
            )
        batch.add_column(sa.Column("flags", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_rankings_snapshot_strategy_ev",
        "rankings",
        ["snapshot_at", "strategy", "expected_value"],
    )


def downgrade() -> None:
    op.drop_index("ix_rankings_snapshot_strategy_ev", table_name="rankings")
    with op.batch_alter_table("rankings") as batch:
        for name in ("flags", *_FLAGS, *_FLOATS):
            batch.drop_column(name)
