"""risk service: risk_reports, risk_scenarios; risk_checks gets account and scope

Revision ID: i14_risk
Revises: i17_security
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i14_risk"
down_revision: str | Sequence[str] | None = "i17_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MONEY = (
    "cash",
    "equity",
    "buying_power",
    "put_collateral",
    "stock_at_cost",
    "stock_at_market",
    "option_value",
    "delta_usd",
    "gamma_usd",
    "theta_usd",
    "vega_usd",
    "beta_weighted_delta_usd",
)
_VAR = tuple(
    f"{m}_{lvl}_{h}" for lvl in ("95", "99") for h in ("1d", "to_expiry") for m in ("var", "es")
)


def upgrade() -> None:
    op.create_table(
        "risk_reports",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("snapshot_at", sa.DateTime(), nullable=False),
        sa.Column("has_ledger", sa.Boolean(), nullable=False),
        *(sa.Column(c, sa.Float(), nullable=False) for c in _MONEY),
        sa.Column("benchmark", sa.String(length=16), nullable=False),
        *(sa.Column(c, sa.Float(), nullable=True) for c in _VAR),
        sa.Column("var_method", sa.String(length=16), nullable=False),
        sa.Column("worst_scenario", sa.String(length=64), nullable=True),
        sa.Column("worst_scenario_pnl", sa.Float(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "account", name=op.f("pk_risk_reports")),
    )
    op.create_index(
        op.f("ix_risk_reports_snapshot_at"), "risk_reports", ["snapshot_at"], unique=False
    )
    op.create_table(
        "risk_scenarios",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("scenario", sa.String(length=64), nullable=False),
        sa.Column("snapshot_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("pnl", sa.Float(), nullable=False),
        sa.Column("pnl_pct", sa.Float(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "account", "scenario", name=op.f("pk_risk_scenarios")),
    )
    op.create_index(
        op.f("ix_risk_scenarios_snapshot_at"), "risk_scenarios", ["snapshot_at"], unique=False
    )
    with op.batch_alter_table("risk_checks") as batch:
        batch.add_column(sa.Column("account", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("scope", sa.String(length=16), nullable=False, server_default="portfolio")
        )
        batch.alter_column(
            "subject", existing_type=sa.String(length=32), type_=sa.String(length=64)
        )


def downgrade() -> None:
    with op.batch_alter_table("risk_checks") as batch:
        batch.alter_column(
            "subject", existing_type=sa.String(length=64), type_=sa.String(length=32)
        )
        batch.drop_column("scope")
        batch.drop_column("account")
    op.drop_index(op.f("ix_risk_scenarios_snapshot_at"), table_name="risk_scenarios")
    op.drop_table("risk_scenarios")
    op.drop_index(op.f("ix_risk_reports_snapshot_at"), table_name="risk_reports")
    op.drop_table("risk_reports")
