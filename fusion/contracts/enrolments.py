"""Enrolment methods (a target course fed from Apogée codes) and synchronisation runs."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from fusion.contracts.envelope import Command, Event

APOGEE_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
EnrolmentRole = Literal["student", "teacher", "editingteacher"]
SyncMode = Literal["full", "incremental", "course"]
ApogeeCode = Annotated[str, Field(pattern=APOGEE_CODE_PATTERN)]


class RegisterEnrolmentMethods(Command):
    """Feed a (restored or new) target course from these Apogée codes, then sync it if asked.

    Sent by the orchestrator after a restore; enrolment_sync creates the methods idempotently
    (the same code twice is one method) and answers with ``enrolment_method.registered`` events.
    """

    type: ClassVar[str] = "enrolment_methods.register"

    migration_id: int | None = None
    course_id: int = Field(gt=0, le=2_147_483_647, description="Moodle id of the target course")
    codes: list[ApogeeCode] = Field(min_length=1, max_length=200)
    role: EnrolmentRole = "student"
    groups: bool = True
    # True only when Fusion itself created the course empty; a restored course holds enrolments
    # others made, which the sync must find (and leave alone) before its first write.
    created_empty: bool = False
    sync_now: bool = True


class EnrolmentMethodRegistered(Event):
    type: ClassVar[str] = "enrolment_method.registered"

    method_id: int = Field(gt=0)
    target_course_id: int = Field(gt=0)
    apogee_code: str = Field(pattern=APOGEE_CODE_PATTERN)
    year: int | None = Field(default=None, ge=1990, le=2200)
    role: EnrolmentRole = "student"
    with_groups: bool = False
    course_created_empty: bool = False
    migration_id: int | None = None


class RunSync(Command):
    type: ClassVar[str] = "sync.run"

    run_id: UUID
    mode: SyncMode
    course_id: int | None = Field(default=None, gt=0)
    dry_run: bool = False


class SyncCompleted(Event):
    type: ClassVar[str] = "sync.completed"

    run_id: UUID
    mode: SyncMode
    outcome: Literal["succeeded", "failed", "partial"]
    enrolled: int = Field(default=0, ge=0)
    suspended: int = Field(default=0, ge=0)
    groups_changed: int = Field(default=0, ge=0)


class SyncRunStateChanged(Event):
    """A sync run moved along its lifecycle (written with the run's history row)."""

    type: ClassVar[str] = "sync_run.state_changed"

    run_id: UUID
    previous_state: str | None
    state: str
    cause: str = Field(max_length=500)
    attempts: int = Field(default=0, ge=0)
