"""The messages services exchange: one envelope, typed payloads.

Events name facts in the past tense (``migration.requested``); commands name work
(``backup.run.<platform>``). A payload knows its routing key; the envelope carries it as
``type`` together with the id the producer chose, so consumers can deduplicate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fusion.observability import correlation_id as current_correlation_id

ROUTING_KEY_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_-]+)*$"
PLATFORM_PATTERN = r"^[a-z0-9_-]{1,32}$"


class Message(BaseModel):
    """Base of every payload: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: ClassVar[str]

    def routing_key(self) -> str:
        return self.type


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: UUID = Field(default_factory=uuid4)
    type: str = Field(pattern=ROUTING_KEY_PATTERN, max_length=255)
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str = Field(default_factory=lambda: str(uuid4()), min_length=1, max_length=128)
    payload: dict[str, Any]

    @classmethod
    def of(cls, message: Message, *, correlation_id: str | None = None) -> Self:
        """Wrap a payload. The correlation id defaults to that of the request or message being
        handled, so one user action can be followed across services."""
        fields: dict[str, Any] = {
            "type": message.routing_key(),
            "payload": message.model_dump(mode="json"),
        }
        inherited = correlation_id or current_correlation_id.get()
        if inherited is not None:
            fields["correlation_id"] = inherited
        return cls(**fields)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> Self:
        return cls.model_validate_json(body)


# --- events -----------------------------------------------------------------------------------

MigrationState = Literal[
    "requested",
    "backup_queued",
    "backing_up",
    "backed_up",
    "analysed",
    "identity_checked",
    "restoring",
    "post_restore",
    "done",
    "failed",
    "blocked",
    "cancelled",
]


class MigrationRequested(Message):
    type: ClassVar[str] = "migration.requested"

    migration_id: UUID
    source_platform: str = Field(pattern=PLATFORM_PATTERN)
    source_course_id: int = Field(gt=0)
    apogee_codes: list[str] = Field(default_factory=list)
    requested_by: str = Field(min_length=1, max_length=100)


class MigrationStateChanged(Message):
    type: ClassVar[str] = "migration.state_changed"

    migration_id: UUID
    previous_state: MigrationState | None
    state: MigrationState
    reason: str | None = None


class MigrationCompleted(Message):
    type: ClassVar[str] = "migration.completed"

    migration_id: UUID
    target_course_id: int = Field(gt=0)


class CourseRestored(Message):
    type: ClassVar[str] = "course.restored"

    migration_id: UUID
    source_platform: str = Field(pattern=PLATFORM_PATTERN)
    source_course_id: int = Field(gt=0)
    target_course_id: int = Field(gt=0)


class EnrolmentMethodRegistered(Message):
    type: ClassVar[str] = "enrolment_method.registered"

    method_id: UUID
    target_course_id: int = Field(gt=0)
    apogee_code: str = Field(min_length=1, max_length=64)
    year: int = Field(ge=1990, le=2200)
    role: Literal["student", "teacher", "editingteacher"] = "student"
    with_groups: bool = False
    # True only when Fusion itself created the course empty; a restored course holds enrolments
    # others made, which the sync must find (and leave alone) before its first write.
    course_created_empty: bool = False


class SyncCompleted(Message):
    type: ClassVar[str] = "sync.completed"

    run_id: UUID
    mode: Literal["full", "incremental", "course"]
    outcome: Literal["succeeded", "failed", "partial"]
    enrolled: int = Field(default=0, ge=0)
    suspended: int = Field(default=0, ge=0)
    groups_changed: int = Field(default=0, ge=0)


# --- commands ---------------------------------------------------------------------------------


class BackupRun(Message):
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


class RestoreRun(Message):
    type: ClassVar[str] = "restore.run"

    migration_id: UUID
    backup_id: UUID
    target_category_id: int = Field(gt=0)


class SyncRun(Message):
    type: ClassVar[str] = "sync.run"

    run_id: UUID
    mode: Literal["full", "incremental", "course"]
    course_id: int | None = Field(default=None, gt=0)
    dry_run: bool = False
