"""Tables of the orchestrator, on their own MetaData (the service owns its database)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from fusion.bus.tables import UtcDateTime, messaging_tables
from fusion.db import new_metadata
from fusion.schema_gate import Schema

metadata = new_metadata()
messaging = messaging_tables(metadata)
# built by `fusion migrate migration_orchestrator`: below its head the service waits
schema = Schema("migration_orchestrator", Path(__file__).parents[1] / "alembic")


class OrchestratorModel(SQLModel, registry=registry(metadata=metadata)):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


class Migration(OrchestratorModel, table=True):
    """One course carried from a historical platform to the target, and where it stands."""

    __tablename__ = "migration"
    __table_args__ = (Index("ix_migration_queue", "source_platform", "state", "priority", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    source_platform: str = Field(max_length=32)
    source_course_id: int
    # "platform:course" while the migration counts (not cancelled): one per source course.
    active_key: str | None = Field(default=None, max_length=80, unique=True)
    target_category_id: int
    fullname: str | None = Field(default=None, max_length=254)
    shortname: str | None = Field(default=None, max_length=100)
    visible: bool = True
    apogee_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    codes_waived: bool = False
    with_users: bool = True
    requested_by: str = Field(max_length=100)
    # who asked, as decided once at request time: teacher | admin | manager | service
    authorised_as: str = Field(max_length=20)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # usernames to enrol as teachers on the target course once it is restored
    enrol_teachers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    priority: int = 0  # lower runs first: a teacher's request (0) before a batch (10)
    batch_id: str | None = Field(default=None, max_length=40, index=True)
    state: str = Field(max_length=20, index=True)
    step: str | None = Field(default=None, max_length=20)  # where it failed or is blocked
    reason: str | None = Field(default=None, max_length=2000)
    reason_fr: str | None = Field(default=None, max_length=2000)
    blocker: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    attempts: int = 0
    lease_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    worker: str | None = Field(default=None, max_length=100)
    backup_key: str | None = Field(default=None, max_length=200)
    backup_sha256: str | None = Field(default=None, max_length=64)
    backup_bytes: int | None = None
    # The source course's names on its platform, read when the migration was requested.
    source_shortname: str | None = Field(default=None, max_length=100)
    source_fullname: str | None = Field(default=None, max_length=254)
    site_hash: str | None = Field(default=None, max_length=64)
    restore_started_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    # The restore's own lease (``restores``): which request runs now, since when, how many so far.
    restore_attempts: int = 0
    restore_queued_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    restore_message: str | None = Field(default=None, max_length=36)
    target_course_id: int | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime()))


class MigrationTransition(OrchestratorModel, table=True):
    """The history: every change of state, what caused it and when."""

    __tablename__ = "migration_transition"

    id: int | None = Field(default=None, primary_key=True)
    migration_id: int = Field(foreign_key="migration.id", index=True)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str = Field(max_length=20)
    cause: str = Field(max_length=200)
    cause_fr: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=2000)
    reason_fr: str | None = Field(default=None, max_length=2000)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime()))


class MigrationLog(OrchestratorModel, table=True):
    """What a step printed or found (CLI output, pre-flight findings), for support staff."""

    __tablename__ = "migration_log"

    id: int | None = Field(default=None, primary_key=True)
    migration_id: int = Field(foreign_key="migration.id", index=True)
    step: str = Field(max_length=20)
    level: str = Field(default="info", max_length=10)
    message: str = Field(max_length=2000)
    message_fr: str | None = Field(default=None, max_length=2000)
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime()))


class PlatformSlot(OrchestratorModel, table=True):
    """One of a platform's ``concurrency`` backup slots: held while a backup runs on it."""

    __tablename__ = "platform_slot"

    platform: str = Field(primary_key=True, max_length=32)
    slot: int = Field(primary_key=True)
    migration_id: int | None = Field(default=None, unique=True)
    taken_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class PendingMetaLink(OrchestratorModel, table=True):
    """A meta link of a migrated course whose linked course is not on the target yet."""

    __tablename__ = "pending_meta_link"
    __table_args__ = (UniqueConstraint("child_migration_id", "linked_source_course_id"),)

    id: int | None = Field(default=None, primary_key=True)
    child_migration_id: int = Field(foreign_key="migration.id", index=True)
    platform: str = Field(max_length=32)
    linked_source_course_id: int = Field(index=True)
    status: str = Field(default="pending", max_length=20)  # pending | created | refused
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime()))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class MigrationTeacher(OrchestratorModel, table=True):
    """Who taught the source course when the migration was requested: they all follow it on
    "my migrations", whoever started it."""

    __tablename__ = "migration_teacher"

    migration_id: int = Field(foreign_key="migration.id", primary_key=True)
    username: str = Field(primary_key=True, max_length=100)


class BackupAnalysis(OrchestratorModel, table=True):
    """The pre-flight report of a migration's stored backup (its users feed restore-check)."""

    __tablename__ = "backup_analysis"

    migration_id: int = Field(foreign_key="migration.id", primary_key=True)
    report: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime()))
