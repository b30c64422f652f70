"""Course migrations: the orchestrator's events and the work it hands to platform workers."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from fusion.contracts.envelope import PLATFORM_PATTERN, Command, Event


class MigrationRequested(Event):
    type: ClassVar[str] = "migration.requested"

    migration_id: UUID
    source_platform: str = Field(pattern=PLATFORM_PATTERN)
    source_course_id: int = Field(gt=0)
    apogee_codes: list[str] = Field(default_factory=list)
    requested_by: str = Field(min_length=1, max_length=100)


class MigrationStateChanged(Event):
    """A migration moved along its lifecycle (written with its history row). ``reason`` is in
    English, ``reason_fr`` in French (what a teacher or support reads)."""

    type: ClassVar[str] = "migration.state_changed"

    migration_id: int = Field(gt=0)
    source_platform: str = Field(pattern=PLATFORM_PATTERN)
    previous_state: str | None
    state: str
    step: str | None = None
    reason: str | None = None
    # Added later, so optional: a message published before it still parses.
    reason_fr: str | None = None
    cause: str


class MigrationCompleted(Event):
    type: ClassVar[str] = "migration.completed"

    migration_id: int = Field(gt=0)
    source_platform: str = Field(pattern=PLATFORM_PATTERN)
    source_course_id: int = Field(gt=0)
    target_course_id: int = Field(gt=0)


class CourseRestored(Event):
    type: ClassVar[str] = "course.restored"

    migration_id: UUID
    source_platform: str = Field(pattern=PLATFORM_PATTERN)
    source_course_id: int = Field(gt=0)
    target_course_id: int = Field(gt=0)


class RunBackup(Command):
    """A token for one backup on one platform; the worker that takes it claims, from the
    orchestrator, the most urgent backup queued there (priorities live in the database)."""

    type: ClassVar[str] = "backup.run"

    migration_id: int = Field(gt=0)
    platform: str = Field(pattern=PLATFORM_PATTERN)

    def routing_key(self) -> str:
        return f"{self.type}.{self.platform}"

    @classmethod
    def binding(cls, platform: str) -> str:
        return f"{cls.type}.{platform}"


class RunRestore(Command):
    type: ClassVar[str] = "restore.run"

    migration_id: int = Field(gt=0)
    target_category_id: int = Field(gt=0)
