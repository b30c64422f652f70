"""history causes and reasons, and log lines, in French beside English; the source course's names

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("migration_transition") as batch:
        batch.add_column(sa.Column("cause_fr", AutoString(length=200), nullable=True))
        batch.add_column(sa.Column("reason_fr", AutoString(length=2000), nullable=True))
    with op.batch_alter_table("migration_log") as batch:
        batch.add_column(sa.Column("message_fr", AutoString(length=2000), nullable=True))
    with op.batch_alter_table("migration") as batch:
        batch.add_column(sa.Column("source_fullname", AutoString(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("migration") as batch:
        batch.drop_column("source_fullname")
    with op.batch_alter_table("migration_log") as batch:
        batch.drop_column("message_fr")
    with op.batch_alter_table("migration_transition") as batch:
        batch.drop_column("reason_fr")
        batch.drop_column("cause_fr")
