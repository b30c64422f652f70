"""Tables of enrolment_sync, on their own MetaData (the service owns its database)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, false
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from fusion.bus.tables import messaging_tables
from fusion.db import new_metadata
from fusion.lifecycle import history_table
from fusion.schema_gate import Schema

metadata = new_metadata()


# A base of its own, so the service's tables live in its own MetaData.
class SyncModel(SQLModel, registry=registry(metadata=metadata)):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


class EnrolmentMethod(SyncModel, table=True):
    """A target course fed from one Apogée code (course ↔ code ↔ year ↔ role)."""

    __tablename__ = "sync_enrolment_method"
    __table_args__ = (UniqueConstraint("course_id", "code", "year_key"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(index=True)
    code: str = Field(max_length=40, index=True)
    year: int | None = None
    # ``year`` may be null (the current year); unique constraints treat NULLs as distinct.
    year_key: int = 0
    role: str = Field(default="student", max_length=40)
    groups: bool = True
    # The course-creation form made the course empty: its first sync need not read its roster
    # to find enrolments someone else made (there are none).
    course_created_empty: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    source: str = Field(default="api", max_length=40)
    created_at: datetime = Field(default_factory=utcnow)


class MetaLink(SyncModel, table=True):
    """Enrolments of ``parent_course_id`` flow into ``child_course_id``.

    ``in_moodle`` says that Moodle holds the link as an ``enrol_meta`` instance, so Moodle itself
    copies the parent's own enrolments one level down; the service writes only what Moodle won't.
    """

    __tablename__ = "sync_meta_link"
    __table_args__ = (UniqueConstraint("parent_course_id", "child_course_id"),)

    id: int | None = Field(default=None, primary_key=True)
    parent_course_id: int = Field(index=True)
    child_course_id: int = Field(index=True)
    in_moodle: bool = True
    source: str = Field(default="api", max_length=40)
    created_at: datetime = Field(default_factory=utcnow)


class LedgerEnrolment(SyncModel, table=True):
    """An enrolment the service made: the only ones it may ever suspend or remove."""

    __tablename__ = "sync_ledger_enrolment"

    course_id: int = Field(primary_key=True)
    user_id: int = Field(primary_key=True)
    role_id: int
    suspended: bool = False
    run_id: int | None = None


class ExistingEnrolment(SyncModel, table=True):
    """A student Moodle already enrolled (someone else did) when the sync first wrote to the
    course: never written, never suspended or removed by the sync. The weekly ledger check
    forgets the rows Moodle no longer holds, so the sync then enrols that student itself."""

    __tablename__ = "sync_existing_enrolment"

    course_id: int = Field(primary_key=True)
    user_id: int = Field(primary_key=True)
    found_at: datetime = Field(default_factory=utcnow)


class LedgerGroup(SyncModel, table=True):
    """A Moodle group standing for an Apogée group (idnumber = its code)."""

    __tablename__ = "sync_ledger_group"

    course_id: int = Field(primary_key=True)
    idnumber: str = Field(primary_key=True, max_length=100)
    group_id: int


class LedgerGroupMember(SyncModel, table=True):
    __tablename__ = "sync_ledger_group_member"

    course_id: int = Field(primary_key=True)
    idnumber: str = Field(primary_key=True, max_length=100)
    user_id: int = Field(primary_key=True)


class UserLink(SyncModel, table=True):
    """Which Moodle user a student number maps to (found once, then reused)."""

    __tablename__ = "sync_user_link"

    cod_etu: str = Field(primary_key=True, max_length=40)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))


class CodeEtag(SyncModel, table=True):
    """The ETag of a code's roster as last applied, so an incremental run skips it."""

    __tablename__ = "sync_code_etag"

    code: str = Field(primary_key=True, max_length=40)
    year_key: int = Field(primary_key=True)
    etag: str = Field(max_length=200)


class CourseState(SyncModel, table=True):
    """A course whose methods or links changed since its last successful sync."""

    __tablename__ = "sync_course_state"

    course_id: int = Field(primary_key=True)
    dirty: bool = True
    last_synced_at: datetime | None = None


class SyncRun(SyncModel, table=True):
    __tablename__ = "sync_run"

    id: int | None = Field(default=None, primary_key=True)
    public_id: UUID = Field(default_factory=uuid4, unique=True)  # the id events carry
    kind: str = Field(max_length=20)  # full | incremental | course
    trigger: str = Field(default="api", max_length=20)
    course_id: int | None = None
    dry_run: bool = False
    forced: bool = False
    verify: bool = False  # check the ledger against Moodle's rosters first
    status: str = Field(default="planning", max_length=20, index=True)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    batches_planned: int = 0
    batches_applied: int = 0
    batches_failed: int = 0
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    warnings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # ETags to remember once the courses that depend on them are applied.
    etags: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None
    # Attempts that crashed (not a Fusion error); at the lifecycle's maximum the run fails.
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = None
    # The only courses a run may change (a teacher's "sync now": the course and the meta
    # children the same teacher teaches); None: every course the run recomputes.
    scope: list[int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Scheduled runs name their slot, so that several replicas launch each slot once.
    slot: str | None = Field(default=None, max_length=40, unique=True)


class RunCourse(SyncModel, table=True):
    """What a run wants to do, or did, in one course."""

    __tablename__ = "sync_run_course"

    run_id: int = Field(primary_key=True)
    course_id: int = Field(primary_key=True)
    status: str = Field(default="planned", max_length=20)
    adds: int = 0
    reactivations: int = 0
    removals: int = 0
    group_adds: int = 0
    group_removals: int = 0
    groups_created: int = 0
    failed: int = 0
    missing_users: int = 0
    reason: str | None = None
    reason_fr: str | None = None
    errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class RunBatch(SyncModel, table=True):
    """One planned Moodle write; once ``applied`` a resumed run never sends it again."""

    __tablename__ = "sync_run_batch"
    __table_args__ = (Index("ix_sync_run_batch_run_status", "run_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    seq: int
    phase: int
    kind: str = Field(max_length=30)
    rows: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=20)
    calls: int = 0
    failed_rows: int = 0
    error: str | None = None


# Every status a run went through, and why (written by the lifecycle with its event).
run_history = history_table(metadata, "sync_run_history")

# The inbox makes the event consumer idempotent; the outbox is there for events we publish.
messaging = messaging_tables(metadata)
# built by `fusion migrate enrolment_sync`: below its head the service waits, commands refuse
schema = Schema("enrolment_sync", Path(__file__).parent / "alembic")
