"""The orchestrator's messages. They move to ``fusion/contracts/migrations.py`` once the kit's
contracts package exists; the routing keys stay the same."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from fusion.contracts import PLATFORM_PATTERN, Message


class MigrationStateChanged(Message):
    type: ClassVar[str] = "migration.state_changed"

    migration_id: int = Field(gt=0)
    source_platform: str = Field(pattern=PLATFORM_PATTERN)
    previous_state: str | None
    state: str
    step: str | None = None
    reason: str | None = None
    cause: str


class MigrationCompleted(Message):
    type: ClassVar[str] = "migration.completed"

    migration_id: int = Field(gt=0)
    source_platform: str = Field(pattern=PLATFORM_PATTERN)
    source_course_id: int = Field(gt=0)
    target_course_id: int = Field(gt=0)


class BackupDue(Message):
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


class RestoreDue(Message):
    type: ClassVar[str] = "restore.run"

    migration_id: int = Field(gt=0)
    target_category_id: int = Field(gt=0)


class RegisterEnrolmentMethods(Message):
    """Command to enrolment_sync: feed the restored course from its Apogée codes, now."""

    type: ClassVar[str] = "enrolment_methods.register"

    migration_id: int | None = None
    course_id: int = Field(gt=0)
    codes: list[str]
    role: str = "student"
    groups: bool = True
    created_empty: bool = False
    sync_now: bool = True
