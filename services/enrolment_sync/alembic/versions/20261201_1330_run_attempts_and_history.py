"""sync runs count their crashed attempts and keep the history of their statuses

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 13:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fusion.bus.tables import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_run") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "sync_run_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=30), nullable=True),
        sa.Column("to_state", sa.String(length=30), nullable=False),
        sa.Column("cause", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_run_history")),
    )
    op.create_index(
        op.f("ix_sync_run_history_entity_id"), "sync_run_history", ["entity_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sync_run_history_entity_id"), table_name="sync_run_history")
    op.drop_table("sync_run_history")
    with op.batch_alter_table("sync_run") as batch:
        batch.drop_column("attempts")
