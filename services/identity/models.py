"""Tables of identity, on their own MetaData (the service owns its database)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from fusion.bus.tables import messaging_tables
from fusion.db import new_metadata
from fusion.lifecycle import history_table
from fusion.schema_gate import Schema

metadata = new_metadata()


class IdentityModel(SQLModel, registry=registry(metadata=metadata)):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


class Person(IdentityModel, table=True):
    """A person of the reference directory, with the canonical values plans apply."""

    __tablename__ = "identity_person"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=100, unique=True)
    mail: str = Field(default="", max_length=254)
    sn: str = Field(default="", max_length=100)
    given_name: str = Field(default="", max_length=100)
    etu_id: str = Field(default="", max_length=40, index=True)
    emp_id: str = Field(default="", max_length=40, index=True)
    ine: str = Field(default="", max_length=20, index=True)
    ref_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    eppn: str = Field(default="", max_length=254)
    fingerprint: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class Account(IdentityModel, table=True):
    """One ``mdl_user`` row of one platform, as last loaded."""

    __tablename__ = "identity_account"
    __table_args__ = (
        UniqueConstraint("platform", "moodle_id"),
        Index("ix_identity_account_platform_username", "platform", "username"),
        Index("ix_identity_account_platform_email", "platform", "email"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    moodle_id: int
    username: str = Field(max_length=100)
    email: str = Field(default="", max_length=254)
    firstname: str = Field(default="", max_length=100)
    lastname: str = Field(default="", max_length=100)
    idnumber: str = Field(default="", max_length=255)
    auth: str = Field(default="manual", max_length=20)
    firstaccess: int = 0
    lastaccess: int = 0
    deleted: bool = False
    suspended: bool = False
    fingerprint: str = Field(max_length=64)
    loaded_at: datetime = Field(default_factory=utcnow)


class Link(IdentityModel, table=True):
    """Why an account belongs to a person: method, score, reason, and who decided."""

    __tablename__ = "identity_link"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="identity_account.id", unique=True)
    person_id: int = Field(foreign_key="identity_person.id", index=True)
    method: str = Field(max_length=20)
    score: float
    status: str = Field(max_length=20, index=True)
    reason: str = Field(max_length=500)
    decided_by: str | None = Field(default=None, max_length=100)
    updated_at: datetime = Field(default_factory=utcnow)


class Conflict(IdentityModel, table=True):
    __tablename__ = "identity_conflict"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30, index=True)
    key: str = Field(max_length=400)
    platforms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    accounts: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    person_id: int | None = Field(default=None, foreign_key="identity_person.id")
    suggestion: str = Field(max_length=500)
    suggestion_fr: str = Field(max_length=500)
    detected_at: datetime = Field(default_factory=utcnow)


class ImportJob(IdentityModel, table=True):
    __tablename__ = "identity_import"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=20)
    platform: str | None = Field(default=None, max_length=32)
    state: str = Field(default="queued", max_length=20, index=True)
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    pages: int = 0
    attempts: int = 0
    error: str | None = Field(default=None, max_length=500)
    error_fr: str | None = Field(default=None, max_length=500)
    requested_by: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    # which run of which process holds the job, until when (services/identity/leases.py)
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = None


class ImportFile(IdentityModel, table=True):
    """The file a file import reads, kept until the import ends so that a run interrupted by
    a restart can read it again."""

    __tablename__ = "identity_import_file"

    import_id: int = Field(foreign_key="identity_import.id", primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Plan(IdentityModel, table=True):
    __tablename__ = "identity_plan"

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32, index=True)
    state: str = Field(default="computed", max_length=20)
    changes: int = 0
    blocked: int = 0
    applied_steps: int = 0
    attempts: int = 0
    error: str | None = Field(default=None, max_length=500)
    error_fr: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    approved_by: str | None = Field(default=None, max_length=100)
    approved_at: datetime | None = None
    finished_at: datetime | None = None
    requested_by: str | None = Field(default=None, max_length=100)  # of the running phase
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = None


class PlanStep(IdentityModel, table=True):
    """One row of ``core_user_update_users`` in one round; ``values`` maps a field to its
    [previous, new] pair. Rounds run in order so that no value is taken when it is set."""

    __tablename__ = "identity_plan_step"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="identity_plan.id", index=True)
    phase: str = Field(default="apply", max_length=10)  # apply | revert
    round: int
    account_id: int = Field(foreign_key="identity_account.id")
    moodle_id: int
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    temporary: bool = False
    status: str = Field(default="pending", max_length=20)
    message: str | None = Field(default=None, max_length=500)


class AuditEntry(IdentityModel, table=True):
    """Every value a plan changed or restored on a platform, with the value it replaced."""

    __tablename__ = "identity_audit"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="identity_plan.id", index=True)
    action: str = Field(max_length=20)  # apply | revert
    platform: str = Field(max_length=32)
    moodle_id: int
    field: str = Field(max_length=20)
    previous_value: str = Field(max_length=255)
    new_value: str = Field(max_length=255)
    outcome: str = Field(max_length=20)
    actor: str = Field(max_length=100)
    at: datetime = Field(default_factory=utcnow)


# every move of an import or a plan along its lifecycle (services/identity/lifecycle.py)
import_history = history_table(metadata, "identity_import_history")
plan_history = history_table(metadata, "identity_plan_history")

messaging = messaging_tables(metadata)
# built by `fusion migrate identity`: below its head the service waits, its commands refuse
schema = Schema("identity", Path(__file__).parent / "alembic")
