"""A migration request: checked (platform, rights, Apogée codes), stored, its backup queued."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import Insert, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.apogee import ApogeeClient
from fusion.auth import Principal
from fusion.contracts import RunBackup
from fusion.db import conflict_insert, dialect_of
from fusion.errors import BadRequest, Forbidden
from fusion.moodle.client import MoodleClient
from services.migration_orchestrator.clients.identity import IdentityClient
from services.migration_orchestrator.migrations.authorisation import Decision, decide
from services.migration_orchestrator.migrations.lifecycle import (
    history_row,
    message_row,
    transition,
)
from services.migration_orchestrator.migrations.models import (
    Migration,
    MigrationTeacher,
    MigrationTransition,
    utcnow,
)
from services.migration_orchestrator.migrations.schemas import MigrationCreate
from services.migration_orchestrator.migrations.states import State

_MIGRATION: Table = Migration.__table__  # type: ignore[attr-defined]
_TEACHERS = insert(MigrationTeacher.__table__)  # type: ignore[attr-defined]
_HISTORY = insert(MigrationTransition.__table__)  # type: ignore[attr-defined]


@functools.cache
def _insert_new(dialect: str) -> Insert:
    """A new migration, unless its course has an active one: ``ON CONFLICT DO NOTHING`` on
    ``active_key``."""
    return (
        conflict_insert(_MIGRATION, dialect)
        .on_conflict_do_nothing(index_elements=[_MIGRATION.c.active_key])
        .returning(_MIGRATION.c.id)
    )


TEACHER_PRIORITY = 0
BATCH_PRIORITY = 10


class UnknownPlatform(BadRequest):
    code = "unknown_platform"


class CodesRequired(BadRequest):
    code = "apogee_code_required"


class CodesInvalid(BadRequest):
    code = "apogee_code_invalid"


class WaiverRefused(Forbidden):
    code = "code_waiver_refused"


@dataclass(frozen=True)
class Requested:
    migration: Migration
    created: bool


def active_key(platform: str, course_id: int) -> str:
    return f"{platform}:{course_id}"


async def find_active(session: AsyncSession, platform: str, course_id: int) -> Migration | None:
    query = select(Migration).where(col(Migration.active_key) == active_key(platform, course_id))
    return (await session.execute(query)).scalar_one_or_none()


async def check_codes(body: MigrationCreate, principal: Principal, apogee: ApogeeClient) -> None:
    if body.waive_codes:
        if principal.role != "admin":
            raise WaiverRefused(
                "Only an administrator may migrate a course without an Apogée code.",
                message_fr="Seul un administrateur peut migrer un cours sans code Apogée.",
            )
        return
    if not body.apogee_codes:
        raise CodesRequired(
            "A migration needs at least one valid Apogée code.",
            message_fr="Une migration demande au moins un code Apogée valide.",
        )
    checks = await apogee.validate(body.apogee_codes)
    refused = [check for check in checks if check.status != "valid"]
    if refused:
        raise CodesInvalid(
            "Some Apogée codes are not valid: " + ", ".join(c.code for c in refused),
            message_fr="Codes Apogée non valides : " + ", ".join(c.code for c in refused),
            details=[check.model_dump() for check in refused],
        )


def check_platform(name: str, *, sources: set[str]) -> None:
    if name not in sources:
        raise UnknownPlatform(
            f"'{name}' is not a historical platform Fusion migrates from.",
            message_fr=f"« {name} » n'est pas une plateforme historique connue de Fusion.",
        )


async def request_migration(
    session: AsyncSession,
    body: MigrationCreate,
    *,
    principal: Principal,
    source: MoodleClient,
    apogee: ApogeeClient,
    sources: set[str],
    priority: int = TEACHER_PRIORITY,
    batch_id: str | None = None,
    identity: IdentityClient | None = None,
) -> Requested:
    """A course already migrating or migrated answers its existing migration."""
    check_platform(body.source_platform, sources=sources)
    existing = await find_active(session, body.source_platform, body.source_course_id)
    if existing is not None:
        return Requested(existing, created=False)
    decision = await decide(
        principal,
        platform=body.source_platform,
        course_id=body.source_course_id,
        moodle=source,
        identity=identity,
    )
    await check_codes(body, principal, apogee)
    # The source course's names, kept so that pages name the course without asking its platform.
    found = await source.get_courses_by_field("id", body.source_course_id)
    names = found[0] if found else {}
    migration = await _store(session, body, decision, priority, batch_id, names)
    if migration is None:  # a concurrent request for the same course won
        raced = await find_active(session, body.source_platform, body.source_course_id)
        assert raced is not None
        return Requested(raced, created=False)
    await queue_backup(session, migration, cause=f"requested by {decision.requested_by}")
    return Requested(migration, created=True)


async def _store(
    session: AsyncSession,
    body: MigrationCreate,
    decision: Decision,
    priority: int,
    batch_id: str | None,
    names: dict[str, object],
) -> Migration | None:
    """The migration inserted, with its teachers and first history row; None if a migration
    of the course is active already (``active_key`` is unique)."""
    enrol = list(dict.fromkeys([*body.teachers, *_requester(decision)]))
    migration = Migration(
        source_platform=body.source_platform,
        source_course_id=body.source_course_id,
        source_shortname=_name(names.get("shortname"), 100),
        source_fullname=_name(names.get("fullname"), 254),
        active_key=active_key(body.source_platform, body.source_course_id),
        target_category_id=body.target_category_id,
        fullname=body.fullname,
        shortname=body.shortname,
        visible=body.visible,
        apogee_codes=list(dict.fromkeys(body.apogee_codes)),
        codes_waived=body.waive_codes,
        with_users=body.with_users,
        requested_by=decision.requested_by,
        authorised_as=decision.authorised_as,
        evidence=decision.evidence,
        enrol_teachers=enrol,
        priority=priority,
        batch_id=batch_id,
        state=State.REQUESTED.value,
    )
    # Its unset columns left out (NULL, not JSON's null); a concurrent request for the same
    # course inserts nothing here, instead of failing the transaction (no SAVEPOINT needed).
    row = {k: v for k, v in migration.model_dump(exclude={"id"}).items() if v is not None}
    insert_new = _insert_new(dialect_of(session))
    new_id = (await session.execute(insert_new, row)).scalar_one_or_none()
    if new_id is None:
        return None
    migration.id = new_id
    # Core inserts of prepared statements: no ORM flush, no model validated per row.
    if decision.course_teachers:
        teachers = [
            {"migration_id": migration.id, "username": username}
            for username in decision.course_teachers
        ]
        await session.execute(_TEACHERS, teachers)
    first = history_row(migration.id, None, State.REQUESTED, cause="request", at=utcnow())
    await session.execute(_HISTORY, first)
    return migration


def _name(value: object, limit: int) -> str | None:
    return str(value)[:limit] if value else None


def _requester(decision: Decision) -> list[str]:
    return [decision.requested_by] if decision.authorised_as in ("teacher", "manager") else []


async def queue_backup(session: AsyncSession, migration: Migration, *, cause: str) -> None:
    """Into the platform's queue: the state, and a token on ``backup.run.<platform>``."""
    assert migration.id is not None
    token = RunBackup(migration_id=migration.id, platform=migration.source_platform)
    await transition(
        session, migration, State.BACKUP_QUEUED, cause=cause, rows=[message_row(token)]
    )
