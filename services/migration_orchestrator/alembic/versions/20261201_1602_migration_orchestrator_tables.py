"""migration_orchestrator tables

Revision ID: 0001
Revises:
Create Date: 2026-12-01 16:02:59.121616
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from fusion.bus.tables import UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fusion_inbox",
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("processed_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "message_id", name=op.f("pk_fusion_inbox")),
    )
    op.create_table(
        "fusion_outbox",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("available_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_fusion_outbox")),
    )
    op.create_index(
        "ix_fusion_outbox_pending",
        "fusion_outbox",
        ["available_at", "created_at"],
        unique=False,
        postgresql_where=sa.text("sent_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL"),
    )
    op.create_table(
        "migration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_platform", AutoString(length=32), nullable=False),
        sa.Column("source_course_id", sa.Integer(), nullable=False),
        sa.Column("active_key", AutoString(length=80), nullable=True),
        sa.Column("target_category_id", sa.Integer(), nullable=False),
        sa.Column("fullname", AutoString(length=254), nullable=True),
        sa.Column("shortname", AutoString(length=100), nullable=True),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("apogee_codes", sa.JSON(), nullable=False),
        sa.Column("codes_waived", sa.Boolean(), nullable=False),
        sa.Column("with_users", sa.Boolean(), nullable=False),
        sa.Column("requested_by", AutoString(length=100), nullable=False),
        sa.Column("authorised_as", AutoString(length=20), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("enrol_teachers", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("batch_id", AutoString(length=40), nullable=True),
        sa.Column("state", AutoString(length=20), nullable=False),
        sa.Column("step", AutoString(length=20), nullable=True),
        sa.Column("reason", AutoString(length=2000), nullable=True),
        sa.Column("reason_fr", AutoString(length=2000), nullable=True),
        sa.Column("blocker", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", UtcDateTime(timezone=True), nullable=True),
        sa.Column("worker", AutoString(length=100), nullable=True),
        sa.Column("backup_key", AutoString(length=200), nullable=True),
        sa.Column("backup_sha256", AutoString(length=64), nullable=True),
        sa.Column("backup_bytes", sa.Integer(), nullable=True),
        sa.Column("source_shortname", AutoString(length=100), nullable=True),
        sa.Column("site_hash", AutoString(length=64), nullable=True),
        sa.Column("restore_started_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("target_course_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration")),
        sa.UniqueConstraint("active_key", name=op.f("uq_migration_active_key")),
    )
    op.create_index(op.f("ix_migration_batch_id"), "migration", ["batch_id"], unique=False)
    op.create_index(
        "ix_migration_queue",
        "migration",
        ["source_platform", "state", "priority", "id"],
        unique=False,
    )
    op.create_index(op.f("ix_migration_state"), "migration", ["state"], unique=False)
    op.create_index(
        op.f("ix_migration_target_course_id"), "migration", ["target_course_id"], unique=False
    )
    op.create_table(
        "platform_slot",
        sa.Column("platform", AutoString(length=32), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("migration_id", sa.Integer(), nullable=True),
        sa.Column("taken_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("platform", "slot", name=op.f("pk_platform_slot")),
        sa.UniqueConstraint("migration_id", name=op.f("uq_platform_slot_migration_id")),
    )
    op.create_table(
        "backup_analysis",
        sa.Column("migration_id", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["migration_id"],
            ["migration.id"],
            name=op.f("fk_backup_analysis_migration_id_migration"),
        ),
        sa.PrimaryKeyConstraint("migration_id", name=op.f("pk_backup_analysis")),
    )
    op.create_table(
        "migration_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("migration_id", sa.Integer(), nullable=False),
        sa.Column("step", AutoString(length=20), nullable=False),
        sa.Column("level", AutoString(length=10), nullable=False),
        sa.Column("message", AutoString(length=2000), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["migration_id"], ["migration.id"], name=op.f("fk_migration_log_migration_id_migration")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_log")),
    )
    op.create_index(
        op.f("ix_migration_log_migration_id"), "migration_log", ["migration_id"], unique=False
    )
    op.create_table(
        "migration_teacher",
        sa.Column("migration_id", sa.Integer(), nullable=False),
        sa.Column("username", AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["migration_id"],
            ["migration.id"],
            name=op.f("fk_migration_teacher_migration_id_migration"),
        ),
        sa.PrimaryKeyConstraint("migration_id", "username", name=op.f("pk_migration_teacher")),
    )
    op.create_table(
        "migration_transition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("migration_id", sa.Integer(), nullable=False),
        sa.Column("from_state", AutoString(length=20), nullable=True),
        sa.Column("to_state", AutoString(length=20), nullable=False),
        sa.Column("cause", AutoString(length=200), nullable=False),
        sa.Column("reason", AutoString(length=2000), nullable=True),
        sa.Column("at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["migration_id"],
            ["migration.id"],
            name=op.f("fk_migration_transition_migration_id_migration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_transition")),
    )
    op.create_index(
        op.f("ix_migration_transition_migration_id"),
        "migration_transition",
        ["migration_id"],
        unique=False,
    )
    op.create_table(
        "pending_meta_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_migration_id", sa.Integer(), nullable=False),
        sa.Column("platform", AutoString(length=32), nullable=False),
        sa.Column("linked_source_course_id", sa.Integer(), nullable=False),
        sa.Column("status", AutoString(length=20), nullable=False),
        sa.Column("reason", AutoString(length=500), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_migration_id"],
            ["migration.id"],
            name=op.f("fk_pending_meta_link_child_migration_id_migration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_meta_link")),
        sa.UniqueConstraint(
            "child_migration_id",
            "linked_source_course_id",
            name=op.f("uq_pending_meta_link_child_migration_id_linked_source_course_id"),
        ),
    )
    op.create_index(
        op.f("ix_pending_meta_link_child_migration_id"),
        "pending_meta_link",
        ["child_migration_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_pending_meta_link_linked_source_course_id"),
        "pending_meta_link",
        ["linked_source_course_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_pending_meta_link_linked_source_course_id"), table_name="pending_meta_link"
    )
    op.drop_index(op.f("ix_pending_meta_link_child_migration_id"), table_name="pending_meta_link")
    op.drop_table("pending_meta_link")
    op.drop_index(op.f("ix_migration_transition_migration_id"), table_name="migration_transition")
    op.drop_table("migration_transition")
    op.drop_table("migration_teacher")
    op.drop_index(op.f("ix_migration_log_migration_id"), table_name="migration_log")
    op.drop_table("migration_log")
    op.drop_table("backup_analysis")
    op.drop_table("platform_slot")
    op.drop_index(op.f("ix_migration_target_course_id"), table_name="migration")
    op.drop_index(op.f("ix_migration_state"), table_name="migration")
    op.drop_index("ix_migration_queue", table_name="migration")
    op.drop_index(op.f("ix_migration_batch_id"), table_name="migration")
    op.drop_table("migration")
    op.drop_index(
        "ix_fusion_outbox_pending",
        table_name="fusion_outbox",
        postgresql_where=sa.text("sent_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL"),
    )
    op.drop_table("fusion_outbox")
    op.drop_table("fusion_inbox")
