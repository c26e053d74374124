"""Merge the lifecycle and auth branches into one head.

The two features were built side by side, each branching from 0001_foundation; from here on a
new migration has a single parent.

Revision ID: 0004_merge_heads
Revises: 0002_lifecycle, 0003_auth
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004_merge_heads"
down_revision: str | Sequence[str] | None = ("0002_lifecycle", "0003_auth")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
