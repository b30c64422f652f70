"""enrolment methods say whether Fusion created their course empty; enrolments others made

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 05:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Methods recorded before this revision say nothing about their course: not known to be
    # empty, so their course's first sync reads its roster (the safe side).
    with op.batch_alter_table("sync_enrolment_method") as batch:
        batch.add_column(
            sa.Column(
                "course_created_empty", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    op.create_table(
        "sync_existing_enrolment",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("found_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("course_id", "user_id", name=op.f("pk_sync_existing_enrolment")),
    )


def downgrade() -> None:
    op.drop_table("sync_existing_enrolment")
    with op.batch_alter_table("sync_enrolment_method") as batch:
        batch.drop_column("course_created_empty")
