"""Course migrations: the orchestrator's events and the work it hands to platform workers."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from fusion.contracts.envelope import PLATFORM_PATTERN, Command, Event


class MigrationState(StrEnum):
    REQUESTED = "requested"
    BACKUP_QUEUED = "backup_queued"
    BACKING_UP = "backing_up"
    BACKED_UP = "backed_up"
    ANALYSED = "analysed"
    IDENTITY_CHECKED = "identity_checked"
    RESTORING = "restoring"
    POST_RESTORE = "post_restore"
    DONE = "done"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


class MigrationRequested(Event):
    type: ClassVar[str] = "migration.requested"

    migration_id: UUID
    source_platform: str = Field(pattern=PLATFORM_PATTERN)
    source_course_id: int = Field(gt=0)
    apogee_codes: list[str] = Field(default_factory=list)
    requested_by: str = Field(min_length=1, max_length=100)


class MigrationStateChanged(Event):
    type: ClassVar[str] = "migration.state_changed"

    migration_id: UUID
    previous_state: MigrationState | None
    state: MigrationState
    reason: str | None = None


class MigrationCompleted(Event):
    type: ClassVar[str] = "migration.completed"

    migration_id: UUID
    target_course_id: int = Field(gt=0)


class CourseRestored(Event):
    type: ClassVar[str] = "course.restored"

    migration_id: UUID
    source_platform: str = Field(pattern=PLATFORM_PATTERN)
    source_course_id: int = Field(gt=0)
    target_course_id: int = Field(gt=0)


class RunBackup(Command):
    """Back up one course on one platform; each platform's worker listens to its own key."""

    type: ClassVar[str] = "backup.run"

    migration_id: UUID
    platform: str = Field(pattern=PLATFORM_PATTERN)
    course_id: int = Field(gt=0)

    def routing_key(self) -> str:
        return f"{self.type}.{self.platform}"

    @classmethod
    def binding(cls, platform: str) -> str:
        return f"{cls.type}.{platform}"


class RunRestore(Command):
    type: ClassVar[str] = "restore.run"

    migration_id: UUID
    backup_id: UUID
    target_category_id: int = Field(gt=0)
