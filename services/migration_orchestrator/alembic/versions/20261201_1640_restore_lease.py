"""a restore has a lease: its attempts, when it was queued and which request runs now

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 16:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from fusion.bus.tables import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("migration") as batch:
        batch.add_column(
            sa.Column("restore_attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("restore_queued_at", UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("restore_message", AutoString(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("migration") as batch:
        batch.drop_column("restore_message")
        batch.drop_column("restore_queued_at")
        batch.drop_column("restore_attempts")
