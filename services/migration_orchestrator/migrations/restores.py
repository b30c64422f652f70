"""The orchestrator's side of the restore step: what the target's worker starts and reports
(the database part; what happens on the target around it is ``restore_area``).

Each start is an *attempt*, named by the time it started: a report carrying an older attempt
(a worker presumed dead whose CLI finished after all) is refused, so it cannot undo the
attempt that runs now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fusion.errors import Conflict
from services.migration_orchestrator.migrations.backups import MigrationNotFound
from services.migration_orchestrator.migrations.lifecycle import transition
from services.migration_orchestrator.migrations.logs import add_log
from services.migration_orchestrator.migrations.models import Migration, utcnow
from services.migration_orchestrator.migrations.states import State, Step


class NotRestoring(Conflict):
    code = "migration_not_restoring"


@dataclass(frozen=True)
class RestoreTicket:
    migration_id: int
    category_id: int
    backup_sha256: str
    backup_bytes: int
    retried: bool  # an earlier attempt started and never reported
    attempt: str  # what the worker's reports carry back


def attempt_of(migration: Migration) -> str | None:
    started = migration.restore_started_at
    return None if started is None else started.isoformat()


async def restoring(
    session: AsyncSession, migration_id: int, *, attempt: str | None = None, lock: bool = True
) -> Migration:
    """The migration, if it waits for a restore (and, given ``attempt``, for that attempt's)."""
    migration = await session.get(Migration, migration_id, with_for_update=lock)
    if migration is None:
        raise MigrationNotFound(
            f"No migration {migration_id}.", message_fr=f"Pas de migration {migration_id}."
        )
    if migration.state != State.RESTORING.value or migration.backup_sha256 is None:
        raise NotRestoring(
            f"Migration {migration_id} is not waiting for a restore (state {migration.state}).",
            message_fr=f"La migration {migration_id} n'attend pas de restauration "
            f"(état {migration.state}).",
        )
    if attempt is not None and attempt != attempt_of(migration):
        raise NotRestoring(
            f"Migration {migration_id} has a newer restore attempt than this one.",
            message_fr=f"La migration {migration_id} a une tentative de restauration plus récente.",
        )
    return migration


async def start_restore(session: AsyncSession, migration_id: int, *, worker: str) -> RestoreTicket:
    migration = await restoring(session, migration_id)
    retried = migration.restore_started_at is not None
    migration.restore_started_at, migration.worker = utcnow(), worker[:100]
    session.add(migration)
    again = " (again: the previous attempt never reported)" if retried else ""
    add_log(session, migration_id, Step.RESTORE, f"restore started by {worker}{again}")
    assert migration.backup_sha256 is not None
    assert migration.backup_bytes is not None
    attempt = attempt_of(migration)
    assert attempt is not None
    return RestoreTicket(
        migration_id,
        migration.target_category_id,
        migration.backup_sha256,
        migration.backup_bytes,
        retried,
        attempt,
    )


async def restore_done(
    session: AsyncSession, migration_id: int, *, course_id: int, attempt: str | None = None
) -> Migration:
    migration = await restoring(session, migration_id, attempt=attempt)
    migration.target_course_id = course_id
    session.add(migration)
    add_log(session, migration_id, Step.RESTORE, f"restored as course {course_id} on the target")
    await transition(session, migration, State.POST_RESTORE, cause=f"worker {migration.worker}")
    return migration


async def restore_failed(
    session: AsyncSession,
    migration_id: int,
    *,
    message: str,
    message_fr: str,
    details: dict[str, Any] | None,
    attempt: str | None = None,
) -> Migration:
    migration = await restoring(session, migration_id, attempt=attempt)
    add_log(session, migration_id, Step.RESTORE, message, level="error", details=details)
    await transition(
        session,
        migration,
        State.FAILED,
        cause=f"worker {migration.worker}",
        reason=message,
        reason_fr=message_fr,
    )
    return migration
